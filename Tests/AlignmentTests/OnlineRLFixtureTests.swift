// The online RL math (PPO losses, KL estimators, rewards, advantage estimators, masked
// reductions, KL controllers) against OpenRLHF v0.7.0, one `check` per op in every reference folder.

import Alignment
import FixtureSupport
import Foundation
import Testing
import Tensors

@Suite struct OnlineRLFixtureTests {
    @Test(arguments: ReferenceCase.all("policy_loss.json"))
    func policyLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let tokenLevel = try f.params.child("token_level_loss").bool(c.caseName)
            let logProbs = try f.inputs.tensor("log_probs", requiresGrad: true)
            let loss = try policyLoss(
                logProbs: logProbs, oldLogProbs: f.inputs.tensor("old_log_probs"),
                advantages: f.inputs.tensor("advantages"), actionMask: f.inputs.tensor("action_mask"),
                clipEpsLow: Float(f.params.double("clip_eps")), clipEpsHigh: Float(f.params.double("clip_eps")),
                aggregation: tokenLevel ? .tokenMean : .sequenceMean)
            try loss.backward()
            return ["loss": loss, "grad_log_probs": logProbs.gradOrZeros]
        }
    }

    @Test(arguments: ReferenceCase.all("value_loss.json"))
    func valueLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let values = try f.inputs.tensor("values", requiresGrad: true)
            let loss = try valueLoss(
                values: values, oldValues: f.inputs.tensor("old_values"), returns: f.inputs.tensor("returns"),
                actionMask: f.inputs.tensor("action_mask"), clipEps: f.params.optionalDouble("clip_eps").map(Float.init),
                aggregation: f.params.bool("token_level_loss") ? .tokenMean : .sequenceMean)
            try loss.backward()
            return ["loss": loss, "grad_values": values.gradOrZeros]
        }
    }

    @Test(arguments: ReferenceCase.cases("approx_kl.json") { f in (f.params.value("kl_estimator") as? [String]) ?? [] })
    func approxKLMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let name = try c.caseName
            let estimator = try #require(KLEstimator(rawValue: name), "unknown estimator \(name)")
            let logProbs = try f.inputs.tensor("log_probs", requiresGrad: true)
            let mask = try f.inputs.tensor("action_mask")
            let kl = try computeApproxKL(logProbs: logProbs, logProbsBase: f.inputs.tensor("log_probs_base"), estimator: estimator)
            let unmasked = try Tensor.withNoGrad { try sequenceKL(kl, actionMask: nil) }
            let masked = try Tensor.withNoGrad { try sequenceKL(kl, actionMask: mask) }
            let loss = try klLoss(kl, actionMask: mask)
            try loss.backward()
            return [
                "kl": kl, "kl_info_mean_unmasked": unmasked, "kl_seq_mean_masked": masked,
                "kl_loss": loss, "grad_log_probs_of_kl_loss": logProbs.gradOrZeros,
            ]
        }
    }

    @Test(arguments: ReferenceCase.all("compute_reward.json"))
    func computeRewardMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let p = f.params
            let reward = try computeReward(
                r: f.inputs.tensor("r"), klCoef: Float(p.double("kl_coef")), kl: f.inputs.tensor("kl"),
                actionMask: f.inputs.tensor("action_mask"), rewardClipRange: p.clipRange)
            return ["reward": reward]
        }
    }

    @Test(arguments: ReferenceCase.all("gae.json"))
    func gaeMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let (advantages, returns) = try gae(
                values: f.inputs.tensor("values"), rewards: f.inputs.tensor("rewards"),
                actionMask: f.inputs.tensor("action_mask"),
                gamma: Float(f.params.double("gamma")), lambd: Float(f.params.double("lambd")))
            return ["advantages": advantages, "returns": returns]
        }
    }

    @Test(arguments: ReferenceCase.all("cumulative_returns.json"))
    func cumulativeReturnsMatchOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            try [
                "returns": cumulativeReturns(
                    rewards: f.inputs.tensor("rewards"), actionMask: f.inputs.tensor("action_mask"),
                    gamma: Float(f.params.double("gamma")))
            ]
        }
    }

    @Test(arguments: ReferenceCase.cases("group_advantages.json") { f in (f.params.value("estimators") as? [String]) ?? [] })
    func advantageEstimatorsMatchOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let name = try c.caseName
            let estimator = try #require(AdvantageEstimator(rawValue: name), "unknown estimator \(name)")
            let p = f.params
            // OpenRLHF overrides gamma with 1 (and warns) for the group estimators; here gamma ≠ 1 is an error for them.
            let gamma = estimator.usesGroups ? 1 : try Float(p.double("gamma"))
            let out = try computeAdvantagesAndReturns(
                estimator: estimator, rewards: f.inputs.tensor("rewards"), kl: f.inputs.tensor("kl"),
                actionMask: f.inputs.tensor("action_mask"), values: f.inputs.tensor("values"),
                klCoef: Float(p.double("kl_coef")), rewardClipRange: p.clipRange, gamma: gamma,
                lambd: Float(p.double("lambd")), nSamplesPerPrompt: Int(p.double("n_samples_per_prompt")),
                divideByStd: p.bool("divide_by_std"))
            return [
                "shaped_rewards": out.shapedRewards, "token_rewards": out.tokenRewards, "returns": out.returns,
                "advantages": out.advantages, "advantages_after_buffer_normalize": out.normalizedAdvantages,
                "buffer_normalized": estimator.normalizesAdvantagesInBuffer, "info_return": out.infoReturn,
            ]
        }
    }

    /// The replay buffer normalises per micro-batch list exactly as over one tensor.
    @Test(arguments: ReferenceCase.all("group_advantages.json", casesUnder: nil))
    func bufferNormalizationOverMicroBatchesEqualsOneTensor(_ c: ReferenceCase) throws {
        let f = try c.load()
        let a = try f.expected.child("gae").tensor("advantages"), m = try f.inputs.tensor("action_mask")
        let rows = a.shape[0], half = rows / 2
        let whole = try replayBufferNormalize(a, actionMask: m)
        let parts = try replayBufferNormalize(
            [a.slice(axis: 0, 0..<half), a.slice(axis: 0, half..<rows)],
            actionMasks: [m.slice(axis: 0, 0..<half), m.slice(axis: 0, half..<rows)])
        let problem = mismatch(parts[0].data + parts[1].data, whole.data.map(Double.init), rtol: 1e-6, atol: 1e-6, label: "split")
        #expect(problem == nil, "\(problem ?? "")")
    }

    @Test(arguments: ReferenceCase.cases("masked_ops.json") { f in f.expected.keys })
    func maskedOpsMatchOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let name = try c.caseName
            let x = try f.inputs.tensor("x"), mask = try f.inputs.tensor("mask")
            let result: Tensor
            switch name {
            case "masked_mean_all": result = try maskedMean(x, mask: mask)
            case "masked_mean_rows": result = try maskedMean(x, mask: mask, axis: -1)
            case "mean_no_mask_rows": result = try maskedMean(x, mask: nil, axis: -1)
            case "mean_no_mask_all": result = try maskedMean(x, mask: nil)
            case let n where n.hasPrefix("masked_normalize"):
                #expect(try f.params.optionalDouble("dim") == nil, "only dim=None is recorded")
                result = try maskedNormalize(x, mask: mask, eps: Float(f.params.double("eps")))
            case let n where n.hasPrefix("buffer_normalize"):
                result = try replayBufferNormalize(
                    f.inputs.tensor(f.params.string("input")), actionMask: mask,
                    divideByStd: f.params.bool("divide_by_std"))
            default:
                throw FixtureError.comparisonFailed("\(c.description): unknown masked op '\(name)'")
            }
            return [name: result]
        }
    }

    @Test(arguments: ReferenceCase.all("adaptive_kl.json", casesUnder: nil))
    func klControllersMatchOpenRLHF(_ c: ReferenceCase) throws {
        try c.check(tolerances: ["value_after_each_update": Tolerance(rtol: 1e-12, atol: 0), "fixed_value_after_update": .exact]) { f in
            let p = f.params
            let current = try f.inputs.array("current_kl").values, steps = try f.inputs.array("n_steps").ints
            #expect(current.count == steps.count)
            var adaptive = try AdaptiveKLController(
                initKLCoef: p.double("init_kl_coef"), klTarget: p.double("target"),
                klHorizon: p.double("horizon"))
            var fixed = try FixedKLController(klCoef: p.double("init_kl_coef"))
            var values: [Double] = []
            for (kl, n) in zip(current, steps) {
                adaptive.update(current: kl, nSteps: n)
                fixed.update(current: kl, nSteps: n)
                values.append(adaptive.value)
            }
            return ["value_after_each_update": values, "fixed_value_after_update": fixed.value]
        }
    }
}

extension Fixture {
    /// `reward_clip_range` as a closed range; nil when JSON null or absent.
    var clipRange: ClosedRange<Float>? {
        (value("reward_clip_range") as? [NSNumber]).map { Float($0[0].doubleValue)...Float($0[1].doubleValue) }
    }
}
