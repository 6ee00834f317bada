import FixtureSupport
import Foundation
import Testing

/// `rlhf compare` finds where two runs part, or says they are identical.
@Suite struct CompareCommandTests {
    static let recipe = """
        import Recipes

        seed(5)
        let learningRate = 3e-3
        let task = SyntheticTask.sortDigits(count: 400, evalCount: 8)
        let policy = Model.llama(hidden: 16, layers: 1, heads: 2)
        sft(policy, data: task.demonstrations, learningRate: learningRate, maxSteps: 3)
        print(evaluate(policy, on: task.eval, maxNewTokens: 6))
        """

    func run(_ dir: URL, _ name: String, _ extra: [String] = [], recipe: String = "tiny.swift") throws -> String {
        let result = try RLHFCommand.run(["run", recipe, "--out", name] + extra, directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        return "\(name)/run.h5"
    }

    @Test func identicalRunsAndTheFirstDivergence() throws {
        let dir = try RLHFCommand.temporaryDirectory("compare")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.recipe.write(to: dir.appendingPathComponent("tiny.swift"), atomically: true, encoding: .utf8)
        let a = try run(dir, "a"), b = try run(dir, "b")
        let same = try RLHFCommand.run(["compare", a, b, "--out", "same"], directory: dir)
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.hasPrefix("identical\n"), "\(same.stdout)")
        let report = try String(contentsOf: dir.appendingPathComponent("same/compare.md"), encoding: .utf8)
        #expect(report.contains("**Identical**"))
        #expect(report.contains("![sft/loss per step](sft-loss.svg)"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("same/sft-loss.svg").path))
        // Regenerating gives the same bytes.
        #expect(try RLHFCommand.run(["compare", a, b, "--out", "again"], directory: dir).status == 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("same").path) {
            #expect(
                try Data(contentsOf: dir.appendingPathComponent("same/\(name)")) == Data(contentsOf: dir.appendingPathComponent("again/\(name)")),
                "\(name) differs")
        }

        // Another learning rate: the first step warms up from 0, so the second records another lr
        // before any weight differs.
        let lr = try run(dir, "lr", ["--set", "learningRate=1e-3"])
        let byRate = try RLHFCommand.run(["compare", a, lr, "--out", "by-rate"], directory: dir)
        #expect(byRate.status == 0, "\(byRate.stderr)")
        let expected = "first divergence: stage sft, step 2, /sft/metrics/lr: 0.003000000026077032 vs 0.0010000000474974513\n"
        #expect(byRate.stdout.hasPrefix(expected), "\(byRate.stdout)")
        let rateReport = try String(contentsOf: dir.appendingPathComponent("by-rate/compare.md"), encoding: .utf8)
        #expect(rateReport.contains("The runs first differ at stage `sft`, step 2, dataset `/sft/metrics/lr`"))
        #expect(rateReport.contains("| `learningRate` | – | 0.001 |"), "\(rateReport)")
        #expect(!rateReport.contains("| `seed` |"), "only differing keys are listed")

        // Another seed: the initial weights differ, so does the evaluation before the first step.
        let seeded = try run(dir, "seeded", ["--seed", "6"])
        let bySeed = try RLHFCommand.run(["compare", a, seeded, "--out", "by-seed"], directory: dir)
        #expect(bySeed.status == 0, "\(bySeed.stderr)")
        #expect(bySeed.stdout.hasPrefix("first divergence: stage sft, step 0, /sft/eval/"), "\(bySeed.stdout)")
        let seedReport = try String(contentsOf: dir.appendingPathComponent("by-seed/compare.md"), encoding: .utf8)
        #expect(seedReport.contains("| `seed` | 5 | 6 |"), "\(seedReport)")
    }

    @Test func badInputIsAClearError() throws {
        let dir = try RLHFCommand.temporaryDirectory("compare-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.recipe.write(to: dir.appendingPathComponent("tiny.swift"), atomically: true, encoding: .utf8)
        try "seed(1)\n".write(to: dir.appendingPathComponent("empty.swift"), atomically: true, encoding: .utf8)
        try Data("plain text\n".utf8).write(to: dir.appendingPathComponent("notes.h5"))
        let a = try run(dir, "a"), empty = try run(dir, "empty", recipe: "empty.swift")

        let foreign = try RLHFCommand.run(["compare", a, "notes.h5"], directory: dir)
        #expect(foreign.status == 1)
        #expect(foreign.stderr.hasPrefix("error: notes.h5: not an HDF5 file"), "\(foreign.stderr)")

        let disjoint = try RLHFCommand.run(["compare", a, empty], directory: dir)
        #expect(disjoint.status == 1)
        #expect(disjoint.stderr.hasPrefix("error: the runs share no metric"), "\(disjoint.stderr)")
        #expect(disjoint.stderr.contains("B (empty/run.h5) has none"), "\(disjoint.stderr)")

        let one = try RLHFCommand.run(["compare", a], directory: dir)
        #expect(one.status == 1)
        #expect(one.stderr.contains("at least two run files"), "\(one.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("results/compare").path))
    }
}
