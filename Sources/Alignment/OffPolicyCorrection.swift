import Foundation
import Tensors

// Sequence-level masking for off-policy correction, as OpenRLHF v0.11.0's `PolicyLoss` with
// `vllm_is_correction_type="seq-mask-tis"` (`--algo.advantage.is_correction_type seq-mask-tis`,
// thresholds `--algo.advantage.is_correction_threshold low high`): when the sampler's log-probs
// (quantized or bf16 decode weights, several epochs per rollout) drift from the training forward's,
// a whole sequence whose geometric-mean importance weight π_old / π_sampler leaves [low, high] is
// dropped from the loss, and the tokens of the others are weighted by their own π_old / π_sampler.
// See https://fengyao.notion.site/off-policy-rl for the motivation.

/// The per-token weights of sequence-level masking, a constant [B, A]:
/// `w_t = 1[low ≤ exp(mean_t r_t) ≤ high] · exp(r_t)` with `r_t = log π_old − log π_sampler` and
/// the mean over the row's valid actions (a row without any is masked). Multiplies the PPO loss
/// per token; masked rows still count in a token mean's denominator, as in OpenRLHF.
public func sequenceMaskedImportanceWeights(
    oldLogProbs: Tensor, rolloutLogProbs: Tensor?, actionMask: Tensor?, low: Float, high: Float
) throws -> Tensor {
    guard let rolloutLogProbs, rolloutLogProbs.shape == oldLogProbs.shape, oldLogProbs.rank == 2 else {
        throw AlignmentError.shape(
            function: "sequenceMaskedImportanceWeights",
            message: "seqMaskTIS needs the sampler's log-probs shaped as oldLogProbs [B, A] \(oldLogProbs.shape), "
                + "got \(rolloutLogProbs?.shape ?? [])")
    }
    if let actionMask, actionMask.shape != oldLogProbs.shape {
        throw AlignmentError.shape(
            function: "sequenceMaskedImportanceWeights", message: "actionMask \(actionMask.shape) must match \(oldLogProbs.shape)")
    }
    guard low >= 0, low <= high, high.isFinite else {
        throw AlignmentError.invalidArgument(
            function: "sequenceMaskedImportanceWeights", message: "thresholds must satisfy 0 ≤ low ≤ high < ∞, got [\(low), \(high)]")
    }
    let rows = oldLogProbs.shape[0], columns = oldLogProbs.shape[1]
    var weights = [Float](repeating: 0, count: rows * columns)
    for i in 0..<rows {
        var sum: Float = 0, count: Float = 0
        for j in 0..<columns {
            let k = i * columns + j, m = actionMask?.data[k] ?? 1
            sum += (oldLogProbs.data[k] - rolloutLogProbs.data[k]) * m
            count += m
        }
        guard count > 0 else { continue }
        let sequenceWeight = Foundation.exp(sum / count)
        guard sequenceWeight >= low && sequenceWeight <= high else { continue }
        for j in 0..<columns {
            let k = i * columns + j
            weights[k] = Foundation.exp(oldLogProbs.data[k] - rolloutLogProbs.data[k])
        }
    }
    return Tensor(shape: oldLogProbs.shape, data: weights)
}
