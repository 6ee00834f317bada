// GRPO on digit sorting: a tiny Llama is warmed up by a short SFT (so it starts mediocre), then
// trained online against the task's programmatic score, with a KL penalty to the SFT policy.
//
//     rlhf run recipes/grpo.swift
import Recipes

seed(7)
let task = SyntheticTask.sortDigits(count: 4000, evalCount: 100)
let policy = Model.llama(hidden: 64, layers: 2, heads: 4)
sft(policy, data: task.demonstrations, maxEpochs: 1, learningRate: 3e-3, packing: true, maxSteps: 50)
let reference = policy.frozen()

let before = evaluate(policy, on: task.eval)
grpo(policy, reference: reference, prompts: task.prompts, reward: { prompt, response in task.score(prompt, response) },
     nSamplesPerPrompt: 4, rolloutBatchSize: 16, learningRate: 5e-4, generateMaxLen: 12, temperature: 0.7, initKLCoef: 0.01, maxSteps: 40)
let after = evaluate(policy, on: task.eval)
print("pass@1 before: \(before)")
print("pass@1 after:  \(after)")
