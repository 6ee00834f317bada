import FixtureSupport
import Foundation
import Testing

/// `rlhf sweep` runs a grid × seeds in child processes, tabulates mean ± std from the run files,
/// skips what finished, records failures and does not depend on --jobs.
@Suite struct SweepCommandTests {
    static let recipe = """
        import Recipes

        seed(1)
        let beta = 0.1
        let learningRate = 3e-3
        let task = SyntheticTask.sortDigits(count: 400, evalCount: 6)
        let policy = Model.llama(hidden: 16, layers: 1, heads: 2)
        sft(policy, data: task.demonstrations, learningRate: learningRate, maxSteps: 2)
        dpo(policy, reference: policy.frozen(), data: task.preferences, beta: beta, learningRate: learningRate, maxSteps: 2)
        print(evaluate(policy, on: task.eval, maxNewTokens: 6))
        """

    static let grid = ["--set", "beta=0.05,0.1", "--set", "learningRate=1e-3,3e-3", "--seeds", "1,2"]

    func folder() throws -> URL {
        let dir = try RLHFCommand.temporaryDirectory("sweep")
        try Self.recipe.write(to: dir.appendingPathComponent("tiny.swift"), atomically: true, encoding: .utf8)
        return dir
    }

    /// Runs python3 (with h5py) on `script` and returns its standard output.
    func python(_ script: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 with h5py is required (scripts/setup): \(String(decoding: errors, as: UTF8.self))")
        return String(decoding: data, as: UTF8.self)
    }

    /// Folders under `dir` whose run file says it is complete, read with h5py.
    func finished(_ dir: URL) throws -> [String] {
        let script = """
            import h5py, os, sys
            for name in sorted(os.listdir(sys.argv[1])):
                path = os.path.join(sys.argv[1], name, "run.h5")
                try:
                    with h5py.File(path, "r") as f:
                        status = f.attrs.get("status")
                        if (status.decode() if isinstance(status, bytes) else status) == "complete": print(name)
                except OSError:
                    pass
            """
        return try python(script, [dir.path]).split(separator: "\n").map(String.init)
    }

    @Test func gridTimesSeedsTabulatesMeansAndDoesNotDependOnJobs() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let two = try RLHFCommand.run(["sweep", "tiny.swift"] + Self.grid + ["--jobs", "2", "--out", "two"], directory: dir)
        #expect(two.status == 0, "\(two.stderr)")
        let folders = try finished(dir.appendingPathComponent("two"))
        #expect(folders.count == 8, "\(folders)")
        #expect(folders.contains("beta=0.05,learningRate=1e-3,seed=2"))
        let markdown = try String(contentsOf: dir.appendingPathComponent("two/sweep.md"), encoding: .utf8)
        #expect(markdown.contains("8 runs (4 grid points × 2 seeds): 8 finished, 0 failed, 0 missing."))
        #expect(markdown.contains("![sft/loss per step, mean and min–max over seeds](sft-loss.svg)"))
        let chart = try String(contentsOf: dir.appendingPathComponent("two/sft-loss.svg"), encoding: .utf8)
        #expect(chart.contains("<polygon"), "the min–max band over seeds")

        // Every mean and std of sweep.csv, recomputed from the run files with h5py.
        let check = """
            import csv, h5py, math, sys
            import numpy as np
            root = sys.argv[1]
            def final(path, key):
                parts = key.split("/")
                dataset = f"/{parts[0]}/eval/{parts[2]}" if len(parts) == 3 else f"/{parts[0]}/metrics/{parts[1]}"
                with h5py.File(path, "r") as f:
                    d = f[dataset]
                    values = d[: int(d.parent.attrs["committed"])]
                finite = [v for v in values if math.isfinite(v)]
                return finite[-1] if finite else None
            checked = 0
            rows = list(csv.DictReader(open(f"{root}/sweep.csv")))
            for row in rows:
                for column in row:
                    if not column.endswith(" mean"): continue
                    key = column[: -len(" mean")]
                    values = [final(f"{root}/beta={row['beta']},learningRate={row['learningRate']},seed={s}/run.h5", key) for s in (1, 2)]
                    values = [v for v in values if v is not None]
                    mean, std = np.mean(values), np.std(values, ddof=1)
                    for name, want in ((column, mean), (key + " std", std)):
                        got = float(row[name])
                        if not (got == want or abs(got - want) <= 1e-12 * max(1.0, abs(want))):
                            print(f"MISMATCH {row['beta']} {row['learningRate']} {name}: csv {got}, h5py {want}")
                    checked += 1
            print(f"rows {len(rows)} checked {checked}")
            """
        let verdict = try python(check, [dir.appendingPathComponent("two").path])
        #expect(!verdict.contains("MISMATCH"), "\(verdict)")
        #expect(verdict.hasPrefix("rows 4 checked "), "\(verdict)")
        #expect(!verdict.hasPrefix("rows 4 checked 0\n"), "\(verdict)")

        // One job at a time (each run with the default thread count) gives the same datasets.
        let one = try RLHFCommand.run(["sweep", "tiny.swift"] + Self.grid + ["--jobs", "1", "--out", "one"], directory: dir)
        #expect(one.status == 0, "\(one.stderr)")
        for name in folders {
            let a = dir.appendingPathComponent("one/\(name)/run.h5"), b = dir.appendingPathComponent("two/\(name)/run.h5")
            #expect(try differingRunFileDatasets(a, b).isEmpty, "\(name) depends on --jobs")
        }
        #expect(
            try Data(contentsOf: dir.appendingPathComponent("one/sweep.csv")) == Data(contentsOf: dir.appendingPathComponent("two/sweep.csv")))

        // The same command again runs nothing.
        let again = try RLHFCommand.run(["sweep", "tiny.swift"] + Self.grid + ["--jobs", "2", "--out", "two"], directory: dir)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.hasPrefix("8 of 8 runs finished before; running 0\n"), "\(again.stdout)")
    }

    @Test func aKilledSweepFinishesOnlyTheMissingRuns() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let arguments = ["sweep", "tiny.swift", "--set", "beta=0.05,0.1", "--seeds", "1,2,3", "--out", "k"]
        let process = Process()
        process.executableURL = RLHFCommand.executable
        process.arguments = arguments
        process.currentDirectoryURL = dir
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let out = dir.appendingPathComponent("k")
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, process.isRunning, (try? finished(out).count) ?? 0 < 2 { Thread.sleep(forTimeInterval: 0.2) }
        // Kill the sweep and the run it started, as a power cut would.
        let children = Process()
        children.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        children.arguments = ["pgrep", "-P", String(process.processIdentifier)]
        let pipe = Pipe()
        children.standardOutput = pipe
        try children.run()
        let pids = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
        children.waitUntilExit()
        kill(process.processIdentifier, SIGKILL)
        for pid in pids { kill(pid, SIGKILL) }
        process.waitUntilExit()
        try #require(!FileManager.default.fileExists(atPath: out.appendingPathComponent("sweep.md").path), "the sweep finished before it was killed")

        let before = try finished(out)
        #expect(before.count >= 2 && before.count < 6, "\(before)")
        var dates: [String: Date] = [:]
        for name in before {
            dates[name] =
                try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("\(name)/run.h5").path)[.modificationDate] as? Date
        }
        let rerun = try RLHFCommand.run(arguments, directory: dir)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.hasPrefix("\(before.count) of 6 runs finished before; running \(6 - before.count)\n"), "\(rerun.stdout)")
        #expect(rerun.stdout.split(separator: "\n").filter { $0.hasPrefix("[") }.count == 6 - before.count)
        #expect(try finished(out).count == 6)
        for name in before {
            let date = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("\(name)/run.h5").path)[.modificationDate] as? Date
            #expect(date == dates[name], "\(name) ran again")
        }
    }

    @Test func aFailingRunIsRecordedAndTheOthersGoOn() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try RLHFCommand.run(["sweep", "tiny.swift", "--set", "beta=0.05,nosuchname", "--seeds", "1", "--out", "f"], directory: dir)
        #expect(result.status == 1)
        #expect(result.stderr.contains("1 of 2 runs failed: beta=nosuchname,seed=1"), "\(result.stderr)")
        #expect(try finished(dir.appendingPathComponent("f")) == ["beta=0.05,seed=1"])
        let markdown = try String(contentsOf: dir.appendingPathComponent("f/sweep.md"), encoding: .utf8)
        #expect(markdown.contains("2 runs (2 grid points × 1 seed): 1 finished, 1 failed, 0 missing."))
        #expect(markdown.contains("| `beta=nosuchname,seed=1` | "), "\(markdown)")
        #expect(markdown.contains("nosuchname"))

        let bad = try RLHFCommand.run(["sweep", "tiny.swift", "--set", "beta", "--seeds", "1"], directory: dir)
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("error: --set beta: expected name=value1,value2"), "\(bad.stderr)")
    }
}
