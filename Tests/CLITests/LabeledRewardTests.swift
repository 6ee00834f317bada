import FixtureSupport
import Foundation
import Testing

/// `labeledReward:` hands each prompt's `label` from the prompt file to the reward, in the
/// interpreter and in compiled Swift alike (the recipe type-checks with `everyRecipeTypeChecksAsSwift`
/// through recipes/smollm2_grpo.swift).
@Suite struct LabeledRewardTests {
    @Test func rewardsReadThePromptsLabel() throws {
        let dir = try RLHFCommand.temporaryDirectory("labeled-reward")
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = (0..<16).map { #"{"input": "\#($0) \#($0 + 1)=", "label": "\#($0 % 3)", "datasource": "toy"}"# }
        try (lines.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("prompts.jsonl"), atomically: true, encoding: .utf8)
        let recipe = """
            import Recipes

            seed(1)
            let prompts = TrainingData.load("prompts.jsonl", kind: .prompts, evalPath: "prompts.jsonl")
            let policy = Model.llama(hidden: 32, layers: 1, heads: 2)
            func labelIsOne(_ prompt: String, _ response: String, _ label: String) -> Double { label == "1" ? 1 : 0 }
            print(evaluate(policy, on: prompts, labeledReward: labelIsOne, maxNewTokens: 2))
            print(evaluate(policy, on: prompts, labeledReward: { $2 == "1" ? 1.0 : 0.0 }, maxNewTokens: 2))
            evaluate(policy, on: prompts, reward: { prompt, response in 1.0 }, labeledReward: labelIsOne)
            """
        try recipe.write(to: dir.appendingPathComponent("labels.swift"), atomically: true, encoding: .utf8)
        let result = try RLHFCommand.run(["run", "labels.swift", "--out", "out"], directory: dir)
        // Five of the sixteen labels are "1", whatever the policy answers.
        #expect(result.stdout.components(separatedBy: "toy_pass1 0.3125").count == 3, "\(result.stdout)")
        #expect(result.status != 0)
        #expect(result.stderr.contains("give reward: or labeledReward:, not both (labels.swift, line 9"), "\(result.stderr)")
    }
}
