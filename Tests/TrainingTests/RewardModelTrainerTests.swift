import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Testing
import Training

@Suite("Reward model trainer")
struct RewardModelTrainerTests {
    static func rewardModel() -> ScalarModel {
        ScalarModel(kind: .reward, from: OfflineFixture.warmStart, rng: RNG(seed: 3))
    }

    @Test func heldOutAccuracyRisesAboveChance() throws {
        let model = Self.rewardModel()
        var options = OfflineFixture.shortRun(steps: 60, batch: 32, micro: 16)
        options.learningRate = 1e-3
        let summary = try trainRewardModel(
            model, data: OfflineFixture.preferences, eval: OfflineFixture.evalPreferences,
            options: options, context: RunContext(seed: 2))
        let before = try #require(summary.initialEval?["acc"]), after = try #require(summary.finalEval?["acc"])
        #expect(after >= 0.75 && after >= before + 0.15, "held-out accuracy \(before) → \(after)")
        #expect((summary.finalEval?["margin"] ?? 0) > 0)
        for key in ["loss", "acc", "chosen_reward", "rejected_reward", "margin"] { #expect(summary.metrics[key] != nil, "\(key)") }
        #expect(summary.finalEval?["reward_std"] ?? 0 > 0)
    }

    @Test func packedScoresAndGradientsEqualPadded() throws {
        func oneStep(packing: Bool) throws -> (ScalarModel, TrainingSummary) {
            let model = Self.rewardModel()
            var options = OfflineFixture.shortRun(steps: 1, batch: 8, micro: 4)
            options.packing = packing
            options.maxNorm = 0
            let summary = try trainRewardModel(model, data: OfflineFixture.preferences, options: options, context: RunContext(seed: 3))
            return (model, summary)
        }
        let (padded, a) = try oneStep(packing: false)
        let (packed, b) = try oneStep(packing: true)
        for key in ["loss", "chosen_reward", "rejected_reward"] {
            let x = try #require(a.metrics[key]), y = try #require(b.metrics[key])
            #expect(abs(x - y) <= 1e-5 * max(abs(x), 1e-2), "\(key) \(x) padded, \(y) packed")
        }
        for ((name, p), (_, q)) in zip(padded.parameters(), packed.parameters()) {
            let grad = relativeDifference(try #require(p.grad).data, try #require(q.grad).data)
            #expect(grad <= 1e-4, "\(name) gradient differs by \(grad)")
        }
    }

    @Test func accumulationEqualsOneLargeBatch() throws {
        func oneStep(micro: Int) throws -> ScalarModel {
            let model = Self.rewardModel()
            var options = OfflineFixture.shortRun(steps: 1, batch: 8, micro: micro)
            options.maxNorm = 0
            _ = try trainRewardModel(model, data: OfflineFixture.preferences, options: options, context: RunContext(seed: 4))
            return model
        }
        let (whole, accumulated) = (try oneStep(micro: 8), try oneStep(micro: 2))
        for ((name, a), (_, b)) in zip(whole.parameters(), accumulated.parameters()) {
            let grad = relativeDifference(try #require(a.grad).data, try #require(b.grad).data)
            #expect(grad <= 1e-5, "\(name) gradient differs by \(grad)")
        }
    }

    @Test func savedModelCarriesRewardStatisticsAndLoads() throws {
        let folder = try offlineTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = Self.rewardModel()
        let stats = try evaluateRewardModel(model, on: Array(OfflineFixture.evalPreferences.prefix(16)))
        try saveRewardModel(model, to: folder, rewardMean: stats["reward_mean"], rewardStd: stats["reward_std"])
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any]
        #expect(abs((config?["mean"] as? Double ?? .nan) - stats["reward_mean"]!) <= 1e-12)
        #expect(abs((config?["std"] as? Double ?? .nan) - stats["reward_std"]!) <= 1e-12)
        #expect((config?["architectures"] as? [String]) == ["LlamaForSequenceClassification"])
        let loaded = try ScalarModel.load(folder)
        for ((name, a), (_, b)) in zip(model.parameters(), loaded.parameters()) { #expect(a.data == b.data, "\(name)") }
    }

    @Test func logExpLossAndMarginOptions() throws {
        var options = OfflineFixture.shortRun(steps: 2, batch: 8)
        options.maxNorm = 0
        let logexp = try trainRewardModel(
            Self.rewardModel(), data: OfflineFixture.preferences, options: options,
            rm: RewardModelOptions(loss: .logexp), context: RunContext(seed: 5))
        let sigmoid = try trainRewardModel(
            Self.rewardModel(), data: OfflineFixture.preferences, options: options,
            context: RunContext(seed: 5))
        // Without margins the two losses are the same function.
        let x = try #require(logexp.metrics["loss"]), y = try #require(sigmoid.metrics["loss"])
        #expect(abs(x - y) <= 1e-6 * abs(x))
        #expect(throws: TrainingError.self) {
            _ = try trainRewardModel(
                Self.rewardModel(), data: OfflineFixture.preferences, options: options,
                rm: RewardModelOptions(loss: .logexp, marginLoss: true), context: RunContext(seed: 5))
        }
    }
}
