import Alignment
import Datasets
import Foundation
import Models
import Tensors

// Evaluation on held-out data, batch by batch without gradients. Each function returns exact means
// over the whole split (not means of batch means), so the result does not depend on the batch size.

/// Evaluates a language model on held-out demonstrations.
///
/// - Returns: `loss`: the NLL of the trained tokens, one token mean over the split (or the mean of
///   sequence means when `options.lossAggregation` is `.sequence`); `acc`: the share of trained
///   tokens that are the model's arg-max prediction.
public func evaluateSFT(_ model: CausalLM, on examples: [SFTExample], options: TrainingOptions = .init()) throws -> [String: Double] {
    let pad = padTokenID(model.config)
    return try Tensor.withNoGrad {
        var sums = MetricSums()
        for chunk in chunks(examples, size: options.microTrainBatchSize) {
            let batch = try TokenBatch(chunk, packing: options.packing, maxLen: options.maxLen, padTokenID: pad)
            let logits = try batch.logits(model)
            let nll = try -logProbs(logits, labels: batch.labels)
            sums.merge(try lossSums(nll, batch: batch, level: options.lossAggregation))
            sums.add("acc", sum: Double(try correctTargets(logits, batch: batch)), count: Double(batch.targetCount))
        }
        return sums.values
    }
}

/// Evaluates a reward model on held-out preference pairs.
///
/// - Returns: `loss` (the trainer's pairwise loss, mean over pairs), `acc` (chosen scored above
///   rejected), `chosen_reward`, `rejected_reward`, `margin` (their mean difference), and
///   `reward_mean` / `reward_std` over every score of the split (OpenRLHF keeps these in the model's
///   config to normalise rewards; `reward_std` is unbiased, at least 1e-8).
public func evaluateRewardModel(
    _ model: ScalarModel, on examples: [PreferenceExample], options: TrainingOptions = .init(),
    rm: RewardModelOptions = .init()
) throws -> [String: Double] {
    let pad = padTokenID(model.config)
    return try Tensor.withNoGrad {
        var sums = MetricSums()
        var all: [Double] = []
        for chunk in chunks(examples, size: options.microTrainBatchSize) {
            let (chosen, rejected, _) = try rewardScores(model, chunk, options: options, padTokenID: pad)
            let loss = try rewardModelLoss(chosen: chosen, rejected: rejected, chunk, rm: rm, pairCount: nil)
            sums.add("loss", sum: Double(try loss.item) * Double(chunk.count), count: Double(chunk.count))
            sums.merge(preferenceMetrics(chosen: chosen.data, rejected: rejected.data))
            all += chosen.data.map(Double.init) + rejected.data.map(Double.init)
        }
        var values = sums.values
        let mean = all.reduce(0, +) / Double(Swift.max(all.count, 1))
        let variance = all.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(Swift.max(all.count - 1, 1))
        values["reward_mean"] = mean
        values["reward_std"] = Swift.max(variance.squareRoot(), 1e-8)
        return values
    }
}

/// Evaluates a policy's implicit DPO rewards on held-out preference pairs.
///
/// - Parameter referenceLogps: The reference's summed log-probs of each pair (chosen, rejected), as
///   ``referenceLogps(_:of:options:)`` computes them; nil computes them here.
/// - Returns: `loss` (the DPO / cDPO / IPO loss, mean over pairs), `acc` (the share of pairs whose
///   chosen implicit reward is above the rejected one: held-out preference accuracy),
///   `chosen_reward`, `rejected_reward`, `margin`.
public func evaluateDPO(
    _ policy: CausalLM, reference: CausalLM, on examples: [PreferenceExample],
    options: TrainingOptions = .init(), dpo: DPOOptions = .init(),
    referenceLogps cached: [(chosen: Float, rejected: Float)]? = nil
) throws -> [String: Double] {
    let pad = padTokenID(policy.config)
    return try Tensor.withNoGrad {
        var sums = MetricSums()
        var offset = 0
        for chunk in chunks(examples, size: options.microTrainBatchSize) {
            let batch = try preferenceBatch(chunk, options: options, padTokenID: pad)
            let policyLogps = try sequenceLogps(policy, batch)
            let (chosen, rejected) = try splitPairs(policyLogps, pairs: chunk.count)
            let ref: (chosen: Tensor, rejected: Tensor)
            if let cached {
                ref = cachedReference(cached, indices: Array(offset..<(offset + chunk.count)))
            } else {
                ref = try splitPairs(sequenceLogps(reference, batch), pairs: chunk.count)
            }
            offset += chunk.count
            let out = try dpoLoss(
                policyChosenLogps: chosen, policyRejectedLogps: rejected,
                referenceChosenLogps: ref.chosen, referenceRejectedLogps: ref.rejected,
                beta: Float(dpo.beta), labelSmoothing: Float(dpo.labelSmoothing), ipo: dpo.ipo)
            sums.add("loss", sum: Double(try out.loss.item) * Double(chunk.count), count: Double(chunk.count))
            sums.merge(preferenceMetrics(chosen: out.chosenRewards.data, rejected: out.rejectedRewards.data))
        }
        return sums.values
    }
}

// MARK: - Shared pieces

/// `acc`, `chosen_reward`, `rejected_reward` and `margin` of one batch of pairs, as sums.
func preferenceMetrics(chosen: [Float], rejected: [Float]) -> MetricSums {
    var sums = MetricSums()
    let n = Double(chosen.count)
    sums.add("acc", sum: Double(zip(chosen, rejected).filter { $0 > $1 }.count), count: n)
    sums.add("chosen_reward", values: chosen)
    sums.add("rejected_reward", values: rejected)
    sums.add("margin", sum: zip(chosen, rejected).reduce(0.0) { $0 + Double($1.0 - $1.1) }, count: n)
    return sums
}

/// The loss sums of a per-token loss over one eval batch: `loss` as a token mean (sum over the
/// batch's targets, count = targets) or a sequence mean (sum of sequence means, count = sequences).
func lossSums(_ perToken: Tensor, batch: TokenBatch, level: LossAggregation.Level) throws -> MetricSums {
    var sums = MetricSums()
    switch level {
    case .token:
        let total = try (perToken * batch.targetMaskTensor).sum().item
        sums.add("loss", sum: Double(total), count: Double(batch.targetCount))
    case .sequence:
        let means = try batch.sequenceSums(perToken, mean: true)
        sums.add("loss", values: means.data)
    }
    return sums
}

/// The number of targets whose label is the arg-max of the logits.
func correctTargets(_ logits: Tensor, batch: TokenBatch) throws -> Int {
    let predictions = try logits.argmax(axis: -1)
    var correct = 0
    for (i, label) in batch.labels.enumerated() where label >= 0 && predictions[i] == label { correct += 1 }
    return correct
}

/// The summed log-probs of each sequence's targets under `model`, [N].
func sequenceLogps(_ model: CausalLM, _ batch: TokenBatch) throws -> Tensor {
    try batch.sequenceSums(logProbs(batch.logits(model), labels: batch.labels))
}

/// The first `pairs` values and the next `pairs` values of a [2·pairs] tensor.
func splitPairs(_ values: Tensor, pairs: Int) throws -> (chosen: Tensor, rejected: Tensor) {
    (try values.slice(axis: 0, 0..<pairs), try values.slice(axis: 0, pairs..<(2 * pairs)))
}

/// Preference pairs as one batch: every chosen sequence, then every rejected one (OpenRLHF's
/// `concatenated_forward`), their responses trained.
func preferenceBatch(_ pairs: [PreferenceExample], options: TrainingOptions, padTokenID: Int) throws -> TokenBatch {
    let sequences = pairs.map(\.chosen) + pairs.map(\.rejected)
    return try TokenBatch(sequences, packing: options.packing, maxLen: options.maxLen, padTokenID: padTokenID)
}
