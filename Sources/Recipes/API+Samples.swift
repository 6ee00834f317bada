import Foundation
import RecipeLanguage
import Recording
import Training

// The Swift API behind `evaluateSamples`: n sampled responses to every held-out prompt, scored, and
// with a reference the sequence-level KL(π‖π_ref) of the samples — the two axes of the reward–KL
// plots of Gao et al. 2022 (reward model over-optimization) and Rafailov et al. 2023 (DPO, Fig. 2).

/// Samples `n` responses to every held-out prompt of `data` at `temperature`, scores them with the
/// reward (a function, a reward model, or the task's score) and records a stage `samples`: every
/// sample as a rollout (its reward and per-token log-probs), and the means as the metrics of step 1
/// — `reward`, `reward_std`, `response_length` and, with a reference, `kl`: the mean over samples of
/// Σₜ log π(yₜ | x, y<ₜ) − log π_ref(yₜ | x, y<ₜ) over the response tokens (end token included), the
/// k1 estimate of the sequence KL. Log-probs are at the sampling temperature, as PPO's rollouts.
///
/// Sample `i` (prompt `i / n`, copy `i % n`) draws from the stage's stream forked by `i`, so two
/// policies evaluated at the same point of a recipe are compared on common random numbers.
func runEvaluateSamples(
    _ policy: Model, reference: Model?, on data: TrainingData, n: Int, temperature: Double, maxNewTokens: Int,
    reward: ((String, String, String?) throws -> Double)?, rewardModel: RewardModel?
) throws -> EvalResult {
    guard n >= 1 else { throw RecipeError(.runtime, "n must be at least 1 sample per prompt, got \(n)") }
    guard temperature > 0, temperature.isFinite else {
        throw RecipeError(.runtime, "temperature must be above 0 (the KL is of the sampling distribution), got \(temperature)")
    }
    guard maxNewTokens >= 1 else { throw RecipeError(.runtime, "maxNewTokens must be at least 1, got \(maxNewTokens)") }
    if reward != nil && rewardModel != nil { throw RecipeError(.runtime, "give reward: or rewardModel:, not both") }
    let (_, eval) = try data.prompts(policy.tokenizer, promptMaxLen: nil)
    guard !eval.isEmpty else {
        throw RecipeError(.runtime, "\(data.name) has no held-out prompts to sample; make the task with evalCount: above 0")
    }
    let source = try rewardSource(reward, model: rewardModel, prompts: data)
    let stage = try Session.current.runContext().beginStage(
        "samples",
        config: [
            "prompts": .int(eval.count), "n_samples_per_prompt": .int(n), "temperature": .double(temperature),
            "max_new_tokens": .int(maxNewTokens), "reference": .bool(reference != nil),
        ])
    var options = PPOOptions()
    options.temperature = temperature
    options.generateMaxLen = maxNewTokens
    options.klEstimator = .k1
    let maker = ExperienceMaker(
        actor: policy.lm, reference: reference?.lm, critic: nil, reward: source, tokenizer: policy.tokenizer, options: options)
    var samples = try maker.generate(eval.enumerated().map { ($0.offset, $0.element) }, n: n, temperature: temperature, rng: stage.rng)
    try maker.score(&samples, what: "samples")

    let count = Double(samples.count)
    let rewards = samples.map(\.reward)
    let mean = rewards.reduce(0, +) / count
    var metrics: [String: Double] = [
        "reward": mean,
        "reward_std": (rewards.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / count).squareRoot(),
        "response_length": Double(samples.reduce(0) { $0 + $1.responseIDs.count }) / count,
    ]
    if reference != nil {
        metrics["kl"] = samples.map { $0.kl.reduce(0.0) { $0 + Double($1) } }.reduce(0, +) / count
    }
    if let recorder = stage.recorder {
        try recorder.record(metrics: metrics)
        try recorder.record(
            rollouts: samples.map { s in
                RolloutSample(
                    promptIDs: s.prompt.ids.map { Int32($0) }, responseIDs: s.responseIDs.map { Int32($0) }, reward: s.reward,
                    logprobs: s.actionLogProbs.map { Double($0) }, promptText: s.prompt.text, responseText: s.responseText)
            })
        try recorder.commit(step: 1)
    }
    return EvalResult(metrics: metrics)
}
