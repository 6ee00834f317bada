import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors

// Direct preference optimisation and its cDPO / IPO variants, as OpenRLHF's `DPOTrainer`: summed
// log-probs of each chosen and rejected response under the policy and a frozen reference, and
// `dpoLoss` over the pairs of the step.

/// DPO's options (OpenRLHF `train_dpo.py`).
public struct DPOOptions: Codable, Equatable, Sendable, DeclaredOptions {
    // Each field is documented and checked by its row in `options`.
    public var beta: Double
    public var labelSmoothing: Double
    public var ipo: Bool
    public var nllLossCoef: Double
    public var precomputeReferenceLogps: Bool

    public init(
        beta: Double = 0.1, labelSmoothing: Double = 0, ipo: Bool = false, nllLossCoef: Double = 0,
        precomputeReferenceLogps: Bool = true
    ) {
        self.beta = beta
        self.labelSmoothing = labelSmoothing
        self.ipo = ipo
        self.nllLossCoef = nllLossCoef
        self.precomputeReferenceLogps = precomputeReferenceLogps
    }

    public static let options: [OptionRow<DPOOptions>] = [
        .double("beta", \.beta, "β of the implicit reward (the strength of the KL constraint).", check: positive),
        .double("labelSmoothing", \.labelSmoothing, "cDPO's ε: the chance a label is flipped (0: DPO).") { e, _ in
            (0..<0.5).contains(e) ? nil : "must be in [0, 0.5), got \(e)"
        },
        .bool("ipo", \.ipo, "IPO's squared loss instead of DPO's."),
        .double("nllLossCoef", \.nllLossCoef, "Weight of the chosen responses' NLL.", check: nonNegative),
        .bool(
            "precomputeReferenceLogps", \.precomputeReferenceLogps,
            "Reference log-probs once before training (true) or in every micro-batch."),
    ]
}

/// Trains `policy` with DPO (or cDPO, IPO) on preference pairs.
///
/// Each pair's chosen and rejected sequences go through one forward pass; a response's log-prob is
/// the sum over its tokens (EOS included) of `log π(y_t | x, y_<t)`. The step loss is the mean over
/// the step's pairs of ``dpoLoss(policyChosenLogps:policyRejectedLogps:referenceChosenLogps:referenceRejectedLogps:beta:labelSmoothing:ipo:pairCount:)``
/// (plus `nllLossCoef` times the chosen responses' NLL, a mean over pairs of token means).
///
/// ```swift
/// let reference = policy.frozen()
/// let summary = try trainDPO(policy, reference: reference, data: prefs.examples, eval: heldOut.examples,
///                            options: options, dpo: DPOOptions(beta: 0.1), context: context)
/// summary.finalEval?["acc"]          // held-out preference accuracy
/// ```
///
/// Step metrics: `loss`, `acc` (chosen implicit reward above the rejected one), `chosen_reward`,
/// `rejected_reward`, `margin`, and `nll_loss` when `nllLossCoef > 0`. Eval metrics: `loss`, `acc`,
/// `chosen_reward`, `rejected_reward`, `margin` on the held-out pairs.
///
/// - Parameters:
///   - reference: The frozen reference; nil takes a frozen copy of `policy` as it is when the call
///     starts (so on resume, pass the same initial policy).
///   - loadCheckpoint: Resume from the latest checkpoint in `options.ckptPath` (see ``trainSFT(_:data:eval:options:loadCheckpoint:context:)``).
/// - Throws: ``TrainingError`` for bad options or data, a non-finite loss, or a checkpoint that does
///   not fit.
public func trainDPO(
    _ policy: CausalLM, reference: CausalLM? = nil, data: [PreferenceExample], eval: [PreferenceExample] = [],
    options: TrainingOptions = .init(), dpo: DPOOptions = .init(), loadCheckpoint: Bool = false,
    context: RunContext
) throws -> TrainingSummary {
    try dpo.validate()
    if let reference, reference === policy {
        throw TrainingError.invalidOption("reference", "is the policy itself; pass a frozen copy (policy.frozen())")
    }
    if let reference, reference.config.vocabSize != policy.config.vocabSize {
        throw TrainingError.invalidOption("reference", "has a vocabulary of \(reference.config.vocabSize), the policy \(policy.config.vocabSize)")
    }
    try checkPreferenceData(data, eval: eval, vocabSize: policy.config.vocabSize, maxLen: options.maxLen, kind: "dpo")
    let reference = reference ?? policy.frozen()
    let driver = try TrainingDriver(
        kind: "dpo", data: data, eval: eval, options: options,
        parameters: policy.trainableParameters(), transformer: policy.transformer,
        config: dpo.configValues, loadCheckpoint: loadCheckpoint, context: context)
    let pad = padTokenID(policy.config)
    var trainCache: [(chosen: Float, rejected: Float)]? = nil
    var evalCache: [(chosen: Float, rejected: Float)]? = nil
    if dpo.precomputeReferenceLogps {
        do {
            trainCache = try referenceLogps(reference, of: data, options: options)
            evalCache = try referenceLogps(reference, of: eval, options: options)
        } catch {
            throw driver.stage.fail(error, step: nil)
        }
    }
    return try driver.run(
        denominator: { step in step.count },
        micro: { mb in
            let n = mb.examples.count
            let batch = try preferenceBatch(mb.examples, options: options, padTokenID: pad)
            let logits = try driver.recordingActivations(mb, keyMask: batch.keyMask) { try batch.logits(policy) }
            let logps = try logProbs(logits, labels: batch.labels)
            let (chosen, rejected) = try splitPairs(batch.sequenceSums(logps), pairs: n)
            let ref: (chosen: Tensor, rejected: Tensor)
            if let trainCache {
                ref = cachedReference(trainCache, indices: mb.indices)
            } else {
                ref = try Tensor.withNoGrad { try splitPairs(sequenceLogps(reference, batch), pairs: n) }
            }
            let out = try dpoLoss(
                policyChosenLogps: chosen, policyRejectedLogps: rejected,
                referenceChosenLogps: ref.chosen, referenceRejectedLogps: ref.rejected,
                beta: Float(dpo.beta), labelSmoothing: Float(dpo.labelSmoothing), ipo: dpo.ipo,
                pairCount: mb.denominator)
            var loss = out.loss
            var metrics = preferenceMetrics(chosen: out.chosenRewards.data, rejected: out.rejectedRewards.data)
            if dpo.nllLossCoef > 0 {
                // The chosen responses' NLL: a mean over pairs of each response's token mean.
                let means = try batch.sequenceSums(logps, mean: true).slice(axis: 0, 0..<n)
                let nll = -means.sum() / Float(mb.denominator)
                loss = try loss + nll * Float(dpo.nllLossCoef)
                metrics.addTotal("nll_loss", Double(try nll.item))
            }
            try loss.backward()
            return MicroResult(loss: Double(try loss.item), metrics: metrics, tokens: batch.targetCount)
        },
        evaluate: { eval in
            try evaluateDPO(policy, reference: reference, on: eval, options: options, dpo: dpo, referenceLogps: evalCache)
        })
}

/// The reference's summed log-probs of each pair's chosen and rejected response, in data order,
/// computed without gradients in batches of `options.microTrainBatchSize` pairs.
public func referenceLogps(
    _ reference: CausalLM, of pairs: [PreferenceExample],
    options: TrainingOptions = .init()
) throws -> [(chosen: Float, rejected: Float)] {
    let pad = padTokenID(reference.config)
    return try Tensor.withNoGrad {
        var result: [(chosen: Float, rejected: Float)] = []
        result.reserveCapacity(pairs.count)
        for chunk in chunks(pairs, size: options.microTrainBatchSize) {
            let batch = try preferenceBatch(chunk, options: options, padTokenID: pad)
            let (chosen, rejected) = try splitPairs(sequenceLogps(reference, batch), pairs: chunk.count)
            for i in 0..<chunk.count { result.append((chosen.data[i], rejected.data[i])) }
        }
        return result
    }
}

/// Cached reference log-probs of the pairs at `indices`, as two [B] tensors.
func cachedReference(_ cache: [(chosen: Float, rejected: Float)], indices: [Int]) -> (chosen: Tensor, rejected: Tensor) {
    (
        Tensor(shape: [indices.count], data: indices.map { cache[$0].chosen }),
        Tensor(shape: [indices.count], data: indices.map { cache[$0].rejected })
    )
}
