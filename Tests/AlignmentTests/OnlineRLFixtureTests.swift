// The online RL math (PPO losses, KL estimators, rewards, advantage estimators, masked
// reductions, KL controllers) against OpenRLHF v0.7.0, in every reference folder.

import Alignment
import FixtureSupport
import Foundation
import Testing
import Tensors

@Suite struct OnlineRLFixtureTests {
    @Test(arguments: ReferenceCase.all("policy_loss.json"))
    func policyLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let tokenLevel = try f.params.child("token_level_loss").bool(name)
        let logProbs = try f.inputs.tensor("log_probs", requiresGrad: true)
        let loss = try policyLoss(logProbs: logProbs, oldLogProbs: f.inputs.tensor("old_log_probs"),
                                  advantages: f.inputs.tensor("advantages"), actionMask: f.inputs.tensor("action_mask"),
                                  clipEps: Float(f.params.double("clip_eps")), aggregation: tokenLevel ? .tokenMean : .sequenceMean)
        try loss.backward()
        try checkAll(["loss": loss.data, "grad_log_probs": gradient(logProbs)], against: f.expected.child(name), label: c.description)
    }

    @Test(arguments: ReferenceCase.all("value_loss.json"))
    func valueLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let p = f.params.child(name)
        let values = try f.inputs.tensor("values", requiresGrad: true)
        let loss = try valueLoss(values: values, oldValues: f.inputs.tensor("old_values"), returns: f.inputs.tensor("returns"),
                                 actionMask: f.inputs.tensor("action_mask"), clipEps: p.optionalDouble("clip_eps").map(Float.init),
                                 aggregation: p.bool("token_level_loss") ? .tokenMean : .sequenceMean)
        try loss.backward()
        try checkAll(["loss": loss.data, "grad_values": gradient(values)], against: f.expected.child(name), label: c.description)
    }

    @Test(arguments: ReferenceCase.cases("approx_kl.json") { f in (f.params.value("kl_estimator") as? [String]) ?? [] })
    func approxKLMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let estimator = try #require(KLEstimator(rawValue: name), "unknown estimator \(name)")
        let logProbs = try f.inputs.tensor("log_probs", requiresGrad: true)
        let mask = try f.inputs.tensor("action_mask")
        let kl = try computeApproxKL(logProbs: logProbs, logProbsBase: f.inputs.tensor("log_probs_base"), estimator: estimator)
        let unmasked = try Tensor.withNoGrad { try sequenceKL(kl, actionMask: nil) }
        let masked = try Tensor.withNoGrad { try sequenceKL(kl, actionMask: mask) }
        let loss = try klLoss(kl, actionMask: mask)
        try loss.backward()
        try checkAll([
            "kl": kl.data, "kl_info_mean_unmasked": unmasked.data, "kl_seq_mean_masked": masked.data,
            "kl_loss": loss.data, "grad_log_probs_of_kl_loss": gradient(logProbs),
        ], against: f.expected.child(name), label: c.description)
    }

    @Test(arguments: ReferenceCase.all("compute_reward.json"))
    func computeRewardMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let p = f.params.child(name)
        let range = (p.value("reward_clip_range") as? [NSNumber]).map { Float($0[0].doubleValue)...Float($0[1].doubleValue) }
        let reward = try computeReward(r: f.inputs.tensor("r"), klCoef: Float(p.double("kl_coef")), kl: f.inputs.tensor("kl"),
                                       actionMask: f.inputs.tensor("action_mask"), rewardClipRange: range)
        try checkAll(["reward": reward.data], against: f.expected.child(name), label: c.description)
    }

    @Test(arguments: ReferenceCase.all("gae.json"))
    func gaeMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let p = f.params.child(name)
        let (advantages, returns) = try gae(values: f.inputs.tensor("values"), rewards: f.inputs.tensor("rewards"),
                                            actionMask: f.inputs.tensor("action_mask"),
                                            gamma: Float(p.double("gamma")), lambd: Float(p.double("lambd")))
        try checkAll(["advantages": advantages.data, "returns": returns.data], against: f.expected.child(name), label: c.description)
    }

    @Test(arguments: ReferenceCase.all("cumulative_returns.json"))
    func cumulativeReturnsMatchOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let returns = try cumulativeReturns(rewards: f.inputs.tensor("rewards"), actionMask: f.inputs.tensor("action_mask"),
                                            gamma: Float(f.params.child(name).double("gamma")))
        try checkAll(["returns": returns.data], against: f.expected.child(name), label: c.description)
    }

    @Test(arguments: ReferenceCase.cases("group_advantages.json") { f in (f.params.value("estimators") as? [String]) ?? [] })
    func advantageEstimatorsMatchOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let estimator = try #require(AdvantageEstimator(rawValue: name), "unknown estimator \(name)")
        let p = f.params
        let range = (p.value("reward_clip_range") as? [NSNumber]).map { Float($0[0].doubleValue)...Float($0[1].doubleValue) }
        // OpenRLHF overrides gamma with 1 (and warns) for the group estimators; here gamma ≠ 1 is an error for them.
        let gamma = estimator.usesGroups ? 1 : try Float(p.double("gamma"))
        let out = try computeAdvantagesAndReturns(
            estimator: estimator, rewards: f.inputs.tensor("rewards"), kl: f.inputs.tensor("kl"),
            actionMask: f.inputs.tensor("action_mask"), values: f.inputs.tensor("values"),
            klCoef: Float(p.double("kl_coef")), rewardClipRange: range, gamma: gamma,
            lambd: Float(p.double("lambd")), nSamplesPerPrompt: Int(p.double("n_samples_per_prompt")),
            divideByStd: p.bool("divide_by_std"))
        try checkAll([
            "shaped_rewards": out.shapedRewards.data, "token_rewards": out.tokenRewards.data, "returns": out.returns.data,
            "advantages": out.advantages.data, "advantages_after_buffer_normalize": out.normalizedAdvantages.data,
            "buffer_normalized": [estimator.normalizesAdvantagesInBuffer ? 1 : 0], "info_return": out.infoReturn.data,
        ], against: f.expected.child(name), label: c.description)
    }

    /// The replay buffer normalises per micro-batch list exactly as over one tensor.
    @Test(arguments: ReferenceCase.cases("group_advantages.json") { _ in ["gae"] })
    func bufferNormalizationOverMicroBatchesEqualsOneTensor(_ c: ReferenceCase) throws {
        let f = try c.load()
        let a = try f.expected.child("gae").tensor("advantages"), m = try f.inputs.tensor("action_mask")
        let rows = a.shape[0], half = rows / 2
        let whole = try replayBufferNormalize(a, actionMask: m)
        let parts = try replayBufferNormalize([a.slice(axis: 0, 0..<half), a.slice(axis: 0, half..<rows)],
                                              actionMasks: [m.slice(axis: 0, 0..<half), m.slice(axis: 0, half..<rows)])
        let problem = mismatch(parts[0].data + parts[1].data, whole.data.map(Double.init), rtol: 1e-6, atol: 1e-6, label: "split")
        #expect(problem == nil, "\(problem ?? "")")
    }

    @Test(arguments: ReferenceCase.cases("masked_ops.json") { f in f.expected.keys })
    func maskedOpsMatchOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let x = try f.inputs.tensor("x"), mask = try f.inputs.tensor("mask")
        let result: Tensor
        switch name {
        case "masked_mean_all": result = try maskedMean(x, mask: mask)
        case "masked_mean_rows": result = try maskedMean(x, mask: mask, axis: -1)
        case "mean_no_mask_rows": result = try maskedMean(x, mask: nil, axis: -1)
        case "mean_no_mask_all": result = try maskedMean(x, mask: nil)
        case let n where n.hasPrefix("masked_normalize"):
            let p = f.params.child(n)
            #expect(try p.optionalDouble("dim") == nil, "only dim=None is recorded")
            result = try maskedNormalize(x, mask: mask, eps: Float(p.double("eps")))
        case let n where n.hasPrefix("buffer_normalize"):
            let p = f.params.child(n)
            result = try replayBufferNormalize(f.inputs.tensor(p.string("input")), actionMask: mask, divideByStd: p.bool("divide_by_std"))
        default:
            Issue.record("\(c.description): unknown masked op '\(name)'")
            return
        }
        let problem = try mismatch(result.data, f.expected.array(name).values, label: "\(c.description) \(name)")
        #expect(problem == nil, "\(problem ?? "")")
    }

    @Test(arguments: ReferenceCase.cases("adaptive_kl.json") { _ in ["adaptive", "fixed"] })
    func klControllersMatchOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let p = f.params
        let current = try f.inputs.array("current_kl").values, steps = try f.inputs.array("n_steps").ints
        if name == "adaptive" {
            var controller = try AdaptiveKLController(initKLCoef: p.double("init_kl_coef"), klTarget: p.double("target"),
                                                      klHorizon: p.double("horizon"))
            let expected = try f.expected.array("value_after_each_update").values
            #expect(current.count == expected.count)
            for (i, (kl, n)) in zip(current, steps).enumerated() {
                controller.update(current: kl, nSteps: n)
                #expect(abs(controller.value - expected[i]) <= 1e-12 * abs(expected[i]), "update \(i): \(controller.value) vs \(expected[i])")
            }
        } else {
            var controller = try FixedKLController(klCoef: p.double("init_kl_coef"))
            for (kl, n) in zip(current, steps) { controller.update(current: kl, nSteps: n) }
            #expect(try controller.value == f.expected.double("fixed_value_after_update"))
        }
    }
}
