import Foundation
import Tensors

// Proximal Policy Optimization: the clipped surrogate policy loss and the clipped value loss
// (Schulman et al. 2017, https://arxiv.org/abs/1707.06347), with what OpenRLHF v0.11.0's
// `PolicyLoss` adds to it: separate low and high clip bounds (DAPO's clip-higher, Yu et al. 2025),
// dual-clip for negative advantages (Ye et al. 2019, https://arxiv.org/abs/1912.09729), GSPO's
// sequence-level ratio (Zheng et al. 2025, https://arxiv.org/abs/2507.18071) and truncated
// importance sampling against the sampler's log-probs (Yao et al. 2025, "Your efficient RL
// framework secretly brings you off-policy RL training").
// Shapes: B = rows (responses), A = action (response-token) positions per row.

/// Which importance ratio the policy loss clips: OpenRLHF's `policy_loss_type`.
public enum PolicyLossType: String, Sendable, Hashable, Codable, CaseIterable {
    /// Per-token ratio `ρ_t = exp(log π − log π_old)` (PPO).
    case ppo
    /// One ratio per sequence, `s = exp(mean_t(log π − log π_old))` over its valid tokens (GSPO).
    case gspo
}

/// The importance ratios the policy loss clips, [B, A]: per token for `.ppo` (the log-ratio
/// clamped to ±20 first, as OpenRLHF v0.11.0 does), the row's length-normalised sequence ratio at
/// each valid token (0 at padding) for `.gspo`.
public func policyRatio(logProbs: Tensor, oldLogProbs: Tensor, actionMask: Tensor?, type: PolicyLossType = .ppo) throws -> Tensor {
    guard logProbs.shape == oldLogProbs.shape, actionMask.map({ $0.shape == logProbs.shape }) ?? true else {
        throw AlignmentError.shape(
            function: "policyRatio",
            message: "logProbs \(logProbs.shape), oldLogProbs \(oldLogProbs.shape) and actionMask \(actionMask?.shape ?? []) must agree")
    }
    let logRatio = try logProbs - oldLogProbs
    switch type {
    case .ppo:
        return logRatio.clamp(min: -20, max: 20).exp()
    case .gspo:
        guard logProbs.rank == 2 else {
            throw AlignmentError.shape(function: "policyRatio", message: "gspo needs [B, A] log-probs, got \(logProbs.shape)")
        }
        let mask = actionMask ?? Tensor.ones(logProbs.shape)
        let lengths = try mask.sum(axis: -1)
        let counts = Tensor(shape: [logProbs.shape[0], 1], data: lengths.data.map { Swift.max($0, 1) })
        let meanLogRatio = try (logRatio * mask).sum(axis: -1, keepDims: true) / counts
        return try meanLogRatio.exp() * mask
    }
}

/// The PPO clipped surrogate loss, Eq. 7 of Schulman et al. (2017):
/// `L = −min(ρ_t Â_t, clip(ρ_t, 1 − ε_low, 1 + ε_high) Â_t)`, reduced over the valid actions, as
/// OpenRLHF v0.11.0's `PolicyLoss`:
///
/// - `clipEpsLow`, `clipEpsHigh`: the ratio's bounds; equal for PPO, `ε_high > ε_low` is DAPO's
///   clip-higher.
/// - `dualClip` c > 1: where `Â_t < 0` the loss is `−max(min(ρÂ, clip(ρ)Â), c·Â)`, so a huge
///   ratio on a bad action cannot make the loss unbounded.
/// - `type: .gspo`: the ratio is the sequence's (``policyRatio(logProbs:oldLogProbs:actionMask:type:)``);
///   OpenRLHF then takes the sequence mean (`aggregation: .sequenceMean`).
/// - `tisCap` with `rolloutLogProbs` (the sampler's log-probs): truncated importance sampling,
///   each token's loss times `min(exp(log π_old − log π_rollout), tisCap)`, without gradient
///   (OpenRLHF v0.8.9's `vllm_is_truncated_threshold`; v0.11.0's `tis` with low bound 0). Only
///   for `.ppo`: OpenRLHF v0.11.0 corrects GSPO by another rule.
/// - `seqMaskTIS` (low, high) with `rolloutLogProbs`: sequence-level masking instead
///   (``sequenceMaskedImportanceWeights(oldLogProbs:rolloutLogProbs:actionMask:low:high:)``,
///   v0.11.0's `seq-mask-tis`); also only for `.ppo`.
///
/// For GRPO, RLOO, REINFORCE++ and Dr. GRPO the same loss is used with their advantages.
/// `.tokenMean` (OpenRLHF's default) or `.sequenceMean`; for gradient accumulation give the global
/// count (``LossAggregation``).
///
/// - Parameters:
///   - logProbs: log π(a_t) under the current policy, [B, A]; differentiated.
///   - oldLogProbs: log π_old(a_t) from the rollout's training forward, [B, A].
///   - advantages: Â_t, [B, A].
///   - actionMask: 1 on generated tokens, [B, A]; nil counts every position.
public func policyLoss(
    logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor, actionMask: Tensor?,
    clipEpsLow: Float = 0.2, clipEpsHigh: Float = 0.2, dualClip: Float? = nil, type: PolicyLossType = .ppo,
    rolloutLogProbs: Tensor? = nil, tisCap: Float? = nil, seqMaskTIS: (low: Float, high: Float)? = nil,
    aggregation: LossAggregation = .tokenMean
) throws -> Tensor {
    guard advantages.shape == logProbs.shape else {
        throw AlignmentError.shape(function: "policyLoss", message: "advantages \(advantages.shape) must match logProbs \(logProbs.shape)")
    }
    if let dualClip, !(dualClip > 1) {
        throw AlignmentError.invalidArgument(function: "policyLoss", message: "dualClip must be > 1, got \(dualClip)")
    }
    let ratio = try policyRatio(logProbs: logProbs, oldLogProbs: oldLogProbs, actionMask: actionMask, type: type)
    let surr1 = try ratio * advantages
    let surr2 = try ratio.clamp(min: 1 - clipEpsLow, max: 1 + clipEpsHigh) * advantages
    let clip1 = try minimum(surr1, surr2)
    var loss: Tensor
    if let dualClip {
        let clip2 = try maximum(clip1, advantages * dualClip)
        let negative = Tensor(shape: advantages.shape, data: advantages.data.map { $0 < 0 ? 1 : 0 })
        loss = try -`where`(negative, clip2, clip1)
    } else {
        loss = -clip1
    }
    if let tisCap {
        guard type == .ppo else {
            throw AlignmentError.invalidArgument(function: "policyLoss", message: "tisCap applies to the ppo ratio only, got \(type.rawValue)")
        }
        loss = try loss * truncatedImportanceWeights(oldLogProbs: oldLogProbs, rolloutLogProbs: rolloutLogProbs, cap: tisCap)
    }
    if let seqMaskTIS {
        guard type == .ppo, tisCap == nil else {
            throw AlignmentError.invalidArgument(
                function: "policyLoss",
                message: "seqMaskTIS applies to the ppo ratio only and replaces tisCap (got \(type.rawValue)"
                    + (tisCap == nil ? ")" : ", tisCap \(tisCap!))"))
        }
        loss =
            try loss
            * sequenceMaskedImportanceWeights(
                oldLogProbs: oldLogProbs, rolloutLogProbs: rolloutLogProbs, actionMask: actionMask, low: seqMaskTIS.low, high: seqMaskTIS.high)
    }
    return try aggregateLoss(loss, mask: actionMask, aggregation)
}

/// `min(exp(log π_old − log π_rollout), cap)` per token, a constant: the truncated importance
/// weight that corrects for the sampler (KV-cache decode) and the training forward disagreeing.
public func truncatedImportanceWeights(oldLogProbs: Tensor, rolloutLogProbs: Tensor?, cap: Float) throws -> Tensor {
    guard let rolloutLogProbs, rolloutLogProbs.shape == oldLogProbs.shape else {
        throw AlignmentError.shape(
            function: "truncatedImportanceWeights",
            message: "tisCap needs the sampler's log-probs shaped as oldLogProbs \(oldLogProbs.shape), got \(rolloutLogProbs?.shape ?? [])")
    }
    guard cap > 0 else {
        throw AlignmentError.invalidArgument(function: "truncatedImportanceWeights", message: "tisCap must be > 0, got \(cap)")
    }
    let data = zip(oldLogProbs.data, rolloutLogProbs.data).map { Swift.min(Foundation.exp($0 - $1), cap) }
    return Tensor(shape: oldLogProbs.shape, data: data)
}

/// The fraction of valid actions whose ratio was clipped (the surrogate took the clipped branch):
/// `clip(ρ_t) Â_t < ρ_t Â_t`, OpenRLHF's `clip_ratio`, with the ratio of `type`. For logging; not
/// differentiable.
public func policyClipFraction(
    logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor, actionMask: Tensor?,
    clipEpsLow: Float = 0.2, clipEpsHigh: Float = 0.2, type: PolicyLossType = .ppo
) throws -> Float {
    guard logProbs.shape == advantages.shape else {
        throw AlignmentError.shape(
            function: "policyClipFraction", message: "logProbs \(logProbs.shape) and advantages \(advantages.shape) must agree")
    }
    let ratio = try Tensor.withNoGrad {
        try policyRatio(logProbs: logProbs.detached(), oldLogProbs: oldLogProbs, actionMask: actionMask, type: type)
    }
    var clipped = 0.0, total = 0.0
    for i in 0..<ratio.count {
        let m = Double(actionMask?.data[i] ?? 1)
        let r = ratio.data[i], a = advantages.data[i]
        let bounded = Swift.min(Swift.max(r, 1 - clipEpsLow), 1 + clipEpsHigh)
        if bounded * a < r * a { clipped += m }
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
