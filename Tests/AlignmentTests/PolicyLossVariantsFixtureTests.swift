// What OpenRLHF added to the policy loss and the reward after v0.7.0 — clip-higher, dual-clip,
// GSPO, truncated importance sampling, sequence-level masking, the overlong penalty — against
// OpenRLHF v0.11.0, one `check` per op in every reference folder.

import Alignment
import FixtureSupport
import Foundation
import Testing
import Tensors

@Suite struct PolicyLossVariantsFixtureTests {
    @Test(arguments: ReferenceCase.all("policy_loss_clip_higher.json"))
    func clipHigherMatchesOpenRLHF(_ c: ReferenceCase) throws { try c.check { f in try Self.policyLossCase(f) } }

    @Test(arguments: ReferenceCase.all("policy_loss_dual_clip.json"))
    func dualClipMatchesOpenRLHF(_ c: ReferenceCase) throws { try c.check { f in try Self.policyLossCase(f) } }

    @Test(arguments: ReferenceCase.all("gspo_loss.json"))
    func gspoMatchesOpenRLHF(_ c: ReferenceCase) throws { try c.check { f in try Self.policyLossCase(f, type: .gspo) } }

    @Test(arguments: ReferenceCase.all("tis_policy_loss.json"))
    func truncatedImportanceSamplingMatchesOpenRLHF(_ c: ReferenceCase) throws { try c.check { f in try Self.policyLossCase(f) } }

    @Test(arguments: ReferenceCase.all("seq_mask_tis_policy_loss.json"))
    func sequenceMaskingMatchesOpenRLHF(_ c: ReferenceCase) throws { try c.check { f in try Self.policyLossCase(f) } }

    @Test(arguments: ReferenceCase.all("overlong_penalty.json"))
    func overlongPenaltyMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let lengths = try f.inputs.array("response_length").floats.map { Int($0) }
            let rewards = try f.inputs.tensor("rewards").data.map(Double.init)
            let maxNewTokens = Int(try f.file.params.double("max_new_tokens"))
            let penalties = try lengths.map {
                try overlongPenalty(
                    responseLength: $0, maxNewTokens: maxNewTokens, overlongBufferLen: f.params.double("overlong_buffer_len"),
                    overlongPenaltyFactor: f.params.double("overlong_penalty_factor"))
            }
            return [
                "penalty": penalties, "rewards": zip(rewards, penalties).map { Float($0 + $1) },
                "num_penalized": penalties.filter { $0 < 0 }.count,
            ]
        }
    }

    /// `policyLoss` and `policyClipFraction` with the case's clips, dual clip, TIS cap and
    /// aggregation (GSPO: OpenRLHF's sequence mean).
    static func policyLossCase(_ f: CaseFixture, type: PolicyLossType = .ppo) throws -> [String: any ReferenceValue] {
        func param(_ key: String) throws -> Double? { f.params.has(key) ? try f.params.double(key) : nil }
        let low = Float(try param("clip_eps_low") ?? 0.2), high = Float(try param("clip_eps_high") ?? 0.2)
        let tokenLevel = try type == .ppo && (f.params.has("token_level_loss") ? f.params.bool("token_level_loss") : true)
        let logProbs = try f.inputs.tensor("log_probs", requiresGrad: true)
        let old = try f.inputs.tensor("old_log_probs"), advantages = try f.inputs.tensor("advantages")
        let mask = try f.inputs.tensor("action_mask")
        let loss = try policyLoss(
            logProbs: logProbs, oldLogProbs: old, advantages: advantages, actionMask: mask, clipEpsLow: low, clipEpsHigh: high,
            dualClip: param("dual_clip").map(Float.init), type: type,
            rolloutLogProbs: f.inputs.has("rollout_log_probs") ? f.inputs.tensor("rollout_log_probs") : nil,
            tisCap: param("tis_cap").map(Float.init),
            seqMaskTIS: try param("low").map { (Float($0), Float(try param("high")!)) },
            aggregation: tokenLevel ? .tokenMean : .sequenceMean)
        try loss.backward()
        let clipRatio = try policyClipFraction(
            logProbs: logProbs, oldLogProbs: old, advantages: advantages, actionMask: mask, clipEpsLow: low, clipEpsHigh: high, type: type)
        return ["loss": loss, "clip_ratio": clipRatio, "grad_log_probs": logProbs.gradOrZeros]
    }
}
