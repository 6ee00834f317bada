// GRPO on digit sorting: a tiny Llama gets a short SFT warm start (so it starts mediocre), then
// trains online against the task's programmatic score (partial credit per position). The trainer
// evaluates pass@1 and pass@4 at temperature 1 on held-out prompts every 25 rollouts.
//
//     rlhf run recipes/grpo.swift            (seed 11: pass@1 0.39 → 0.65; a few seconds on 2 cores)
import Recipes

seed(11)
let rollouts = 100
let task = SyntheticTask.sortDigits(count: 3200, evalCount: 32, digits: 3...4)
let policy = Model.llama(hidden: 64, layers: 2, heads: 4)
sft(policy, data: task.demonstrations, learningRate: 3e-3, microTrainBatchSize: 32, trainBatchSize: 32,
    lrScheduler: .constant, maxSteps: 40)
let reference = policy.frozen()

let run = grpo(policy, reference: reference, prompts: task.prompts, reward: { prompt, response in task.score(prompt, response) },
               nSamplesPerPrompt: 4, rolloutBatchSize: 16, learningRate: 2e-3, microTrainBatchSize: 32, trainBatchSize: 64,
               generateMaxLen: 8, initKLCoef: 0.001, evalSteps: 25, evalTemperature: 1, maxSteps: rollouts)
print(run)
