// PPO (with a critic), REINFORCE++, RLOO, GRPO and Dr. GRPO side by side: each starts from the same
// SFT-warmed policy and trains 100 rollouts on digit sorting; compare their eval curves in the report.
//
//     rlhf run recipes/rl_estimators.swift       (about 15 s on 2 cores)
import Recipes

seed(11)
let rollouts = 100
let task = SyntheticTask.sortDigits(count: 3200, evalCount: 32, digits: 3...4)
let start = Model.llama(hidden: 64, layers: 2, heads: 4)
sft(start, data: task.demonstrations, learningRate: 3e-3, microTrainBatchSize: 32, trainBatchSize: 32,
    lrScheduler: .constant, maxSteps: 40)

for estimator in [AdvantageEstimator.gae, AdvantageEstimator.reinforce, AdvantageEstimator.rloo, AdvantageEstimator.groupNorm,
                  AdvantageEstimator.drGRPO] {
    let policy = start.copy()
    let run = ppo(policy, reference: start.frozen(), critic: estimator == .gae ? start : nil, prompts: task.prompts,
                  advantageEstimator: estimator, nSamplesPerPrompt: 4, rolloutBatchSize: 16, learningRate: 2e-3,
                  microTrainBatchSize: 32, trainBatchSize: 64, generateMaxLen: 8, initKLCoef: 0.001, evalSteps: 50,
                  evalTemperature: 1, maxSteps: rollouts)
    print(estimator, run.eval("sort_digits_pass1") ?? 0)
}
