import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Testing
import Training

@Suite("KTO, KD and PRM trainers")
struct KTOKDPRMTrainerTests {
    @Test func ktoSeparatesDesirableFromUndesirable() throws {
        let policy = OfflineFixture.warmStart.copy()
        var options = OfflineFixture.shortRun(steps: 40, batch: 32, micro: 16)
        options.learningRate = 5e-4
        let summary = try trainKTO(
            policy, data: OfflineFixture.unpaired, eval: OfflineFixture.evalUnpaired, options: options,
            kto: KTOOptions(beta: 0.1), context: RunContext(seed: 10))
        let before = try #require(summary.initialEval), after = try #require(summary.finalEval)
        #expect((after["margin"] ?? 0) > 0.5, "held-out reward margin \(after["margin"] ?? 0)")
        #expect((after["loss"] ?? 1) < (before["loss"] ?? 0) - 0.05, "eval loss \(before["loss"] ?? 0) → \(after["loss"] ?? 0)")
        for key in ["loss", "kl", "chosen_reward", "rejected_reward"] { #expect(summary.metrics[key] != nil, "\(key)") }
    }

    @Test func ktoAccumulationEqualsOneLargeBatch() throws {
        func oneStep(micro: Int) throws -> CausalLM {
            let policy = OfflineFixture.warmStart.copy()
            var options = OfflineFixture.shortRun(steps: 2, batch: 8, micro: micro)
            options.maxNorm = 0
            _ = try trainKTO(policy, data: OfflineFixture.unpaired, options: options, kto: KTOOptions(beta: 0.1), context: RunContext(seed: 11))
            return policy
        }
        let (whole, accumulated) = (try oneStep(micro: 8), try oneStep(micro: 2))
        for ((name, a), (_, b)) in zip(whole.parameters(), accumulated.parameters()) {
            let grad = relativeDifference(try #require(a.grad).data, try #require(b.grad).data)
            #expect(grad <= 1e-4, "\(name) gradient differs by \(grad)")
        }
    }

    @Test func ktoMismatchedPairsShiftTheResponses() throws {
        let samples = Array(OfflineFixture.unpaired.prefix(3))
        let policy = OfflineFixture.warmStart.copy()
        let kl = try evaluateKTO(policy, reference: policy.frozen(), on: samples)
        #expect(kl["kl"] == 0)  // policy = reference
        #expect(kl["margin"] == 0)
    }

    @Test func kdStudentApproachesTheTeacher() throws {
        let student = OfflineFixture.model(seed: 12)
        var options = OfflineFixture.shortRun(steps: 60, batch: 32, micro: 16)
        options.learningRate = 3e-3
        let summary = try trainKD(
            student, teacher: OfflineFixture.warmStart.frozen(), data: OfflineFixture.sft,
            eval: OfflineFixture.evalSFT, options: options, context: RunContext(seed: 12))
        let before = try #require(summary.initialEval?["distil_loss"]), after = try #require(summary.finalEval?["distil_loss"])
        #expect(after < 0.5 * before, "held-out distillation loss \(before) → \(after)")
        #expect(summary.metrics["gpt_loss"] != nil && summary.metrics["distil_loss"] != nil)
        // With kdCoef 0 the loss is the SFT loss.
        let eval = Array(OfflineFixture.evalSFT.prefix(16))
        let kd = try evaluateKD(student, teacher: OfflineFixture.warmStart, on: eval, kd: KDOptions(kdCoef: 0))
        let sft = try evaluateSFT(student, on: eval)
        #expect(abs((kd["loss"] ?? 0) - (sft["loss"] ?? 1)) <= 1e-6 * (sft["loss"] ?? 1))
    }

    @Test func prmAccuracyRises() throws {
        let model = OfflineFixture.warmStart.copy()
        var options = OfflineFixture.shortRun(steps: 200, batch: 32, micro: 16)
        options.learningRate = 1e-3
        options.maxLen = 64
        let prm = try PRMOptions(rewardTokens: SyntheticTask.rewardTokens, tokenizer: OfflineFixture.tokenizer)
        let summary = try trainPRM(
            model, data: OfflineFixture.processRewards, eval: OfflineFixture.evalProcessRewards,
            options: options, prm: prm, context: RunContext(seed: 14))
        let before = try #require(summary.initialEval?["acc"]), after = try #require(summary.finalEval?["acc"])
        // 71% of the held-out steps are "+": the model must beat that majority guess.
        #expect(after >= 0.75 && after >= before + 0.3, "held-out step accuracy \(before) → \(after)")
        #expect((summary.finalEval?["loss"] ?? 1) < 0.7 * (summary.initialEval?["loss"] ?? 0))
    }

    @Test func prmPackedEqualsPadded() throws {
        func oneStep(packing: Bool) throws -> TrainingSummary {
            var options = OfflineFixture.shortRun(steps: 1, batch: 8, micro: 4)
            options.maxLen = 64
            options.packing = packing
            let prm = try PRMOptions(rewardTokens: SyntheticTask.rewardTokens, tokenizer: OfflineFixture.tokenizer)
            return try trainPRM(
                OfflineFixture.warmStart.copy(), data: OfflineFixture.processRewards,
                eval: Array(OfflineFixture.evalProcessRewards.prefix(8)), options: options, prm: prm,
                context: RunContext(seed: 15))
        }
        let (a, b) = (try oneStep(packing: false), try oneStep(packing: true))
        let x = try #require(a.metrics["loss"]), y = try #require(b.metrics["loss"])
        #expect(abs(x - y) <= 1e-5 * abs(x))
        #expect(a.finalEval?["acc"] == b.finalEval?["acc"])
    }
}
