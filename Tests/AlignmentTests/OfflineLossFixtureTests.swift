// The offline losses (SFT, language model, reward model, DPO, KTO, distillation, PRM) against the
// values and gradients OpenRLHF v0.7.0 computed, in every reference folder.

import Alignment
import FixtureSupport
import Foundation
import Testing
import Tensors

@Suite struct OfflineLossFixtureTests {
    @Test(arguments: ReferenceCase.all("sft_loss.json"))
    func sftLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let tokenLevel = try f.params.child("token_level_loss").bool(name)
        let logps = try f.inputs.tensor("per_token_logps", requiresGrad: true)
        let loss = try sftLoss(perTokenLogps: logps, lossMask: f.inputs.tensor("loss_mask"),
                               aggregation: tokenLevel ? .tokenMean : .sequenceMean)
        try loss.backward()
        try checkAll(["loss": loss.data, "grad_per_token_logps": gradient(logps)], against: f.expected.child(name), label: c.description)
    }

    @Test(arguments: ReferenceCase.cases("gpt_lm_loss.json") { _ in ["loss"] })
    func gptLMLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load()
        let logits = try f.inputs.tensor("logits", requiresGrad: true)
        let loss = try gptLMLoss(logits: logits, labels: f.inputs.array("labels").ints,
                                 ignoreIndex: Int(f.params.double("IGNORE_INDEX")))
        try loss.backward()
        try checkAll(["loss": loss.data, "grad_logits": gradient(logits)], against: f.expected, label: c.description)
    }

    @Test(arguments: ReferenceCase.all("pairwise_loss.json"))
    func rewardModelLossesMatchOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let chosen = try f.inputs.tensor("chosen_reward", requiresGrad: true)
        let reject = try f.inputs.tensor("reject_reward", requiresGrad: true)
        let loss: Tensor
        if name == "logexp" {
            loss = try logExpLoss(chosenReward: chosen, rejectReward: reject)
        } else {
            let margin = try f.params.child(name).bool("margin") ? f.inputs.tensor("margin") : nil
            loss = try pairwiseLoss(chosenReward: chosen, rejectReward: reject, margin: margin)
        }
        try loss.backward()
        try checkAll(["loss": loss.data, "grad_chosen_reward": gradient(chosen), "grad_reject_reward": gradient(reject)],
                     against: f.expected.child(name), label: c.description)
    }

    @Test(arguments: ReferenceCase.all("dpo_loss.json"))
    func dpoLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let p = f.params.child(name)
        let chosen = try f.inputs.tensor("policy_chosen_logps", requiresGrad: true)
        let rejected = try f.inputs.tensor("policy_rejected_logps", requiresGrad: true)
        let out = try dpoLoss(policyChosenLogps: chosen, policyRejectedLogps: rejected,
                              referenceChosenLogps: f.inputs.tensor("reference_chosen_logps"),
                              referenceRejectedLogps: f.inputs.tensor("reference_rejected_logps"),
                              beta: Float(p.double("beta")), labelSmoothing: Float(p.double("label_smoothing")),
                              ipo: p.bool("ipo"))
        try out.loss.backward()
        try checkAll([
            "loss": out.loss.data, "chosen_rewards": out.chosenRewards.data, "rejected_rewards": out.rejectedRewards.data,
            "grad_policy_chosen_logps": gradient(chosen), "grad_policy_rejected_logps": gradient(rejected),
        ], against: f.expected.child(name), label: c.description)
        #expect(!out.chosenRewards.requiresGrad && !out.rejectedRewards.requiresGrad, "rewards must be detached")
    }

    @Test(arguments: ReferenceCase.all("kto_loss.json"))
    func ktoLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let inputs = f.inputs.child(name), p = f.params.child(name)
        let chosen = try inputs.tensor("policy_chosen_logps", requiresGrad: true)
        let rejected = try inputs.tensor("policy_rejected_logps", requiresGrad: true)
        let beta = try Float(p.double("beta"))
        var outputs: Outputs
        if inputs.has("policy_KL_logps") {
            let klLogps = try inputs.tensor("policy_KL_logps", requiresGrad: true)
            let out = try ktoLoss(policyChosenLogps: chosen, policyRejectedLogps: rejected, policyKLLogps: klLogps,
                                  referenceChosenLogps: inputs.tensor("reference_chosen_logps"),
                                  referenceRejectedLogps: inputs.tensor("reference_rejected_logps"),
                                  referenceKLLogps: inputs.tensor("reference_KL_logps"), beta: beta,
                                  desirableWeight: Float(p.double("desirable_weight")),
                                  undesirableWeight: Float(p.double("undesirable_weight")))
            #expect(try p.double("world_size") == 1, "only a single process is modelled")
            try out.loss.backward()
            outputs = ["loss": out.loss.data, "chosen_rewards": out.chosenRewards.data, "rejected_rewards": out.rejectedRewards.data,
                       "KL": out.kl?.data ?? [], "grad_policy_KL_logps": gradient(klLogps)]
        } else {
            let out = try vanillaKTOLoss(policyChosenLogps: chosen, policyRejectedLogps: rejected,
                                         referenceChosenLogps: inputs.tensor("reference_chosen_logps"),
                                         referenceRejectedLogps: inputs.tensor("reference_rejected_logps"), beta: beta)
            try out.loss.backward()
            outputs = ["loss": out.loss.data, "chosen_rewards": out.chosenRewards.data, "rejected_rewards": out.rejectedRewards.data]
        }
        outputs["grad_policy_chosen_logps"] = gradient(chosen)
        outputs["grad_policy_rejected_logps"] = gradient(rejected)
        try checkAll(outputs, against: f.expected.child(name), label: c.description)
    }

    @Test(arguments: ReferenceCase.cases("kd_loss.json") { _ in ["loss"] })
    func kdLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load()
        let ignore = try Int(f.params.double("IGNORE_INDEX"))
        let labels = try f.inputs.array("label")
        let mask = Tensor(shape: labels.shape, data: labels.ints.map { $0 == ignore ? 0 : 1 })
        let logits = try f.inputs.tensor("logits", requiresGrad: true)
        let loss = try kdLoss(logits: logits, teacherLogits: f.inputs.tensor("teacher_logits"), lossMask: mask)
        try loss.backward()
        try checkAll(["loss": loss.data, "grad_logits": gradient(logits)], against: f.expected, label: c.description)
    }

    @Test(arguments: ReferenceCase.all("prm_loss.json"))
    func prmLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load(), name = try c.caseName
        let rewardTokens = (f.params.child(name).value("reward_token_ids") as? [NSNumber])?.map(\.intValue)
        let rawLabels = try f.inputs.array("labels_\(name)")
        let labels: PRMLabels = name.contains("soft") ? .soft(rawLabels.floats) : .hard(rawLabels.ints)
        let logits = try f.inputs.tensor("logits", requiresGrad: true)
        let out = try prmLoss(inputIDs: f.inputs.array("input_ids").ints, logits: logits, labels: labels,
                              placeholderTokenID: Int(f.params.double("placeholder_token_id")), rewardTokenIDs: rewardTokens)
        try out.loss.backward()
        try checkAll(["loss": out.loss.data, "acc": [out.acc], "grad_logits": gradient(logits)],
                     against: f.expected.child(name), label: c.description)
    }
}
