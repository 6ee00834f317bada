// SmolLM2-135M-Instruct with LoRA adapters: a short SFT on digit sorting through its chat
// template, then DPO against the frozen base; only the adapters train. The adapters are saved as
// PEFT saves them (results/smollm2_lora/adapter), for `PeftModel.from_pretrained`.
//
//     scripts/fetch-smollm2 && rlhf run recipes/smollm2_lora.swift
import Recipes

seed(21)
let steps = 6
let task = SyntheticTask.sortDigits(count: 400, evalCount: 20)
let base = Model.smolLM2()
let policy = base.copy()
policy.lora(rank: 8, alpha: 16, targets: ["q_proj", "v_proj"])
print(policy)

sft(policy, data: task.demonstrations, learningRate: 1e-3, microTrainBatchSize: 8, trainBatchSize: 16, maxSteps: steps)
dpo(policy, reference: base.frozen(), data: task.preferences, beta: 0.1, learningRate: 5e-4, microTrainBatchSize: 8,
    trainBatchSize: 16, maxSteps: steps)
print(policy.generate("3 1 2=", maxNewTokens: 8))
policy.saveAdapter("adapter")
