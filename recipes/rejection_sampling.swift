// Offline loops over the rollout engine (OpenRLHF's batch_inference): best-of-n samples of an
// SFT-warmed policy, then two rounds of rejection sampling (best response → SFT) and two rounds of
// iterative DPO (best vs worst → preference pairs). Each round's data is saved as OpenRLHF JSONL.
// Both loops raise the greedy held-out pass@1 (seed 17: 0.80 → 0.92 and 0.80 → 0.90), in ~5 s.
//
//     rlhf run recipes/rejection_sampling.swift
import Recipes

seed(17)
let task = SyntheticTask.sortDigits(count: 1600, evalCount: 32, digits: 3...4)
let start = Model.llama(hidden: 64, layers: 2, heads: 4)
sft(start, data: task.demonstrations, learningRate: 3e-3, microTrainBatchSize: 32, trainBatchSize: 32,
    lrScheduler: .constant, maxSteps: 40)
print("start:", evaluate(start, on: task.eval))

let rs = start.copy()
for round in 1...2 {
    let samples = bestOfN(rs, prompts: task.prompts, n: 4, maxNewTokens: 8)
    print("rejection sampling round \(round):", samples)
    let best = samples.rejectionSampling()
    best.save("rejection_sampling_round\(round).jsonl")
    sft(rs, data: best, learningRate: 1e-3, microTrainBatchSize: 32, trainBatchSize: 64)
}
print("after rejection sampling:", evaluate(rs, on: task.eval))

let idpo = start.copy()
for round in 1...2 {
    let pairs = bestOfN(idpo, prompts: task.prompts, n: 4, maxNewTokens: 8).dpoPairs()
    pairs.save("iterative_dpo_round\(round).jsonl")
    dpo(idpo, reference: start.frozen(), data: pairs, beta: 0.1, nllLossCoef: 1, learningRate: 5e-4)
}
print("after iterative DPO:", evaluate(idpo, on: task.eval))
