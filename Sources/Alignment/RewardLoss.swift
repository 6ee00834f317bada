import Foundation
import Tensors

// Losses of a scalar reward model trained on preference pairs.
// Shapes: N = pairs; rewards are [N], one scalar per response.

/// The pairwise (Bradley–Terry) loss, Eq. 1 of Ouyang et al. 2022
/// (https://arxiv.org/abs/2203.02155), with the optional margin of Eq. 2 of Touvron et al. 2023
/// (https://arxiv.org/abs/2307.09288): `L = mean(−log σ(r_w − r_l − m))`. OpenRLHF's `PairWiseLoss`.
///
/// - Parameters:
///   - chosenReward: r(x, y_w), [N]; differentiated.
///   - rejectReward: r(x, y_l), [N]; differentiated.
///   - margin: m per pair, [N], or nil for none.
///   - pairCount: The pairs of the whole optimizer step, to divide the summed losses by; nil for
///     this batch's mean.
public func pairwiseLoss(chosenReward: Tensor, rejectReward: Tensor, margin: Tensor? = nil, pairCount: Int? = nil) throws -> Tensor {
    var difference = try chosenReward - rejectReward
    if let margin { difference = try difference - margin }
    return try sampleMean(-difference.logSigmoid(), count: pairCount, function: "pairwiseLoss")
}

/// The log-exp loss of Askell et al. 2021 / Bai et al. 2022 (https://arxiv.org/abs/2204.05862):
/// `L = mean(log(1 + exp(r_l − r_w)))`. OpenRLHF's `LogExpLoss`; it has no margin.
///
/// Mathematically the pairwise loss without margin; computed as `−log σ(r_w − r_l)`, which does
/// not overflow where `exp(r_l − r_w)` would.
public func logExpLoss(chosenReward: Tensor, rejectReward: Tensor, pairCount: Int? = nil) throws -> Tensor {
    try sampleMean(-(chosenReward - rejectReward).logSigmoid(), count: pairCount, function: "logExpLoss")
}
