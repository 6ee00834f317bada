import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors

// Knowledge distillation, as OpenRLHF's `KDTrainer`: the student's language-model loss mixed with
// the cross-entropy against a frozen teacher's next-token distribution,
// `(1 − kdCoef) · CE + kdCoef · KD`.
//
// OpenRLHF applies its KD mask to unshifted positions (`label != -100` on the input ids), so it
// distils the prediction made at EOS and skips the one that produces the first response token.
// Here KD uses the same positions as the LM loss: every position whose next token is trained.

/// Knowledge distillation's options (OpenRLHF `train_kd.py`).
public struct KDOptions: Codable, Equatable, Sendable, DeclaredOptions {
    // Each field is documented and checked by its row in `options`.
    public var kdCoef: Double

    public init(kdCoef: Double = 0.4) {
        self.kdCoef = kdCoef
    }

    public static let options: [OptionRow<KDOptions>] = [
        .double("kdCoef", \.kdCoef, "Weight of the distillation term: (1 − kdCoef)·CE + kdCoef·KL.", check: unitInterval)
    ]
}

/// Distils `teacher` into `student` on demonstrations.
///
/// The step loss is `(1 − kdCoef) · CE + kdCoef · KD`, each one token mean over the step's target
/// positions: CE the NLL of the trained tokens, KD `−Σ_v p_teacher(v) log p_student(v)`
/// (``kdLoss(logits:teacherLogits:lossMask:tokenCount:)``). Only `lossAggregation: .token` is
/// supported (the distillation term is a token mean).
///
/// Step metrics: `loss`, `gpt_loss`, `distil_loss`. Eval metrics: the same on the held-out split.
///
/// - Parameters:
///   - teacher: The teacher; used without gradients. It must share the student's vocabulary.
///   - loadCheckpoint: Resume from the latest checkpoint in `options.ckptPath` (see ``trainSFT(_:data:eval:options:loadCheckpoint:context:)``).
/// - Throws: ``TrainingError`` for bad options or data, a non-finite loss, or a checkpoint that does
///   not fit.
public func trainKD(
    _ student: CausalLM, teacher: CausalLM, data: [SFTExample], eval: [SFTExample] = [],
    options: TrainingOptions = .init(), kd: KDOptions = .init(), loadCheckpoint: Bool = false,
    context: RunContext
) throws -> TrainingSummary {
    try kd.validate()
    guard options.lossAggregation == .token else {
        throw TrainingError.invalidOption("lossAggregation", "must be .token for knowledge distillation (its KD term is a token mean)")
    }
    guard teacher !== student else { throw TrainingError.invalidOption("teacher", "is the student itself; pass another model") }
    guard teacher.config.vocabSize == student.config.vocabSize else {
        throw TrainingError.invalidOption(
            "teacher",
            "has a vocabulary of \(teacher.config.vocabSize), the student \(student.config.vocabSize); distillation needs the same tokenizer")
    }
    try checkSFTData(data, eval: eval, vocabSize: student.config.vocabSize, maxLen: options.maxLen, kind: "kd")
    let driver = try TrainingDriver(
        kind: "kd", data: data, eval: eval, options: options,
        parameters: student.trainableParameters(), transformer: student.transformer,
        config: kd.configValues, loadCheckpoint: loadCheckpoint, context: context)
    let pad = padTokenID(student.config)
    return try driver.run(
        denominator: { step in sftDenominator(step, level: .token) },
        micro: { mb in
            let batch = try TokenBatch(mb.examples, packing: options.packing, maxLen: options.maxLen, padTokenID: pad)
            let logits = try driver.recordingActivations(mb, keyMask: batch.keyMask) { try batch.logits(student) }
            let teacherLogits = try Tensor.withNoGrad { try batch.logits(teacher) }
            let (gpt, distil) = try kdTerms(logits: logits, teacherLogits: teacherLogits, batch: batch, tokenCount: mb.denominator)
            let loss = try gpt * Float(1 - kd.kdCoef) + distil * Float(kd.kdCoef)
            try loss.backward()
            var metrics = MetricSums()
            metrics.addTotal("gpt_loss", Double(try gpt.item))
            metrics.addTotal("distil_loss", Double(try distil.item))
            return MicroResult(loss: Double(try loss.item), metrics: metrics, tokens: batch.targetCount)
        },
        evaluate: { eval in try evaluateKD(student, teacher: teacher, on: eval, options: options, kd: kd) })
}

/// Evaluates distillation on held-out demonstrations: `loss`, `gpt_loss`, `distil_loss`, token
/// means over the whole split.
public func evaluateKD(
    _ student: CausalLM, teacher: CausalLM, on examples: [SFTExample], options: TrainingOptions = .init(),
    kd: KDOptions = .init()
) throws -> [String: Double] {
    let pad = padTokenID(student.config)
    let total = sftDenominator(examples, level: .token)
    guard total > 0 else { return [:] }
    return try Tensor.withNoGrad {
        var sums = MetricSums()
        for chunk in chunks(examples, size: options.microTrainBatchSize) {
            let batch = try TokenBatch(chunk, packing: options.packing, maxLen: options.maxLen, padTokenID: pad)
            let (gpt, distil) = try kdTerms(
                logits: batch.logits(student), teacherLogits: batch.logits(teacher), batch: batch,
                tokenCount: total)
            sums.addTotal("gpt_loss", Double(try gpt.item))
            sums.addTotal("distil_loss", Double(try distil.item))
        }
        var values = sums.values
        values["loss"] = (1 - kd.kdCoef) * (values["gpt_loss"] ?? 0) + kd.kdCoef * (values["distil_loss"] ?? 0)
        return values
    }
}

/// The LM and distillation terms of a batch over the same target positions, each divided by
/// `tokenCount`.
func kdTerms(logits: Tensor, teacherLogits: Tensor, batch: TokenBatch, tokenCount: Int) throws -> (gpt: Tensor, distil: Tensor) {
    let aggregation = LossAggregation.tokenMean(tokenCount: tokenCount)
    let gpt = try batch.aggregate(-logProbs(logits, labels: batch.labels), aggregation)
    let distil = try kdLoss(logits: logits, teacherLogits: teacherLogits, lossMask: batch.targetMaskTensor, tokenCount: tokenCount)
    return (gpt, distil)
}
