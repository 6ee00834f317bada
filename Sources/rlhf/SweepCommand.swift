import ArgumentParser
import Foundation
import Reports

/// `rlhf sweep FILE.swift --set beta=0.05,0.1 --seeds 1,2,3`: a recipe over a grid of settings
/// and seeds, each run a child `rlhf run` in its own folder, then `sweep.md` from the run files.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a recipe over a grid of --set values and seeds; tabulate mean ± std per grid point.",
        discussion: """
            Every grid point × seed runs as its own `rlhf run` in OUT/<name>=<value>,...,seed=<seed>/. \
            OUT/sweep.md and OUT/sweep.csv give each final metric and evaluation as mean ± std over seeds, \
            with one chart per series (mean and min–max band). Rerunning the same command skips finished \
            runs; a failing run is recorded (OUT/<run>/error.txt) and the others go on. Results do not \
            depend on --jobs: with more than one job each run uses one thread.

              rlhf sweep recipes/dpo.swift --set beta=0.05,0.1 --set learningRate=1e-3,3e-3 --seeds 1,2,3 --jobs 2
            """)

    @Argument(help: "The recipe file.")
    var file: String

    @Option(name: .customLong("set"), help: ArgumentHelp("A top-level `let` and its values: name=v1,v2 (repeatable).", valueName: "name=values"))
    var settings: [String] = []

    @Option(help: ArgumentHelp("The seeds, comma-separated: each grid point runs once per seed.", valueName: "seeds"))
    var seeds: String

    @Option(help: "The output folder (default: results/sweep-<file name>).")
    var out: String?

    @Option(help: "Runs at once (each with one thread when more than one).")
    var jobs: Int = 1

    func run() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be ≥ 1, got \(jobs)") }
        let seedList = try seeds.split(separator: ",").map { text -> Int in
            guard let seed = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--seeds \(seeds): \"\(text)\" is not an integer; give e.g. --seeds 1,2,3")
            }
            return seed
        }
        guard FileManager.default.fileExists(atPath: file) else { fail("\(file): no such recipe file.") }
        let plan: SweepPlan
        do { plan = try SweepPlan(settings: settings, seeds: seedList) } catch let error as SweepError { fail("\(error)") }
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let outPath = out ?? "results/sweep-\(stem)"
        let directory = URL(fileURLWithPath: outPath)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        let points = plan.points
        let todo = points.filter { SweepPlan.state(of: $0, in: directory) != .finished }
        if todo.count < points.count { print("\(points.count - todo.count) of \(points.count) runs finished before; running \(todo.count)") }
        let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        let slots = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        let progress = Progress(total: todo.count)
        for point in todo {
            slots.wait()
            group.enter()
            DispatchQueue.global().async {
                defer {
                    slots.signal()
                    group.leave()
                }
                let failure = Self.runPoint(point, recipe: file, in: directory, outPath: outPath, executable: executable, jobs: jobs)
                progress.report("\(point.folder): \(failure.map { "failed: \($0)" } ?? "finished")")
            }
        }
        group.wait()

        let command = (["rlhf sweep", file] + settings.flatMap { ["--set", $0] } + ["--seeds", seeds] + (out.map { ["--out", $0] } ?? [])).joined(
            separator: " ")
        do {
            let files = try plan.report(title: file, command: command, directory: directory)
            for f in files { try Data(f.contents.utf8).write(to: directory.appendingPathComponent(f.name), options: .atomic) }
        } catch {
            fail("writing the sweep report failed: \(error)")
        }
        let failed = points.filter { if case .failed = SweepPlan.state(of: $0, in: directory) { return true } else { return false } }
        print("wrote \(directory.appendingPathComponent("sweep.md").relativePath) and sweep.csv")
        if !failed.isEmpty {
            fail("\(failed.count) of \(points.count) runs failed: \(failed.map(\.folder).joined(separator: "; ")) (see sweep.md).")
        }
    }

    /// Runs one point in a fresh folder as a child `rlhf run`; returns its error when it failed.
    static func runPoint(_ point: SweepPlan.Point, recipe: String, in directory: URL, outPath: String, executable: URL, jobs: Int) -> String? {
        let folder = directory.appendingPathComponent(point.folder)
        try? FileManager.default.removeItem(at: folder)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let log = folder.appendingPathComponent("log.txt")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)  // FileHandle below reports a failure
            let handle = try FileHandle(forWritingTo: log)
            defer { try? handle.close() }
            let process = Process()
            process.executableURL = executable
            process.arguments =
                ["run", recipe, "--out", "\(outPath)/\(point.folder)"] + point.runArguments + (jobs > 1 ? ["--threads", "1"] : [])
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus != 0 else { return nil }
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init).filter {
                !$0.trimmingCharacters(in: .whitespaces).isEmpty
            }
            let start = lines.lastIndex(where: { $0.hasPrefix("error") || $0.contains(": error:") }) ?? max(0, lines.count - 1)
            let message = lines[start...].prefix(5).joined(separator: " ")
            let error = message.isEmpty ? "rlhf run exited with status \(process.terminationStatus)" : message
            try Data((error + "\n").utf8).write(to: folder.appendingPathComponent(SweepPlan.errorFileName), options: .atomic)
            return error
        } catch {
            let message = "\(error)"
            try? Data((message + "\n").utf8).write(to: folder.appendingPathComponent(SweepPlan.errorFileName), options: .atomic)
            return message
        }
    }
}

/// Prints `[done/total] line` as points finish, one line at a time from any thread.
private final class Progress: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private var done = 0

    init(total: Int) { self.total = total }

    func report(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        print("[\(done)/\(total)] \(line)")
        fflush(stdout)
    }
}
