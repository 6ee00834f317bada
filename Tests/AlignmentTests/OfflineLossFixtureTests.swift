// The offline losses (SFT, language model, reward model, DPO, KTO, distillation, PRM) against the
// values and gradients OpenRLHF v0.7.0 computed, one `check` per loss in every reference folder.

import Alignment
import FixtureSupport
import Foundation
import Testing
import Tensors

@Suite struct OfflineLossFixtureTests {
    @Test(arguments: ReferenceCase.all("sft_loss.json"))
    func sftLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let tokenLevel = try f.file.params.child("token_level_loss").bool(c.caseName)
            let logps = try f.inputs.tensor("per_token_logps", requiresGrad: true)
            let loss = try sftLoss(
                perTokenLogps: logps, lossMask: f.inputs.tensor("loss_mask"),
                aggregation: tokenLevel ? .tokenMean : .sequenceMean)
            try loss.backward()
            return ["loss": loss, "grad_per_token_logps": logps.gradOrZeros]
        }
    }

    @Test(arguments: ReferenceCase.all("gpt_lm_loss.json", casesUnder: nil))
    func gptLMLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let logits = try f.inputs.tensor("logits", requiresGrad: true)
            let loss = try gptLMLoss(
                logits: logits, labels: f.inputs.array("labels").ints,
                ignoreIndex: Int(f.params.double("IGNORE_INDEX")))
            try loss.backward()
            return ["loss": loss, "grad_logits": logits.gradOrZeros]
        }
    }

    @Test(arguments: ReferenceCase.all("pairwise_loss.json"))
    func rewardModelLossesMatchOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let chosen = try f.inputs.tensor("chosen_reward", requiresGrad: true)
            let reject = try f.inputs.tensor("reject_reward", requiresGrad: true)
            let loss =
                try c.caseName == "logexp"
                ? logExpLoss(chosenReward: chosen, rejectReward: reject)
                : pairwiseLoss(
                    chosenReward: chosen, rejectReward: reject,
                    margin: f.params.bool("margin") ? f.inputs.tensor("margin") : nil)
            try loss.backward()
            return ["loss": loss, "grad_chosen_reward": chosen.gradOrZeros, "grad_reject_reward": reject.gradOrZeros]
        }
    }

    @Test(arguments: ReferenceCase.all("dpo_loss.json"))
    func dpoLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let p = f.params
            let chosen = try f.inputs.tensor("policy_chosen_logps", requiresGrad: true)
            let rejected = try f.inputs.tensor("policy_rejected_logps", requiresGrad: true)
            let out = try dpoLoss(
                policyChosenLogps: chosen, policyRejectedLogps: rejected,
                referenceChosenLogps: f.inputs.tensor("reference_chosen_logps"),
                referenceRejectedLogps: f.inputs.tensor("reference_rejected_logps"),
                beta: Float(p.double("beta")), labelSmoothing: Float(p.double("label_smoothing")),
                ipo: p.bool("ipo"))
            try out.loss.backward()
            #expect(!out.chosenRewards.requiresGrad && !out.rejectedRewards.requiresGrad, "rewards must be detached")
            return [
                "loss": out.loss, "chosen_rewards": out.chosenRewards, "rejected_rewards": out.rejectedRewards,
                "grad_policy_chosen_logps": chosen.gradOrZeros, "grad_policy_rejected_logps": rejected.gradOrZeros,
            ]
        }
    }

    @Test(arguments: ReferenceCase.all("kto_loss.json"))
    func ktoLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let inputs = f.inputs, p = f.params
            let chosen = try inputs.tensor("policy_chosen_logps", requiresGrad: true)
            let rejected = try inputs.tensor("policy_rejected_logps", requiresGrad: true)
            let beta = try Float(p.double("beta"))
            var outputs: [String: any ReferenceValue]
            if inputs.has("policy_KL_logps") {
                let klLogps = try inputs.tensor("policy_KL_logps", requiresGrad: true)
                let out = try ktoLoss(
                    policyChosenLogps: chosen, policyRejectedLogps: rejected, policyKLLogps: klLogps,
                    referenceChosenLogps: inputs.tensor("reference_chosen_logps"),
                    referenceRejectedLogps: inputs.tensor("reference_rejected_logps"),
                    referenceKLLogps: inputs.tensor("reference_KL_logps"), beta: beta,
                    desirableWeight: Float(p.double("desirable_weight")),
                    undesirableWeight: Float(p.double("undesirable_weight")))
                #expect(try p.double("world_size") == 1, "only a single process is modelled")
                try out.loss.backward()
                outputs = [
                    "loss": out.loss, "chosen_rewards": out.chosenRewards, "rejected_rewards": out.rejectedRewards,
                    "KL": out.kl, "grad_policy_KL_logps": klLogps.gradOrZeros,
                ]
            } else {
                let out = try vanillaKTOLoss(
                    policyChosenLogps: chosen, policyRejectedLogps: rejected,
                    referenceChosenLogps: inputs.tensor("reference_chosen_logps"),
                    referenceRejectedLogps: inputs.tensor("reference_rejected_logps"), beta: beta)
                try out.loss.backward()
                outputs = ["loss": out.loss, "chosen_rewards": out.chosenRewards, "rejected_rewards": out.rejectedRewards]
            }
            outputs["grad_policy_chosen_logps"] = chosen.gradOrZeros
            outputs["grad_policy_rejected_logps"] = rejected.gradOrZeros
            return outputs
        }
    }

    @Test(arguments: ReferenceCase.all("kd_loss.json", casesUnder: nil))
    func kdLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let ignore = try Int(f.params.double("IGNORE_INDEX"))
            let labels = try f.inputs.array("label")
            let mask = Tensor(shape: labels.shape, data: labels.ints.map { $0 == ignore ? 0 : 1 })
            let logits = try f.inputs.tensor("logits", requiresGrad: true)
            let loss = try kdLoss(logits: logits, teacherLogits: f.inputs.tensor("teacher_logits"), lossMask: mask)
            try loss.backward()
            return ["loss": loss, "grad_logits": logits.gradOrZeros]
        }
    }

    @Test(arguments: ReferenceCase.all("prm_loss.json"))
    func prmLossMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let name = try c.caseName
            let rewardTokens = (f.params.value("reward_token_ids") as? [NSNumber])?.map(\.intValue)
            let rawLabels = try f.inputs.array("labels_\(name)")
            let labels: PRMLabels = name.contains("soft") ? .soft(rawLabels.floats) : .hard(rawLabels.ints)
            let logits = try f.inputs.tensor("logits", requiresGrad: true)
            let out = try prmLoss(
                inputIDs: f.inputs.array("input_ids").ints, logits: logits, labels: labels,
                placeholderTokenID: Int(f.file.params.double("placeholder_token_id")),
                rewardTokenIDs: rewardTokens)
            try out.loss.backward()
            return ["loss": out.loss, "acc": out.acc, "grad_logits": logits.gradOrZeros]
        }
    }
}
