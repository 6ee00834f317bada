import FixtureSupport
import Foundation
import Testing

/// The best-of-n loops as a recipe writes them: the JSONL files they save load back through the
/// OpenRLHF loaders and train.
@Suite struct BatchInferenceRecipeTests {
    static let recipe = """
        import Recipes

        seed(5)
        let task = SyntheticTask.sortDigits(count: 40, evalCount: 8, digits: 3...4)
        let policy = Model.llama(hidden: 32, layers: 1, heads: 2)
        sft(policy, data: task.demonstrations, learningRate: 3e-3, microTrainBatchSize: 8, trainBatchSize: 8, maxSteps: 3)
        let samples = bestOfN(policy, prompts: task.prompts, n: 3, maxNewTokens: 6)
        print(samples)
        samples.rejectionSampling().save("rs.jsonl")
        samples.dpoPairs().save("pairs/dpo.jsonl")
        samples.conditionalSFT().save("csft.jsonl")
        let best = TrainingData.load("out/rs.jsonl", kind: .sft)
        let pairs = TrainingData.load("out/pairs/dpo.jsonl", kind: .preference)
        print("loaded", best.count, pairs.count, TrainingData.load("out/csft.jsonl", kind: .sft).count)
        sft(policy, data: best, microTrainBatchSize: 4, trainBatchSize: 4, maxSteps: 1)
        dpo(policy, reference: policy.frozen(), data: pairs, microTrainBatchSize: 2, trainBatchSize: 2, maxSteps: 1)
        """

    @Test func savedRecordsLoadBackAndTrain() throws {
        let dir = try RLHFCommand.temporaryDirectory("batch-inference")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.recipe.write(to: dir.appendingPathComponent("loop.swift"), atomically: true, encoding: .utf8)
        let result = try RLHFCommand.run(["run", "loop.swift", "--out", "out"], directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("BestOfN: 40 prompts × 3 samples"), "\(result.stdout)")

        let out = dir.appendingPathComponent("out")
        let lines = { (name: String) throws -> [[String: Any]] in
            try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            }
        }
        let best = try lines("rs.jsonl"), pairs = try lines("pairs/dpo.jsonl"), csft = try lines("csft.jsonl")
        #expect(!best.isEmpty && best.count <= 40 && !pairs.isEmpty && pairs.count <= best.count)
        #expect(csft.count > best.count, "conditional SFT keeps every non-empty response")
        #expect(Set(best[0].keys) == ["input", "output", "reward"])
        #expect(Set(pairs[0].keys) == ["prompt", "chosen", "chosen_reward", "rejected", "rejected_reward"])
        for pair in pairs { #expect((pair["chosen_reward"] as! Double) > (pair["rejected_reward"] as! Double)) }
        #expect(result.stdout.contains("loaded \(best.count) \(pairs.count) \(csft.count)"), "\(result.stdout)")
    }
}
