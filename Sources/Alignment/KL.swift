import Foundation
import Tensors

// Per-token estimators of KL(π ‖ π_ref) from samples of π, and the reductions the trainers log
// and optimise (Schulman, "Approximating KL divergence", http://joschu.net/blog/kl-approx.html).
// Shapes: B = rows (responses), A = action positions per row.

/// Which sample estimator of KL(π ‖ π_ref) to use, with `d = log π(a) − log π_ref(a)`, a ~ π.
public enum KLEstimator: String, Sendable, Hashable, Codable, CaseIterable {
    /// `k1 = d`: unbiased, can be negative per token.
    case k1
    /// `k2 = d² / 2`: biased, non-negative, low variance.
    case k2
    /// `k3 = exp(−d) − 1 + d`: unbiased and non-negative (the GRPO paper's estimator).
    case k3
}

/// The per-token approximate KL: OpenRLHF's `compute_approx_kl` (Schulman's k1, k2, k3).
///
/// OpenRLHF v0.7.0 takes no mask and relies on the log-probs being 0 at padding (so `d = 0`
/// there and every estimator gives 0). Passing `actionMask` multiplies the result by it, which
/// is the same when the padding is zero and safe when it is not.
///
/// - Parameters:
///   - logProbs: log π(a_t), [B, A]; differentiated (the `use_kl_loss` path).
///   - logProbsBase: log π_ref(a_t), [B, A].
/// - Returns: [B, A].
public func computeApproxKL(
    logProbs: Tensor, logProbsBase: Tensor, estimator: KLEstimator = .k1,
    actionMask: Tensor? = nil
) throws -> Tensor {
    let logRatio = try logProbs - logProbsBase
    let kl: Tensor
    switch estimator {
    case .k1: kl = logRatio
    case .k2: kl = logRatio.square() * 0.5
    case .k3:
        let negative = -logRatio
        kl = try negative.exp() - 1 - negative
    }
    guard let actionMask else { return kl }
    return try kl * actionMask
}

/// The mean KL per token of each response, over its valid tokens only: `Σ_t kl·mask / Σ_t mask`.
///
/// This is the KL swift-rlhf logs and feeds the ``AdaptiveKLController``: a per-token KL that
/// does not shrink when a response is shorter than the padded length. OpenRLHF v0.7.0 logs (and
/// feeds its controller) the mean over the padded length instead, `masked_mean(kl, None, -1)`;
/// `sequenceKL(kl, actionMask: nil)` reproduces that value.
///
/// - Parameters:
///   - kl: Per-token KL, [B, A] (from ``computeApproxKL(logProbs:logProbsBase:estimator:actionMask:)``).
///   - actionMask: 1 on generated tokens, [B, A]; nil averages over all A positions (v0.7.0).
/// - Returns: [B].
public func sequenceKL(_ kl: Tensor, actionMask: Tensor?) throws -> Tensor {
    try maskedMean(kl, mask: actionMask, axis: -1)
}

/// The KL penalty used as a loss term (OpenRLHF `use_kl_loss`, as in GRPO):
/// the aggregation of the per-token KL over the valid tokens.
///
/// OpenRLHF v0.7.0 takes the mean over rows of each row's masked mean (`.sequenceMean`, the
/// default here); `.tokenMean` weighs every token the same. For gradient accumulation give the
/// global count (``LossAggregation``).
public func klLoss(_ kl: Tensor, actionMask: Tensor?, aggregation: LossAggregation = .sequenceMean) throws -> Tensor {
    try aggregateLoss(kl, mask: actionMask, aggregation)
}
