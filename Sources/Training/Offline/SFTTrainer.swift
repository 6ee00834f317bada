import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors

// Supervised fine-tuning, as OpenRLHF's `SFTTrainer`: the negative log-likelihood of the trained
// tokens (the response, its first token and EOS included; every token in pretrain mode), one exact
// token mean (or sequence mean) per optimizer step.

/// Fine-tunes `model` on demonstrations.
///
/// Position t predicts token t + 1 wherever that token is trained (``SFTExample/lossMask``), so the
/// first response token and the EOS are trained — OpenRLHF v0.7.0 dropped the first (issue #973).
/// The step loss is `Σ −log π(target) / (targets of the step)` with `lossAggregation: .token`, or
/// the mean over the step's sequences of their token means with `.sequence`.
///
/// ```swift
/// let data = try SFTDataset.load(task.demonstrations, tokenizer: task.tokenizer, maxLen: task.maxLen)
/// let eval = try SFTDataset.load(task.eval.demonstrations, tokenizer: task.tokenizer, maxLen: task.maxLen)
/// var options = TrainingOptions()
/// options.learningRate = 3e-3
/// options.packing = true
/// let summary = try trainSFT(model, data: data.examples, eval: eval.examples, options: options, context: context)
/// summary.finalEval?["loss"]
/// ```
///
/// Step metrics: `loss`, `lr`, `grad_norm` (and `time_*`). Eval metrics (every `evalSteps` and at
/// the end): `loss`, `acc` (the share of targets the model ranks first).
///
/// - Parameters:
///   - model: The model to train (its trainable parameters; LoRA adapters when enabled).
///   - data: The training demonstrations.
///   - eval: Held-out demonstrations (not the training data); empty: no evaluation.
///   - options: Batch sizes, optimizer, schedule, cadence, `packing`, `lossAggregation`.
///   - loadCheckpoint: Resume from the latest checkpoint in `options.ckptPath` when there is one
///     (OpenRLHF `--load_checkpoint`); pass the same initial model, data and options.
///   - context: Where the stage records and reports; its seed fixes the sample order.
/// - Throws: ``TrainingError`` for bad options or data (naming the example), a non-finite loss,
///   or a checkpoint that does not fit.
public func trainSFT(
    _ model: CausalLM, data: [SFTExample], eval: [SFTExample] = [], options: TrainingOptions = .init(),
    loadCheckpoint: Bool = false, context: RunContext
) throws -> TrainingSummary {
    try checkSFTData(data, eval: eval, vocabSize: model.config.vocabSize, maxLen: options.maxLen, kind: "sft")
    let driver = try TrainingDriver(
        kind: "sft", data: data, eval: eval, options: options,
        parameters: model.trainableParameters(), transformer: model.transformer,
        config: [:], loadCheckpoint: loadCheckpoint, context: context)
    let pad = padTokenID(model.config)
    return try driver.run(
        denominator: { step in sftDenominator(step, level: options.lossAggregation) },
        micro: { mb in
            let batch = try TokenBatch(mb.examples, packing: options.packing, maxLen: options.maxLen, padTokenID: pad)
            if options.useLigerKernel == true, model.lmHead.bias == nil {
                let hidden = try driver.recordingActivations(mb, keyMask: batch.keyMask) { try batch.hidden(model) }
                return try fusedHeadLoss(hidden, head: model.lmHead.weight, batch: batch, aggregation: mb.aggregation)
            }
            let logits = try driver.recordingActivations(mb, keyMask: batch.keyMask) { try batch.logits(model) }
            let logps = try logProbs(logits, labels: batch.labels)
            let loss = try batch.aggregate(-logps, mb.aggregation)
            try loss.backward()
            return MicroResult(loss: Double(try loss.item), tokens: batch.targetCount)
        },
        evaluate: { eval in try evaluateSFT(model, on: eval, options: options) })
}

/// The global denominator of an SFT step: its target tokens, or its sequences.
func sftDenominator(_ step: [SFTExample], level: LossAggregation.Level) -> Int {
    switch level {
    case .token: return step.reduce(0) { $0 + targetCount($1.lossMask) }
    case .sequence: return step.count
    }
}

/// Checks SFT (or KD) training and eval data against the model and options.
func checkSFTData(_ data: [SFTExample], eval: [SFTExample], vocabSize: Int, maxLen: Int, kind: String) throws {
    for (split, examples) in [("training", data), ("eval", eval)] {
        for (i, e) in examples.enumerated() {
            try checkSequence(e.ids, lossMask: e.lossMask, vocabSize: vocabSize, maxLen: maxLen, what: "\(kind): \(split) example \(i)")
        }
    }
    try checkHeldOut(train: data, eval: eval, kind: kind)
}

/// The SFT loss through ``fusedLinearCrossEntropy(_:weight:labels:weights:blockRows:)``, back-propagated:
/// each position's weight is what the step's aggregation gives its token loss (the aggregation is
/// linear in the token losses, so its gradient does not depend on them), and the reported loss is
/// that aggregation of the fused pass's log-probs, as the plain path computes it.
func fusedHeadLoss(_ hidden: Tensor, head: Tensor, batch: TokenBatch, aggregation: LossAggregation) throws -> MicroResult {
    let probe = Tensor.zeros([batch.rows, batch.length], requiresGrad: true)
    try batch.aggregate(probe, aggregation).backward()
    let weights = probe.grad?.data ?? [Float](repeating: 0, count: probe.count)
    let fused = try fusedLinearCrossEntropy(hidden, weight: head, labels: batch.labels, weights: weights)
    try fused.loss.backward()
    let tokenLosses = Tensor(shape: [batch.rows, batch.length], data: fused.logProbs.map { -$0 })
    let loss = try Tensor.withNoGrad { try batch.aggregate(tokenLosses, aggregation) }
    return MicroResult(loss: Double(try loss.item), tokens: batch.targetCount)
}
