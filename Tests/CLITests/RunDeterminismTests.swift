import FixtureSupport
import Foundation
import Testing

/// `rlhf run` reproduces a run bit for bit from its seed, and `--set` changes what it overrides.
@Suite struct RunDeterminismTests {
    static let recipe = """
        import Recipes

        seed(3)
        let learningRate = 3e-3
        let task = SyntheticTask.sortDigits(count: 300, evalCount: 20)
        let policy = Model.llama(hidden: 32, layers: 1, heads: 2)
        sft(policy, data: task.demonstrations, learningRate: learningRate, packing: true, maxSteps: 4)
        dpo(policy, reference: policy.frozen(), data: task.preferences, maxSteps: 2)
        print(evaluate(policy, on: task.eval, maxNewTokens: 8))
        """

    func run(_ dir: URL, _ name: String, _ extra: [String] = []) throws -> URL {
        let out = dir.appendingPathComponent(name)
        let result = try RLHFCommand.run(
            ["run", dir.appendingPathComponent("tiny.swift").path, "--out", out.path] + extra,
            directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        return out.appendingPathComponent("run.h5")
    }

    @Test func sameSeedGivesIdenticalRunFilesAndSetChangesThem() throws {
        let dir = try RLHFCommand.temporaryDirectory("determinism")
        defer { try? FileManager.default.removeItem(at: dir) }
        try RunDeterminismTests.recipe.write(to: dir.appendingPathComponent("tiny.swift"), atomically: true, encoding: .utf8)
        let first = try run(dir, "a"), second = try run(dir, "b", ["--threads", "1"])
        #expect(try differingRunFileDatasets(first, second).isEmpty)

        let changed = try run(dir, "c", ["--set", "learningRate=1e-3"])
        let differing = try differingRunFileDatasets(first, changed)
        #expect(differing.contains("sft/metrics/lr"), "a different learning rate must show in the run file: \(differing.prefix(5))")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("a/report.md").path))
    }

    /// Runs `tool` (an HDF5 command-line tool) and returns its exit status and output.
    func hdf5Tool(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// docs/run-file.md: h5diff of two same-seed run files, excluding only the `/<stage>/timing`
    /// groups and the root `created` attribute, reports no difference.
    @Test func sameSeedRunFilesPassH5diff() throws {
        let dir = try RLHFCommand.temporaryDirectory("h5diff")
        defer { try? FileManager.default.removeItem(at: dir) }
        try RunDeterminismTests.recipe.write(to: dir.appendingPathComponent("tiny.swift"), atomically: true, encoding: .utf8)
        // The same output folder name in both: the run's name comes from it.
        let first = try run(dir, "first/tiny"), second = try run(dir, "second/tiny")
        let listing = try hdf5Tool("h5ls", ["-r", first.path]).output
        let stages = ["sft", "dpo"]
        for stage in stages { #expect(listing.contains("/\(stage)/timing/time_step_s"), "no timing group in /\(stage):\n\(listing)") }
        #expect(!listing.contains("/metrics/time_"), "wall-clock values among the metrics:\n\(listing)")

        // h5diff 1.10's --exclude-attribute takes an object and leaves out all of its attributes:
        // the root's are compared one by one below, `created` aside.
        let excluded = stages.flatMap { ["--exclude-path", "/\($0)/timing"] } + ["--exclude-attribute", "/"]
        let diff = try hdf5Tool("h5diff", excluded + [first.path, second.path])
        #expect(diff.status == 0, "h5diff found differences:\n\(diff.output)")
        for attribute in ["format", "name", "recipe", "seed", "threads", "version", "status"] {
            let a = try hdf5Tool("h5dump", ["-a", "/\(attribute)", first.path]), b = try hdf5Tool("h5dump", ["-a", "/\(attribute)", second.path])
            // The first line names the file.
            #expect(
                a.status == 0 && a.output.split(separator: "\n").dropFirst() == b.output.split(separator: "\n").dropFirst(),
                "root attribute \(attribute) differs:\n\(a.output)\n\(b.output)")
        }
        // Without the timing exclusions the wall-clock values differ, so the comparison above can fail.
        #expect(try hdf5Tool("h5diff", ["--exclude-attribute", "/", first.path, second.path]).status == 1)
    }
}
