// KTO, knowledge distillation and a process reward model on digit sorting, each from a short SFT.
//
//     rlhf run recipes/kto_kd_prm.swift
import Recipes

seed(13)
let task = SyntheticTask.sortDigits(count: 3000, evalCount: 200)
let teacher = Model.llama(hidden: 64, layers: 2, heads: 4)
sft(teacher, data: task.demonstrations, maxEpochs: 1, learningRate: 3e-3, packing: true)

let policy = teacher.copy()
print(kto(policy, reference: teacher.frozen(), data: task.unpaired, beta: 0.1, learningRate: 5e-4))

let student = Model.llama(hidden: 32, layers: 1, heads: 2)
print(kd(student, teacher: teacher.frozen(), data: task.demonstrations, kdCoef: 0.5, learningRate: 3e-3))

let verifier = teacher.copy()
print(prm(verifier, data: task.processRewards, learningRate: 1e-3))
