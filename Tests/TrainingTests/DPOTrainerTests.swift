import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Testing
import Training

@Suite("DPO trainer")
struct DPOTrainerTests {
    @Test func heldOutPreferenceAccuracyRises() throws {
        let policy = OfflineFixture.warmStart.copy()
        let reference = OfflineFixture.warmStart.frozen()
        var options = OfflineFixture.shortRun(steps: 40, batch: 32, micro: 16)
        options.learningRate = 5e-4
        let before = try evaluateDPO(policy, reference: reference, on: OfflineFixture.evalPreferences)
        let summary = try trainDPO(
            policy, reference: reference, data: OfflineFixture.preferences, eval: OfflineFixture.evalPreferences,
            options: options, dpo: DPOOptions(beta: 0.1), context: RunContext(seed: 6))
        let after = try #require(summary.finalEval)
        #expect(before["acc"] == 0 && before["margin"] == 0)  // policy = reference: every implicit reward is 0
        #expect((after["acc"] ?? 0) >= 0.8, "held-out preference accuracy \(after["acc"] ?? 0)")
        #expect((after["margin"] ?? 0) > 0.5)
        #expect((after["loss"] ?? 1) < (summary.initialEval?["loss"] ?? 0))
    }

    @Test func precomputedReferenceEqualsOnTheFly() throws {
        func run(precompute: Bool) throws -> TrainingSummary {
            var options = OfflineFixture.shortRun(steps: 2, batch: 8, micro: 4)
            options.maxNorm = 0
            return try trainDPO(
                OfflineFixture.warmStart.copy(), data: OfflineFixture.preferences,
                eval: Array(OfflineFixture.evalPreferences.prefix(8)), options: options,
                dpo: DPOOptions(precomputeReferenceLogps: precompute), context: RunContext(seed: 7))
        }
        let (a, b) = (try run(precompute: true), try run(precompute: false))
        for key in ["loss", "acc", "margin"] {
            let x = try #require(a.metrics[key]), y = try #require(b.metrics[key])
            #expect(abs(x - y) <= 1e-4 * max(abs(x), 1e-2), "\(key) \(x) precomputed, \(y) on the fly")
        }
    }

    @Test func accumulationAndPackingLeaveTheStepUnchanged() throws {
        func oneStep(micro: Int, packing: Bool) throws -> CausalLM {
            let policy = OfflineFixture.warmStart.copy()
            var options = OfflineFixture.shortRun(steps: 1, batch: 8, micro: micro)
            options.packing = packing
            options.maxNorm = 0
            _ = try trainDPO(
                policy, data: OfflineFixture.preferences, options: options, dpo: DPOOptions(nllLossCoef: 0.5),
                context: RunContext(seed: 8))
            return policy
        }
        let whole = try oneStep(micro: 8, packing: false)
        for (micro, packing) in [(2, false), (8, true)] {
            let other = try oneStep(micro: micro, packing: packing)
            for ((name, a), (_, b)) in zip(whole.parameters(), other.parameters()) {
                let grad = relativeDifference(try #require(a.grad).data, try #require(b.grad).data)
                #expect(grad <= 1e-4, "micro \(micro), packing \(packing): \(name) gradient differs by \(grad)")
            }
        }
    }

    @Test(arguments: [DPOOptions(beta: 0.1, ipo: true), DPOOptions(beta: 0.1, labelSmoothing: 0.1), DPOOptions(nllLossCoef: 1)])
    func variantsTrain(dpo: DPOOptions) throws {
        let summary = try trainDPO(
            OfflineFixture.warmStart.copy(), data: OfflineFixture.preferences,
            options: OfflineFixture.shortRun(steps: 3, batch: 8), dpo: dpo, context: RunContext(seed: 9))
        #expect(summary.steps == 3)
        #expect(summary.metrics["loss"]?.isFinite == true)
        if dpo.nllLossCoef > 0 { #expect(summary.metrics["nll_loss"] != nil) }
    }

    @Test func optionsAreChecked() throws {
        let policy = OfflineFixture.warmStart.copy()
        for dpo in [DPOOptions(beta: 0), DPOOptions(labelSmoothing: 0.5), DPOOptions(nllLossCoef: -1)] {
            #expect(throws: TrainingError.self) {
                _ = try trainDPO(policy, data: OfflineFixture.preferences, dpo: dpo, context: RunContext(seed: 1))
            }
        }
        #expect(throws: TrainingError.self) {
            _ = try trainDPO(policy, reference: policy, data: OfflineFixture.preferences, context: RunContext(seed: 1))
        }
    }
}
