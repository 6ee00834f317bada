// DPO, IPO and cDPO side by side on digit sorting, each from the same SFT policy.
//
//     rlhf run recipes/dpo.swift --set beta=0.3
import Recipes

seed(5)
let beta = 0.1
let task = SyntheticTask.sortDigits(count: 3000, evalCount: 200)
let policy = Model.llama(hidden: 64, layers: 2, heads: 4)
sft(policy, data: task.demonstrations, maxEpochs: 1, learningRate: 3e-3, packing: true)
let reference = policy.frozen()

for variant in ["dpo", "ipo", "cdpo"] {
    let student = policy.copy()
    let run = dpo(student, reference: reference, data: task.preferences, beta: beta,
                  labelSmoothing: variant == "cdpo" ? 0.1 : 0, ipo: variant == "ipo", learningRate: 5e-4)
    print(variant, run)
}
