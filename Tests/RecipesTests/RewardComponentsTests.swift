import FixtureSupport
import Foundation
import Recording
import Testing
@testable import Recipes

/// A reward in named parts: the reward is their weighted sum, each part is a metric per rollout and
/// per datasource, and the report's reward chart draws them.
@Suite struct RewardComponentsTests {
    static let recipe = """
        seed(5)
        let task = SyntheticTask.sortDigits(count: 64, evalCount: 8)
        let policy = Model.llama(hidden: 16, layers: 1, heads: 2)
        let run = grpo(policy, prompts: task.prompts,
                       rewardComponents: { prompt, response in ["answer": task.score(prompt, response), "format": 1] },
                       rewardWeights: ["format": 0.5], nSamplesPerPrompt: 4, rolloutBatchSize: 4, microTrainBatchSize: 16,
                       trainBatchSize: 16, generateMaxLen: 6, initKLCoef: 0, maxSteps: 3)
        """

    @Test func componentsAreWeightedLoggedAndCharted() throws {
        let out = try RLHFCommand.temporaryDirectory("components")
        defer { try? FileManager.default.removeItem(at: out) }
        let file = out.appendingPathComponent("components.swift")
        try Self.recipe.write(to: file, atomically: true, encoding: .utf8)
        let result = try RLHFCommand.run(["run", file.path, "--out", out.appendingPathComponent("run").path], directory: out)
        #expect(result.status == 0, "\(result.stderr)")
        let runFile = out.appendingPathComponent("run/run.h5")
        let stage = try RunReader(path: runFile.path).stage("grpo")
        let reward = try stage.metric("reward"), answer = try stage.metric("reward_answer"), format = try stage.metric("reward_format")
        #expect(format.allSatisfy { $0 == 1 })
        for (r, a) in zip(reward, answer) { #expect(abs(r - (a + 0.5)) < 1e-12, "reward \(r) is not answer \(a) + 0.5 × format") }
        #expect(try stage.metric("sort_digits_reward_answer") == answer)
        #expect(stage.config["reward"]?.description == "components(format: 0.5)")

        let report = try RLHFCommand.run(["report", runFile.path], directory: out)
        #expect(report.status == 0, "\(report.stderr)")
        let svgs = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.hasSuffix("rewards.svg") }
        let svg = try String(contentsOf: out.appendingPathComponent(try #require(svgs.first)), encoding: .utf8)
        #expect(svg.contains("reward_answer") && svg.contains("sort_digits_reward_format"))
    }

    @Test func mistakesAreNamed() {
        let weightsAlone = failure(
            """
            let task = SyntheticTask.sortDigits(count: 64, evalCount: 8)
            grpo(Model.llama(hidden: 8, layers: 1, heads: 2), prompts: task.prompts, rewardWeights: ["format": 1], nSamplesPerPrompt: 2)
            """)
        #expect(weightsAlone.contains("rewardWeights: weighs rewardComponents:"), "\(weightsAlone)")
        let misspelt = failure(
            """
            let task = SyntheticTask.sortDigits(count: 64, evalCount: 8)
            grpo(Model.llama(hidden: 8, layers: 1, heads: 2), prompts: task.prompts, rewardComponents: { p, r in ["answer": 1] },
                 rewardWeights: ["fromat": 1], nSamplesPerPrompt: 2, rolloutBatchSize: 4, microTrainBatchSize: 8, trainBatchSize: 8,
                 initKLCoef: 0, maxSteps: 1)
            """)
        #expect(misspelt.contains("\"fromat\"") && misspelt.contains("returned answer"), "\(misspelt)")
    }
}
