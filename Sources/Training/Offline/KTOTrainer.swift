import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors

// Kahneman–Tversky optimisation from unpaired desirable / undesirable responses, as OpenRLHF's
// `KTOTrainer`: the reference point z₀ is a KL estimate from mismatched pairs — prompt i with the
// response of sample i + 1 — and each sample's implicit reward is compared with it.
//
// OpenRLHF builds the mismatched pairs inside each micro-batch, so z₀, and with it the gradient,
// changes with the micro-batch size. Here they are built over the whole optimizer step and z₀ is
// computed once per step (it is detached, so it needs no gradient): accumulating k micro-batches
// equals one k× batch, as for every other trainer.

/// KTO's options (OpenRLHF `train_kto.py`).
public struct KTOOptions: Codable, Equatable, Sendable, DeclaredOptions {
    // Each field is documented and checked by its row in `options`.
    public var beta: Double
    public var desirableLossWeight: Double
    public var undesirableLossWeight: Double

    public init(beta: Double = 0.01, desirableLossWeight: Double = 1, undesirableLossWeight: Double = 1) {
        self.beta = beta
        self.desirableLossWeight = desirableLossWeight
        self.undesirableLossWeight = undesirableLossWeight
    }

    public static let options: [OptionRow<KTOOptions>] = [
        .double("beta", \.beta, "β of the implicit reward.", check: positive),
        .double("desirableLossWeight", \.desirableLossWeight, "λ_D, the weight of desirable samples.", check: nonNegative),
        .double("undesirableLossWeight", \.undesirableLossWeight, "λ_U, the weight of undesirable samples.", check: nonNegative),
    ]
}

/// Trains `policy` with KTO on responses labelled desirable or undesirable.
///
/// With `r = log π(y|x) − log π_ref(y|x)` (summed over the response, EOS included) and
/// `z₀ = max(mean over the step's mismatched pairs of r, 0)`, the step loss is the mean over the
/// step's samples of `λ_D (1 − σ(β (r − z₀)))` (desirable) or `λ_U (1 − σ(β (z₀ − r)))`
/// (undesirable): ``ktoLoss(policyChosenLogps:policyRejectedLogps:policyKLLogps:referenceChosenLogps:referenceRejectedLogps:referenceKLLogps:beta:desirableWeight:undesirableWeight:sampleCount:)``.
///
/// Step metrics: `loss`, `kl` (z₀), `chosen_reward`, `rejected_reward` (mean implicit rewards `β r`
/// of the desirable and undesirable samples). Eval metrics: those, and `margin` (their
/// difference), with z₀ from mismatched pairs over the whole eval split.
///
/// - Parameters:
///   - reference: The frozen reference; nil takes a frozen copy of `policy` as the call starts.
///   - loadCheckpoint: Resume from the latest checkpoint in `options.ckptPath` (see ``trainSFT(_:data:eval:options:loadCheckpoint:context:)``).
/// - Throws: ``TrainingError`` for bad options or data, a non-finite loss, or a checkpoint that does
///   not fit.
public func trainKTO(
    _ policy: CausalLM, reference: CausalLM? = nil, data: [UnpairedExample], eval: [UnpairedExample] = [],
    options: TrainingOptions = .init(), kto: KTOOptions = .init(), loadCheckpoint: Bool = false,
    context: RunContext
) throws -> TrainingSummary {
    try kto.validate()
    if let reference, reference === policy {
        throw TrainingError.invalidOption("reference", "is the policy itself; pass a frozen copy (policy.frozen())")
    }
    for (split, examples) in [("training", data), ("eval", eval)] {
        for (i, e) in examples.enumerated() {
            let sequence = SFTExample(prompt: e.promptIDs, response: e.responseIDs)
            try checkSequence(
                sequence.ids, lossMask: sequence.lossMask, vocabSize: policy.config.vocabSize, maxLen: options.maxLen,
                what: "kto: \(split) sample \(i)")
        }
    }
    try checkHeldOut(train: data, eval: eval, kind: "kto")
    let reference = reference ?? policy.frozen()
    let driver = try TrainingDriver(
        kind: "kto", data: data, eval: eval, options: options,
        parameters: policy.trainableParameters(), transformer: policy.transformer,
        config: kto.configValues,
        loadCheckpoint: loadCheckpoint, context: context)
    let pad = padTokenID(policy.config)
    var stepKL: (policy: Tensor, reference: Tensor)? = nil
    return try driver.run(
        denominator: { step in step.count },
        micro: { mb in
            if mb.index == 0 || stepKL == nil {
                stepKL = try mismatchedLogps(policy, reference, mb.step, options: options, padTokenID: pad)
            }
            let kl = stepKL!
            let batch = try TokenBatch(
                mb.examples.map { SFTExample(prompt: $0.promptIDs, response: $0.responseIDs) },
                packing: options.packing, maxLen: options.maxLen, padTokenID: pad)
            let logits = try driver.recordingActivations(mb, keyMask: batch.keyMask) { try batch.logits(policy) }
            let policyLogps = try batch.sequenceSums(logProbs(logits, labels: batch.labels))
            let referenceLogps = try Tensor.withNoGrad { try sequenceLogps(reference, batch) }
            let out = try ktoBatchLoss(
                mb.examples, policyLogps: policyLogps, referenceLogps: referenceLogps, kl: kl, kto: kto,
                sampleCount: mb.denominator)
            try out.loss.backward()
            var metrics = MetricSums()
            if mb.index == 0 { metrics.addTotal("kl", Double(try out.kl?.item ?? 0)) }
            metrics.add("chosen_reward", values: out.chosenRewards.data)
            metrics.add("rejected_reward", values: out.rejectedRewards.data)
            return MicroResult(loss: Double(try out.loss.item), metrics: metrics, tokens: batch.targetCount)
        },
        evaluate: { eval in try evaluateKTO(policy, reference: reference, on: eval, options: options, kto: kto) })
}

/// Evaluates KTO on held-out unpaired samples: `loss`, `kl`, `chosen_reward`, `rejected_reward`
/// and `margin`, with z₀ from mismatched pairs over the whole split.
public func evaluateKTO(
    _ policy: CausalLM, reference: CausalLM, on examples: [UnpairedExample],
    options: TrainingOptions = .init(), kto: KTOOptions = .init()
) throws -> [String: Double] {
    let pad = padTokenID(policy.config)
    return try Tensor.withNoGrad {
        let kl = try mismatchedLogps(policy, reference, examples, options: options, padTokenID: pad)
        var sums = MetricSums()
        var z0 = 0.0
        for chunk in chunks(examples, size: options.microTrainBatchSize) {
            let batch = try TokenBatch(
                chunk.map { SFTExample(prompt: $0.promptIDs, response: $0.responseIDs) },
                packing: options.packing, maxLen: options.maxLen, padTokenID: pad)
            let out = try ktoBatchLoss(
                chunk, policyLogps: sequenceLogps(policy, batch), referenceLogps: sequenceLogps(reference, batch),
                kl: kl, kto: kto, sampleCount: examples.count)
            sums.addTotal("loss", Double(try out.loss.item))
            sums.add("chosen_reward", values: out.chosenRewards.data)
            sums.add("rejected_reward", values: out.rejectedRewards.data)
            z0 = Double(try out.kl?.item ?? 0)
        }
        var values = sums.values
        values["kl"] = z0
        values["margin"] = (values["chosen_reward"] ?? 0) - (values["rejected_reward"] ?? 0)
        return values
    }
}

/// `ktoLoss` for a batch: the samples split by label, against the step's mismatched pairs.
func ktoBatchLoss(
    _ examples: [UnpairedExample], policyLogps: Tensor, referenceLogps: Tensor, kl: (policy: Tensor, reference: Tensor),
    kto: KTOOptions, sampleCount: Int
) throws -> PreferenceLossOutput {
    let desirable = examples.indices.filter { examples[$0].label }
    let undesirable = examples.indices.filter { !examples[$0].label }
    func pick(_ t: Tensor, _ indices: [Int]) throws -> Tensor {
        indices.isEmpty ? Tensor(shape: [0], data: []) : try gather(t, axis: 0, index: indices)
    }
    return try ktoLoss(
        policyChosenLogps: pick(policyLogps, desirable), policyRejectedLogps: pick(policyLogps, undesirable),
        policyKLLogps: kl.policy,
        referenceChosenLogps: pick(referenceLogps, desirable), referenceRejectedLogps: pick(referenceLogps, undesirable),
        referenceKLLogps: kl.reference,
        beta: Float(kto.beta), desirableWeight: Float(kto.desirableLossWeight), undesirableWeight: Float(kto.undesirableLossWeight),
        sampleCount: sampleCount)
}

/// The policy's and the reference's summed log-probs of the mismatched pairs of `examples`
/// (prompt i with the response of sample i + 1, cyclically), without gradients.
func mismatchedLogps(
    _ policy: CausalLM, _ reference: CausalLM, _ examples: [UnpairedExample], options: TrainingOptions,
    padTokenID: Int
) throws -> (policy: Tensor, reference: Tensor) {
    let pairs = mismatchedPairs(examples, maxLen: options.maxLen)
    return try Tensor.withNoGrad {
        var p: [Float] = [], r: [Float] = []
        for chunk in chunks(pairs, size: options.microTrainBatchSize) {
            let batch = try TokenBatch(chunk, packing: options.packing, maxLen: options.maxLen, padTokenID: padTokenID)
            p += try sequenceLogps(policy, batch).data
            r += try sequenceLogps(reference, batch).data
        }
        return (Tensor(shape: [p.count], data: p), Tensor(shape: [r.count], data: r))
    }
}

/// Prompt i with the response of sample i + 1 (cyclically); a pair longer than `maxLen` keeps the
/// start of the response and its last token (the EOS).
func mismatchedPairs(_ examples: [UnpairedExample], maxLen: Int) -> [SFTExample] {
    examples.indices.map { i in
        let prompt = examples[i].promptIDs, response = examples[(i + 1) % examples.count].responseIDs
        var cut = response
        let room = maxLen - prompt.count
        if cut.count > room, room > 0, let last = response.last {
            cut = Array(response.prefix(room))
            cut[cut.count - 1] = last
        }
        return SFTExample(prompt: prompt, response: cut)
    }
}
