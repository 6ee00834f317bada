// A reward model on digit sorting: a score head on a tiny Llama learns to prefer correct answers
// over plausible wrong ones; held-out pair accuracy is in the report.
//
//     rlhf run recipes/reward_model.swift
import Recipes

seed(11)
let task = SyntheticTask.sortDigits(count: 4000, evalCount: 200)
let base = Model.llama(hidden: 64, layers: 2, heads: 4)
let rm = rewardModel(base, data: task.preferences, maxEpochs: 1, learningRate: 1e-3, evalSteps: 20)
print(rm)
