// GRPO on SmolLM2-135M-Instruct with LoRA adapters: questions about capitals through the model's
// chat template, rewarded when the answer names the city and is short. Two passes over 48 prompts,
// 8 prompts × 4 samples per rollout; only the adapters train, against the frozen base as the KL
// reference. The training reward rises over the 12 rollouts (seed 5: 0.17 → 0.47); the held-out
// countries barely move in so short a run.
//
//     scripts/fetch-smollm2 && rlhf run recipes/smollm2_grpo.swift        (about 3 minutes on 2 cores)
import Recipes

seed(5)
let prompts = TrainingData.load("recipes/data/capitals_train.jsonl", kind: .prompts, evalPath: "recipes/data/capitals_eval.jsonl",
                                applyChatTemplate: true)
// 1 for naming the city (the prompt's label), halved when the answer runs past 20 characters.
func reward(_ prompt: String, _ response: String, _ label: String) -> Double {
    let named = response.lowercased().contains(label.lowercased()) ? 1.0 : 0.0
    return response.count <= 20 ? named : named / 2
}

let base = Model.smolLM2()
let policy = base.copy()
policy.lora(rank: 8, alpha: 16, targets: ["q_proj", "k_proj", "v_proj", "o_proj"])
let run = grpo(policy, reference: base.frozen(), prompts: prompts, labeledReward: reward, nSamplesPerPrompt: 4, rolloutBatchSize: 8,
               numEpisodes: 2, learningRate: 1e-3, microTrainBatchSize: 8, trainBatchSize: 32, generateMaxLen: 24, initKLCoef: 0.01,
               evalSteps: 4, evalNSamplesPerPrompt: 2, evalTemperature: 0.7)
print(run)
print(policy.generate("What is the capital of Portugal? Answer with the name only.", maxNewTokens: 24, chat: true))
