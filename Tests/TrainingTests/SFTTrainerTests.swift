import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Testing
import Tokenizers
import Training

@Suite("SFT trainer")
struct SFTTrainerTests {
    @Test func sftLowersHeldOutLoss() throws {
        let model = OfflineFixture.model()
        var options = OfflineFixture.shortRun(steps: 80, batch: 32, micro: 16)
        options.learningRate = 3e-3
        options.evalSteps = 40
        let summary = try trainSFT(
            model, data: OfflineFixture.sft, eval: OfflineFixture.evalSFT, options: options,
            context: RunContext(seed: 1))
        let before = try #require(summary.initialEval?["loss"]), after = try #require(summary.finalEval?["loss"])
        #expect(summary.steps == 80)
        #expect(summary.evalHistory.map(\.step) == [0, 40, 80])
        #expect(after < 0.5 * before, "eval loss \(before) → \(after)")
        #expect((summary.finalEval?["acc"] ?? 0) > 0.6)
    }

    @Test func lossMaskTrainsFirstResponseTokenAndEOS() throws {
        let record = Record(["input": .string("3 1 2="), "output": .string("123")], file: "mem", line: 1)
        let example = try #require(try SFTDataset.load([record], tokenizer: OfflineFixture.tokenizer, maxLen: 64).examples.first)
        let prompt = OfflineFixture.tokenizer.encode("3 1 2="), eos = OfflineFixture.tokenizer.eosTokenID!
        #expect(example.ids == prompt + OfflineFixture.tokenizer.encode("123") + [eos])
        #expect(example.lossMask == [Float](repeating: 0, count: prompt.count) + [1, 1, 1, 1])
        // The last prompt position predicts the first response token; the one before EOS predicts EOS.
        for packing in [false, true] {
            let batch = try TokenBatch([example], packing: packing, maxLen: 64, padTokenID: 0)
            #expect(batch.labels[prompt.count - 1] == Int(UInt8(ascii: "1")))
            #expect(batch.labels[example.ids.count - 2] == eos)
            #expect(batch.targetCount == 4)
            #expect(batch.labels[..<(prompt.count - 1)].allSatisfy { $0 == -1 })
        }
    }

    @Test(arguments: [LossAggregation.Level.token, .sequence])
    func gradientAccumulationEqualsOneLargeBatch(level: LossAggregation.Level) throws {
        func oneStep(micro: Int) throws -> (CausalLM, TrainingSummary) {
            let model = OfflineFixture.model()
            var options = OfflineFixture.shortRun(steps: 1, batch: 16, micro: micro)
            options.lossAggregation = level
            options.maxNorm = 0
            let summary = try trainSFT(model, data: OfflineFixture.sft, options: options, context: RunContext(seed: 4))
            return (model, summary)
        }
        let (whole, wholeSummary) = try oneStep(micro: 16)
        let (accumulated, accumulatedSummary) = try oneStep(micro: 4)
        let loss = try #require(wholeSummary.metrics["loss"]), accumulatedLoss = try #require(accumulatedSummary.metrics["loss"])
        #expect(abs(loss - accumulatedLoss) <= 1e-6 * abs(loss))
        for ((name, a), (_, b)) in zip(whole.parameters(), accumulated.parameters()) {
            let grad = relativeDifference(try #require(a.grad).data, try #require(b.grad).data)
            #expect(grad <= 1e-6, "\(name) gradient differs by \(grad)")
            // AdamW's first update is g / (|g| + 1e-8): a gradient entry near 1e-8 (a cancellation)
            // turns its float32 rounding into an update difference, so the values get a looser bound.
            let value = relativeDifference(a.data, b.data)
            #expect(value <= 1e-4, "\(name) differs by \(value) after the step")
        }
    }

    @Test(arguments: [LossAggregation.Level.token, .sequence])
    func packedLossAndGradientsEqualPadded(level: LossAggregation.Level) throws {
        func oneStep(packing: Bool) throws -> (CausalLM, TrainingSummary) {
            let model = OfflineFixture.model()
            var options = OfflineFixture.shortRun(steps: 1, batch: 16, micro: 8)
            options.packing = packing
            options.lossAggregation = level
            options.maxNorm = 0
            let summary = try trainSFT(
                model, data: OfflineFixture.sft, eval: OfflineFixture.evalSFT, options: options,
                context: RunContext(seed: 5))
            return (model, summary)
        }
        let (padded, paddedSummary) = try oneStep(packing: false)
        let (packed, packedSummary) = try oneStep(packing: true)
        let a = try #require(paddedSummary.metrics["loss"]), b = try #require(packedSummary.metrics["loss"])
        #expect(abs(a - b) <= 1e-5 * abs(a), "loss \(a) padded, \(b) packed")
        for key in ["loss", "acc"] {
            let x = try #require(paddedSummary.finalEval?[key]), y = try #require(packedSummary.finalEval?[key])
            #expect(abs(x - y) <= 1e-5 * max(abs(x), 1e-3), "eval \(key) \(x) padded, \(y) packed")
        }
        for ((name, p), (_, q)) in zip(padded.parameters(), packed.parameters()) {
            let grad = relativeDifference(try #require(p.grad).data, try #require(q.grad).data)
            #expect(grad <= 1e-4, "\(name) gradient differs by \(grad)")
        }
    }

    @Test func packedBatchHasNoPaddingAcrossSamples() throws {
        let examples = Array(OfflineFixture.sft.prefix(12))
        let batch = try TokenBatch(examples, packing: true, maxLen: 64, padTokenID: 0)
        let padded = try TokenBatch(examples, packing: false, maxLen: 64, padTokenID: 0)
        #expect(batch.rows < padded.rows)
        #expect(batch.rows * batch.length < padded.rows * padded.length)
        #expect(batch.targetCount == padded.targetCount)
        #expect(batch.targetCounts == padded.targetCounts)
        let positions = try #require(batch.positions)
        for p in batch.placements {
            #expect(Array(positions[(p.row * batch.length + p.start)..<(p.row * batch.length + p.start + p.count)]) == Array(0..<p.count))
        }
    }
}
