// A tiny Llama learns to sort digits from scratch: supervised fine-tuning on demonstrations, then
// DPO against a frozen copy of itself, then greedy evaluation on held-out problems.
//
//     rlhf run recipes/quickstart.swift            (writes results/quickstart/run.h5 and report.md)
//     rlhf run recipes/quickstart.swift --set sftEpochs=1 --seed 7
//
// The same file builds as a Swift program against `import Recipes` and writes the same run file.
import Recipes

seed(42)
let sftEpochs = 2
let beta = 0.1

let task = SyntheticTask.sortDigits(count: 4000, evalCount: 200)
let policy = Model.llama(hidden: 64, layers: 2, heads: 4)
print(policy)

sft(policy, data: task.demonstrations, maxEpochs: sftEpochs, learningRate: 3e-3, packing: true)
let reference = policy.frozen()
dpo(policy, reference: reference, data: task.preferences, beta: beta, learningRate: 5e-4)

let result = evaluate(policy, on: task.eval)
print("held-out exact match: \(result)")
