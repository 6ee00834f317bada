import Foundation
import Tensors

// Proximal Policy Optimization: the clipped surrogate policy loss and the clipped value loss
// (Schulman et al. 2017, https://arxiv.org/abs/1707.06347).
// Shapes: B = rows (responses), A = action (response-token) positions per row.

/// The PPO clipped surrogate loss, Eq. 7 of Schulman et al. (2017):
/// `L = −min(ρ_t Â_t, clip(ρ_t, 1 − ε, 1 + ε) Â_t)` with `ρ_t = exp(log π − log π_old)`,
/// reduced over the valid actions.
///
/// OpenRLHF's `PolicyLoss`. For GRPO, RLOO, REINFORCE++ and Dr. GRPO the same loss is used with
/// their advantages. `.tokenMean` (OpenRLHF's default) or `.sequenceMean`; for gradient
/// accumulation give the global count (``LossAggregation``).
///
/// - Parameters:
///   - logProbs: log π(a_t) under the current policy, [B, A]; differentiated.
///   - oldLogProbs: log π_old(a_t) from the rollout, [B, A].
///   - advantages: Â_t, [B, A].
///   - actionMask: 1 on generated tokens, [B, A]; nil counts every position.
///   - clipEps: ε.
public func policyLoss(
    logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor, actionMask: Tensor?,
    clipEps: Float = 0.2, aggregation: LossAggregation = .tokenMean
) throws -> Tensor {
    let ratio = try (logProbs - oldLogProbs).exp()
    let surr1 = try ratio * advantages
    let surr2 = try ratio.clamp(min: 1 - clipEps, max: 1 + clipEps) * advantages
    let loss = try -minimum(surr1, surr2)
    return try aggregateLoss(loss, mask: actionMask, aggregation)
}

/// The fraction of valid actions whose ratio was clipped (the surrogate took the clipped branch):
/// `ρ_t Â_t > clip(ρ_t) Â_t`. For logging; not differentiable.
public func policyClipFraction(
    logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor, actionMask: Tensor?,
    clipEps: Float = 0.2
) throws -> Float {
    guard logProbs.shape == oldLogProbs.shape, logProbs.shape == advantages.shape,
        actionMask.map({ $0.shape == logProbs.shape }) ?? true
    else {
        throw AlignmentError.shape(
            function: "policyClipFraction",
            message:
                "logProbs \(logProbs.shape), oldLogProbs \(oldLogProbs.shape), advantages \(advantages.shape) and actionMask \(actionMask?.shape ?? []) must agree"
        )
    }
    var clipped = 0.0, total = 0.0
    for i in 0..<logProbs.count {
        let m = Double(actionMask?.data[i] ?? 1)
        let ratio = Foundation.exp(logProbs.data[i] - oldLogProbs.data[i])
        let a = advantages.data[i]
        let bounded = Swift.min(Swift.max(ratio, 1 - clipEps), 1 + clipEps)
        if ratio * a > bounded * a { clipped += m }
        total += m
    }
    return total > 0 ? Float(clipped / total) : 0
}

/// The PPO value loss, clipped around the rollout's values when `clipEps` is given:
/// `L = ½ · mean(max((V_old + clip(V − V_old, −ε, ε) − R)², (V − R)²))`, or `½ · mean((V − R)²)`.
///
/// OpenRLHF's `ValueLoss`: the ½ is applied after the reduction.
///
/// - Parameters:
///   - values: V(s_t) under the current critic, [B, A]; differentiated.
///   - oldValues: V_old(s_t) from the rollout, [B, A].
///   - returns: Targets R_t, [B, A].
///   - actionMask: 1 on generated tokens; nil counts every position.
///   - clipEps: ε, or nil for the unclipped loss.
public func valueLoss(
    values: Tensor, oldValues: Tensor, returns: Tensor, actionMask: Tensor?,
    clipEps: Float? = nil, aggregation: LossAggregation = .tokenMean
) throws -> Tensor {
    let loss: Tensor
    if let clipEps {
        let valuesClipped = try oldValues + (values - oldValues).clamp(min: -clipEps, max: clipEps)
        let surr1 = try (valuesClipped - returns).square()
        let surr2 = try (values - returns).square()
        loss = try maximum(surr1, surr2)
    } else {
        loss = try (values - returns).square()
    }
    return try aggregateLoss(loss, mask: actionMask, aggregation) * 0.5
}
