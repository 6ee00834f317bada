// `gradientCheckpointing` and `useLigerKernel` through the SFT trainer: recompute changes no bit
// of a run; the fused LM head gives the plain path's losses and weights up to float rounding.

import Alignment
import Datasets
import Foundation
import Models
import Tensors
import Testing
import Training

@Suite("Memory-saving options")
struct MemorySavingOptionsTests {
    /// Three SFT steps in micro-batches of 4, packed or padded; the model after them and the summary.
    func run(packing: Bool, level: LossAggregation.Level = .token, configure: (inout TrainingOptions) -> Void) throws -> (CausalLM, TrainingSummary) {
        let model = OfflineFixture.model()
        var options = OfflineFixture.shortRun(steps: 3, batch: 8, micro: 4)
        options.packing = packing
        options.lossAggregation = level
        configure(&options)
        let summary = try trainSFT(
            model, data: OfflineFixture.sft, eval: OfflineFixture.evalSFT, options: options, context: RunContext(seed: 6))
        return (model, summary)
    }

    @Test(arguments: [false, true])
    func gradientCheckpointingChangesNoBit(packing: Bool) throws {
        let (plain, plainSummary) = try run(packing: packing) { _ in }
        let (recomputed, recomputedSummary) = try run(packing: packing) { $0.gradientCheckpointing = true }
        #expect(plainSummary.metrics == recomputedSummary.metrics)
        #expect(plainSummary.finalEval == recomputedSummary.finalEval)
        for ((name, a), (_, b)) in zip(plain.parameters(), recomputed.parameters()) {
            #expect(a.data.map(\.bitPattern) == b.data.map(\.bitPattern), "\(name) differs")
            #expect(a.grad?.data.map(\.bitPattern) == b.grad?.data.map(\.bitPattern), "\(name) gradient differs")
        }
    }

    @Test(arguments: [LossAggregation.Level.token, .sequence])
    func fusedHeadMatchesThePlainRun(level: LossAggregation.Level) throws {
        let (plain, plainSummary) = try run(packing: true, level: level) { _ in }
        let (fused, fusedSummary) = try run(packing: true, level: level) { $0.useLigerKernel = true }
        let a = try #require(plainSummary.metrics["loss"]), b = try #require(fusedSummary.metrics["loss"])
        #expect(abs(a - b) <= 1e-5 * abs(a), "loss \(a) plain, \(b) fused")
        for ((name, p), (_, q)) in zip(plain.parameters(), fused.parameters()) {
            let grad = relativeDifference(try #require(p.grad).data, try #require(q.grad).data)
            #expect(grad <= 1e-4, "\(name) gradient differs by \(grad)")
        }
    }

    @Test func unsetOptionsStayOutOfTheConfig() {
        var options = TrainingOptions()
        #expect(options.configValues["gradient_checkpointing"] == nil)
        #expect(options.configValues["use_liger_kernel"] == nil)
        options.gradientCheckpointing = true
        #expect(options.configValues["gradient_checkpointing"] == .bool(true))
    }
}
