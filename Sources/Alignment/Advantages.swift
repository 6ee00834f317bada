import Foundation
import Tensors

// Advantage estimators: from per-response scalar rewards, per-token KL and (for GAE) critic values
// to the per-token advantages and returns the PPO losses consume. Pure functions of their inputs,
// computed without a tape (OpenRLHF runs them under torch.no_grad), in Float32 as OpenRLHF does.
// Shapes: N = responses (rows), A = action (response-token) positions per row, right-padded.

/// How advantages are estimated from rewards: OpenRLHF's `--advantage_estimator`.
public enum AdvantageEstimator: String, Sendable, Hashable, Codable, CaseIterable {
    /// Generalized Advantage Estimation with a critic (PPO).
    case gae
    /// REINFORCE++: discounted returns of the KL-shaped token rewards, normalised over the batch.
    case reinforce
    /// RLOO: each reward minus the mean of the other rewards of its prompt (leave-one-out).
    case rloo
    /// REINFORCE++-baseline: each reward minus the mean reward of its prompt.
    case reinforceBaseline = "reinforce_baseline"
    /// GRPO: each reward standardised within its prompt's group, `(r − mean) / (std + 1e-9)`.
    case groupNorm = "group_norm"
    /// Dr. GRPO: each reward minus its group's mean, without GRPO's division by the std.
    case drGRPO = "dr_grpo"

    /// Whether the estimator compares the samples of one prompt, so it needs `nSamplesPerPrompt ≥ 2`.
    public var usesGroups: Bool {
        switch self {
        case .gae, .reinforce: return false
        case .rloo, .reinforceBaseline, .groupNorm, .drGRPO: return true
        }
    }

    /// Whether the replay buffer normalises the advantages over the whole rollout afterwards
    /// (all estimators except `groupNorm` and `drGRPO`, which are already normalised per group).
    public var normalizesAdvantagesInBuffer: Bool {
        switch self {
        case .groupNorm, .drGRPO: return false
        case .gae, .reinforce, .rloo, .reinforceBaseline: return true
        }
    }
}

/// The token-level reward: `−β·KL_t` at every position plus the (clipped) scalar reward on each
/// response's last valid token. OpenRLHF's `compute_reward`.
///
/// `r` is clamped to `rewardClipRange` first; `klCoef ≤ 0` counts as 0. The KL term is NOT
/// masked (padding keeps `−β·KL_t`, which is 0 when the KL is 0 there, as it is when log-probs
/// are zero at padding). A row without valid tokens gets its reward on the last position.
///
/// - Parameters:
///   - r: One scalar reward per response, [N].
///   - klCoef: β.
///   - kl: Per-token KL, [N, A].
///   - actionMask: 1 on generated tokens, [N, A].
/// - Returns: [N, A].
public func computeReward(
    r: Tensor, klCoef: Float, kl: Tensor, actionMask: Tensor,
    rewardClipRange: ClosedRange<Float>? = nil
) throws -> Tensor {
    let (n, a) = try rowsAndActions(kl, actionMask, function: "computeReward")
    guard r.count == n else {
        throw AlignmentError.shape(function: "computeReward", message: "\(r.count) rewards for \(n) rows of kl \(kl.shape)")
    }
    let beta = klCoef <= 0 ? 0 : klCoef
    var out = [Float](repeating: 0, count: n * a)
    for i in 0..<(n * a) { out[i] = -beta * kl.data[i] }
    for row in 0..<n {
        var reward = r.data[row]
        if let range = rewardClipRange { reward = Swift.min(Swift.max(reward, range.lowerBound), range.upperBound) }
        let eos = row * a + lastValidIndex(actionMask, row: row, a: a)
        out[eos] = reward + out[eos]
    }
    return Tensor(shape: kl.shape, data: out)
}

/// Generalized Advantage Estimation (Schulman et al. 2016, https://arxiv.org/abs/1506.02438),
/// as OpenRLHF's `get_advantages_and_returns`.
///
/// Values and rewards are first multiplied by the mask; then, backwards over all A positions with
/// `V_A = 0` and `Â_A = 0`:
///
///     δ_t = r_t + γ V_{t+1} − V_t
///     Â_t = δ_t + γ λ Â_{t+1}
///     R_t = Â_t + V_t
///
/// so that
///
///     Â_t = r_t + γλ r_{t+1} + (γλ)² r_{t+2} + …  − V_t + γ(1−λ) V_{t+1} + γ²λ(1−λ) V_{t+2} + …
///
/// With right padding every padded position gets `Â = 0` and `R = 0`.
///
/// - Parameters:
///   - values: Critic values V_t, [N, A].
///   - rewards: Token rewards r_t (``computeReward(r:klCoef:kl:actionMask:rewardClipRange:)``), [N, A].
///   - actionMask: 1 on generated tokens, [N, A].
///   - gamma: γ, the discount.
///   - lambd: λ, the GAE trade-off between bias (0) and variance (1).
/// - Returns: Advantages Â and returns R (the critic's targets), both [N, A].
public func gae(values: Tensor, rewards: Tensor, actionMask: Tensor, gamma: Float, lambd: Float) throws
    -> (advantages: Tensor, returns: Tensor)
{
    let (n, a) = try rowsAndActions(rewards, actionMask, function: "gae")
    guard values.shape == rewards.shape else {
        throw AlignmentError.shape(function: "gae", message: "values \(values.shape) do not match rewards \(rewards.shape)")
    }
    let gammaLambda = gamma * lambd
    var advantages = [Float](repeating: 0, count: n * a)
    var returns = advantages
    for row in 0..<n {
        var lastGAELam: Float = 0
        for t in stride(from: a - 1, through: 0, by: -1) {
            let i = row * a + t
            let m = actionMask.data[i]
            let v = m * values.data[i]
            let nextValue: Float = t < a - 1 ? actionMask.data[i + 1] * values.data[i + 1] : 0
            let delta = m * rewards.data[i] + gamma * nextValue - v
            lastGAELam = delta + gammaLambda * lastGAELam
            advantages[i] = lastGAELam
            returns[i] = lastGAELam + v
        }
    }
    return (Tensor(shape: rewards.shape, data: advantages), Tensor(shape: rewards.shape, data: returns))
}

/// Discounted returns of the masked token rewards, `G_t = r_t + γ G_{t+1}` with `G_A = 0`:
/// OpenRLHF's `get_cumulative_returns`, the advantages of every estimator but GAE.
///
/// - Returns: [N, A].
public func cumulativeReturns(rewards: Tensor, actionMask: Tensor, gamma: Float) throws -> Tensor {
    let (n, a) = try rowsAndActions(rewards, actionMask, function: "cumulativeReturns")
    var returns = [Float](repeating: 0, count: n * a)
    for row in 0..<n {
        var g: Float = 0
        for t in stride(from: a - 1, through: 0, by: -1) {
            let i = row * a + t
            g = actionMask.data[i] * rewards.data[i] + gamma * g
            returns[i] = g
        }
    }
    return Tensor(shape: rewards.shape, data: returns)
}

/// The scalar rewards after the estimator's per-prompt baseline: OpenRLHF's reward shaping in
/// `compute_advantages_and_returns`.
///
/// Responses are grouped in consecutive runs of `nSamplesPerPrompt` (the order rollouts produce).
/// - `rloo`: `r − (Σ_group r − r) / (n − 1)`
/// - `reinforceBaseline`, `drGRPO`: `r − mean_group(r)`
/// - `groupNorm`: `(r − mean_group(r)) / (std_group(r) + 1e-9)`, unbiased std (n − 1), so a group
///   of equal rewards gives 0
/// - `gae`, `reinforce`: unchanged
///
/// - Throws: ``AlignmentError/groupTooSmall(estimator:nSamplesPerPrompt:)`` for a group estimator
///   with `nSamplesPerPrompt == 1` (OpenRLHF v0.7.0 divided by zero there), and
///   ``AlignmentError/invalidArgument(function:message:)`` when the rewards do not split into groups.
public func shapedRewards(_ rewards: Tensor, estimator: AdvantageEstimator, nSamplesPerPrompt: Int) throws -> Tensor {
    guard nSamplesPerPrompt >= 1 else {
        throw AlignmentError.invalidArgument(function: "shapedRewards", message: "nSamplesPerPrompt must be at least 1, got \(nSamplesPerPrompt)")
    }
    guard estimator.usesGroups else { return Tensor(shape: rewards.shape, data: rewards.data) }
    guard nSamplesPerPrompt >= 2 else {
        throw AlignmentError.groupTooSmall(estimator: estimator.rawValue, nSamplesPerPrompt: nSamplesPerPrompt)
    }
    guard rewards.rank == 1, rewards.count % nSamplesPerPrompt == 0 else {
        throw AlignmentError.invalidArgument(
            function: "shapedRewards",
            message: "\(rewards.count) rewards (shape \(rewards.shape)) do not split into groups of nSamplesPerPrompt = \(nSamplesPerPrompt)")
    }
    let k = nSamplesPerPrompt
    var out = rewards.data
    for start in stride(from: 0, to: rewards.count, by: k) {
        let group = Array(rewards.data[start..<(start + k)])
        var total: Float = 0
        for r in group { total += r }
        let mean = total / Float(k)
        var std: Float = 0
        if estimator == .groupNorm {
            var squares: Float = 0
            for r in group { squares += (r - mean) * (r - mean) }
            std = (squares / Float(k - 1)).squareRoot()
        }
        for (j, r) in group.enumerated() {
            switch estimator {
            case .rloo: out[start + j] = r - (total - r) / Float(k - 1)
            case .reinforceBaseline, .drGRPO: out[start + j] = r - mean
            case .groupNorm: out[start + j] = (r - mean) / (std + 1e-9)
            case .gae, .reinforce: break
            }
        }
    }
    return Tensor(shape: rewards.shape, data: out)
}

/// The replay buffer's advantage normalisation over a whole rollout: OpenRLHF's
/// `NaiveReplayBuffer.normalize("advantages")`.
///
/// `mean = Σ(all entries, padding included) / Σ mask`, `var = Σ (a − mean)² · mask / Σ mask`,
/// `a' = (a − mean) / sqrt(max(var, 1e-8))` (or `a − mean` without `divideByStd`) at every
/// position, padding included. The sum includes padding on purpose (it is OpenRLHF's): the
/// advantages of every estimator are 0 at right padding, so it does not matter there.
/// Apply it only where ``AdvantageEstimator/normalizesAdvantagesInBuffer`` says so.
///
/// - Parameters:
///   - advantages: The rollout's micro-batches, each [N_i, A_i].
///   - actionMasks: Their masks, same shapes.
/// - Returns: The normalised micro-batches, same shapes.
public func replayBufferNormalize(_ advantages: [Tensor], actionMasks: [Tensor], divideByStd: Bool = true) throws -> [Tensor] {
    guard advantages.count == actionMasks.count,
        zip(advantages, actionMasks).allSatisfy({ $0.shape == $1.shape })
    else {
        throw AlignmentError.shape(
            function: "replayBufferNormalize",
            message: "advantages \(advantages.map(\.shape)) and masks \(actionMasks.map(\.shape)) must pair up")
    }
    var total = 0.0, count = 0.0
    for (x, m) in zip(advantages, actionMasks) {
        for v in x.data { total += Double(v) }
        for v in m.data where v != 0 { count += 1 }
    }
    count = Swift.max(count, 1)  // no valid action at all: avoid 0/0 (PyTorch would give NaN)
    let mean = Float(total) / Float(count)
    var rstd: Float = 1
    if divideByStd {
        var squares = 0.0
        for (x, m) in zip(advantages, actionMasks) {
            for i in 0..<x.count { squares += Double((x.data[i] - mean) * (x.data[i] - mean) * m.data[i]) }
        }
        rstd = 1 / Swift.max(Float(squares) / Float(count), 1e-8).squareRoot()
    }
    return advantages.map { x in Tensor(shape: x.shape, data: x.data.map { ($0 - mean) * rstd }) }
}

/// ``replayBufferNormalize(_:actionMasks:divideByStd:)`` for a rollout held in one tensor [N, A].
public func replayBufferNormalize(_ advantages: Tensor, actionMask: Tensor, divideByStd: Bool = true) throws -> Tensor {
    try replayBufferNormalize([advantages], actionMasks: [actionMask], divideByStd: divideByStd)[0]
}

/// Everything the experience maker derives from one rollout's rewards.
public struct AdvantageOutput {
    /// The scalar rewards after the estimator's group baseline, [N].
    public var shapedRewards: Tensor
    /// `computeReward` of the shaped rewards: KL penalty everywhere, reward on the last token, [N, A].
    public var tokenRewards: Tensor
    /// The critic's targets (GAE) or the discounted returns (other estimators), [N, A].
    public var returns: Tensor
    /// The advantages as the experience maker computes them, [N, A].
    public var advantages: Tensor
    /// The advantages the policy loss uses: after the replay buffer's normalisation for the
    /// estimators that apply it, else equal to `advantages`, [N, A].
    public var normalizedAdvantages: Tensor
    /// `tokenRewards` summed over each row (padding included), logged as "return", [N].
    public var infoReturn: Tensor
}

/// Advantages and returns for a rollout, as OpenRLHF v0.7.0's experience maker and replay buffer
/// compute them for each `advantage_estimator`.
///
/// 1. ``shapedRewards(_:estimator:nSamplesPerPrompt:)`` applies the group baseline;
/// 2. ``computeReward(r:klCoef:kl:actionMask:rewardClipRange:)`` clips the *shaped* reward and
///    adds the KL penalty;
/// 3. `gae` uses ``gae(values:rewards:actionMask:gamma:lambd:)``; the others use
///    ``cumulativeReturns(rewards:actionMask:gamma:)`` as both returns and advantages;
/// 4. ``replayBufferNormalize(_:actionMask:divideByStd:)`` where the estimator applies it.
///
/// - Parameters:
///   - rewards: One scalar reward per response, [N], grouped by prompt in runs of `nSamplesPerPrompt`.
///   - kl: Per-token KL, [N, A] (zeros when the KL is a loss term instead, `use_kl_loss`).
///   - actionMask: [N, A].
///   - values: Critic values [N, A]; required for `gae`, ignored otherwise.
///   - klCoef: β of the KL penalty (the controller's value).
///   - rewardClipRange: OpenRLHF's default is `-10...10`.
///   - gamma: Must be 1 for the group estimators (OpenRLHF overrides it with a warning; here it
///     is an error).
/// - Throws: ``AlignmentError/groupTooSmall(estimator:nSamplesPerPrompt:)`` and shape errors.
public func computeAdvantagesAndReturns(
    estimator: AdvantageEstimator, rewards: Tensor, kl: Tensor, actionMask: Tensor, values: Tensor? = nil,
    klCoef: Float, rewardClipRange: ClosedRange<Float>? = -10...10, gamma: Float = 1, lambd: Float = 0.95,
    nSamplesPerPrompt: Int = 1, divideByStd: Bool = true
) throws -> AdvantageOutput {
    if estimator.usesGroups && gamma != 1 {
        throw AlignmentError.invalidArgument(
            function: "computeAdvantagesAndReturns",
            message: "\(estimator.rawValue) needs gamma = 1 (its baseline-shaped reward sits on the last token), got \(gamma)")
    }
    let shaped = try shapedRewards(rewards, estimator: estimator, nSamplesPerPrompt: nSamplesPerPrompt)
    let tokenRewards = try computeReward(r: shaped, klCoef: klCoef, kl: kl, actionMask: actionMask, rewardClipRange: rewardClipRange)
    let advantages: Tensor, returns: Tensor
    if estimator == .gae {
        guard let values else {
            throw AlignmentError.invalidArgument(function: "computeAdvantagesAndReturns", message: "gae needs the critic's values")
        }
        (advantages, returns) = try gae(values: values, rewards: tokenRewards, actionMask: actionMask, gamma: gamma, lambd: lambd)
    } else {
        returns = try cumulativeReturns(rewards: tokenRewards, actionMask: actionMask, gamma: gamma)
        advantages = returns.detached()
    }
    let normalized =
        estimator.normalizesAdvantagesInBuffer
        ? try replayBufferNormalize(advantages, actionMask: actionMask, divideByStd: divideByStd)
        : advantages.detached()
    let infoReturn = try Tensor.withNoGrad { try tokenRewards.sum(axis: -1) }
    return AdvantageOutput(
        shapedRewards: shaped, tokenRewards: tokenRewards, returns: returns, advantages: advantages,
        normalizedAdvantages: normalized, infoReturn: infoReturn)
}

/// (N, A) of a per-token tensor and its mask, checked to agree.
func rowsAndActions(_ x: Tensor, _ mask: Tensor, function: String) throws -> (Int, Int) {
    guard x.rank == 2, mask.shape == x.shape else {
        throw AlignmentError.shape(function: function, message: "expected [N, A] tensors of one shape, got \(x.shape) and mask \(mask.shape)")
    }
    return (x.shape[0], x.shape[1])
}

/// The last position of `row` whose mask is ≥ 1, or A − 1 when there is none (as
/// `A − 1 − argmax(fliplr(mask.long()))`).
func lastValidIndex(_ mask: Tensor, row: Int, a: Int) -> Int {
    for t in stride(from: a - 1, through: 0, by: -1) where Int(mask.data[row * a + t]) >= 1 { return t }
    return a - 1
}
