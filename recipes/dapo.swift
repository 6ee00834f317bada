// DAPO on digit sorting (Yu et al. 2025): GRPO's group advantages on DAPO's rule-based reward (1
// for the exact answer, else 0) with clip-higher (the ratio may rise to 1 + 0.28 but fall only to
// 1 − 0.2), the soft overlong penalty (a response longer than generateMaxLen − overlongBufferLen
// tokens loses up to overlongPenaltyFactor of its reward), token-level loss aggregation (the online
// trainers' one token mean per optimizer step) and dynamic sampling: a prompt whose 8 responses
// are all right or all wrong teaches nothing under group advantages, so it is dropped and a new
// prompt sampled in its place, for at most maxNumGenBatches rounds per rollout (the run file logs
// zero_variance_groups, filtered_groups, extra_samples, gen_batches and topped_up_groups). No KL
// term, as DAPO drops it. Overlong filtering (maskTruncatedCompletions) would mask what the soft
// penalty already punishes, so it stays off.
//
//     rlhf run recipes/dapo.swift            (seed 11: pass@1 0.05 → 0.50; ~30 s on 2 cores)
import Recipes

seed(11)
let rollouts = 100
let task = SyntheticTask.sortDigits(count: 3200, evalCount: 32, digits: 3...4)
let policy = Model.llama(hidden: 64, layers: 2, heads: 4)
sft(
    policy, data: task.demonstrations, learningRate: 3e-3, microTrainBatchSize: 32, trainBatchSize: 32,
    lrScheduler: .constant, maxSteps: 40)

let run = grpo(
    policy, prompts: task.prompts, reward: { prompt, response in task.score(prompt, response) == 1 ? 1.0 : 0.0 },
    nSamplesPerPrompt: 8, rolloutBatchSize: 8, learningRate: 2e-3, microTrainBatchSize: 32, trainBatchSize: 32,
    generateMaxLen: 8, initKLCoef: 0, epsClipLowHigh: [0.2, 0.28], overlongBufferLen: 3, overlongPenaltyFactor: 1,
    dynamicFiltering: true, maxNumGenBatches: 20, evalSteps: 25, evalTemperature: 1, maxSteps: rollouts)
print(run)
