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
        let result = try RLHFCommand.run(["run", dir.appendingPathComponent("tiny.swift").path, "--out", out.path] + extra,
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
}
