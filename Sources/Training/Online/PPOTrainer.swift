import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Tokenizers

// Online RL: one trainer for every advantage estimator, as OpenRLHF v0.7.0's `ActorPPOTrainer.fit`
// with its critic:
//
//   for each rollout (global step r = 1, 2, …):
//     1. rollout      rolloutBatchSize prompts × nSamplesPerPrompt responses from the actor
//     2. experience   old log-probs, reference log-probs, values, rewards; advantages and returns
//     3. critic       maxEpochs passes of shuffled micro-batches, clipped value loss   (gae only)
//     4. actor        the same passes, PPO clipped policy loss (+ β·KL with useKLLoss, − entropy)
//                     skipped while r ≤ freezingActorSteps
//     5. β            the KL controller sees the rollout's mean KL per valid token
//     6. evaluation   every evalSteps rollouts and after the last; checkpoint every saveSteps
//
// The run file gets one row per optimizer step (OptimizerLoop): the actor's in the stage's group,
// the critic's in `<stage>_critic`. Each row also carries the metrics of the rollout it trained
// on (reward, return, kl, kl_coef, response_length, …) and, under `timing`, its wall-clock split
// (time_rollout_s, time_experience_s, …); the first row of each rollout carries its first
// `rolloutSamplesPerStep` samples.
//
// The lifecycle (evaluation and checkpoint cadence, resume) is the ``StageRunner`` every trainer
// shares: checkpoints (`ckptPath/step_N`, N counting rollouts) hold the actor and the critic with
// their AdamW state, the prompt cursor, β, the stream and the eval history, and a copy of the run
// file; a resumed run first replays the recorded history of both stages into its own run file, so
// its datasets equal those of an uninterrupted run.

/// One evaluation of an online RL run.
public struct RLEvaluationPoint: Sendable {
    /// Rollouts completed when it ran (0: before training).
    public var rollout: Int
    /// Actor optimizer steps completed when it ran (its row in the run file's eval table).
    public var step: Int
    public var result: RLEvalResult
}

/// What an online RL run reports when it ends or is stopped.
public struct PPOSummary: Sendable {
    /// The stage's name in the run file.
    public var stage: String
    /// Rollouts completed (a resumed run counts those before the checkpoint too).
    public var rollouts: Int
    /// Rollouts the run was set up for.
    public var totalRollouts: Int
    /// Optimizer steps completed by the actor and by the critic (resumed runs included).
    public var actorSteps: Int
    public var criticSteps: Int
    /// Actor optimizer steps the run was set up for (frozen rollouts train no actor).
    public var totalActorSteps: Int
    /// Whether the caller stopped the run early.
    public var stopped: Bool
    /// β after the last rollout.
    public var klCoef: Double
    /// The metrics of the last rollout and of its last actor step, `rollouts`, `critic_steps`, and
    /// `time_train_s` (the rollout's critic and actor training); wall-clock values start with `time_`.
    public var lastRollout: [String: Double]
    /// The evaluations of this call, in order, with their per-source scores.
    public var evaluations: [RLEvaluationPoint]
    /// Every evaluation of the run, those before a resume included (metrics as in the run file:
    /// `<datasource>_pass<k>`, `<datasource>_pass1`, `response_length`, `rollout`).
    public var evalHistory: [EvalRecord]
    /// The actor step of the checkpoint the run resumed from, if it did.
    public var resumedFromStep: Int?

    /// The summary in the form every trainer returns: `steps` counts actor optimizer steps,
    /// `metrics` is ``lastRollout``.
    public var trainingSummary: TrainingSummary {
        TrainingSummary(
            stage: stage, steps: actorSteps, totalSteps: totalActorSteps, metrics: lastRollout, evalHistory: evalHistory,
            resumedFromStep: resumedFromStep, stopped: stopped)
    }
}

/// Trains `actor` online on `prompts` with the estimator `options.advantageEstimator`:
/// PPO (`gae`, with `critic`), REINFORCE++ (`reinforce`), RLOO (`rloo`), REINFORCE++-baseline
/// (`reinforceBaseline`), GRPO (`groupNorm`) or Dr. GRPO (`drGRPO`). See the file comment.
///
/// ```swift
/// let reference = policy.frozen()
/// var options = PPOOptions()
/// options.advantageEstimator = .groupNorm
/// options.nSamplesPerPrompt = 4
/// options.rolloutBatchSize = 8
/// options.trainBatchSize = 32
/// options.microTrainBatchSize = 8
/// let summary = try trainPPO(actor: policy, reference: reference, critic: nil,
///                            reward: .function { p, r, _ in task.score(p, r) },
///                            prompts: prompts, evalPrompts: evalPrompts,
///                            tokenizer: task.tokenizer, options: options, context: context)
/// ```
///
/// - Parameters:
///   - reference: The frozen initial policy for the KL; needed when `initKLCoef > 0` or `useKLLoss`.
///     Pass nil to skip its forward when no KL is used (OpenRLHF drops it at `init_kl_coef = 0`);
///     with a reference and β = 0 the KL is still measured and logged.
///   - critic: A `ScalarModel` of kind `.critic`; needed by `gae`, refused by the other estimators.
///   - stageName: The run-file stage; default from the estimator (`ppo`, `grpo`, `rloo`, …).
/// - Returns: A summary (``PPOSummary/trainingSummary`` gives the form every trainer returns);
///   the run file holds every step.
/// - Throws: ``TrainingError`` for bad options or data, a failing reward (naming the sample), a
///   non-finite loss; the error is recorded in the run file, which keeps every completed step.
public func trainPPO(
    actor: CausalLM, reference: CausalLM?, critic: ScalarModel?, reward: RewardSource,
    prompts: [PromptExample], evalPrompts: [PromptExample] = [], tokenizer: any TextTokenizer,
    options: PPOOptions, context: RunContext, stageName: String? = nil
) throws -> PPOSummary {
    let trainer = try PPOTrainer(
        actor: actor, reference: reference, critic: critic, reward: reward, prompts: prompts,
        evalPrompts: evalPrompts, tokenizer: tokenizer, options: options, context: context,
        stageName: stageName)
    return try trainer.run()
}

extension AdvantageEstimator {
    /// The default stage name of a run with this estimator.
    public var stageName: String {
        switch self {
        case .gae: return "ppo"
        case .reinforce: return "reinforce"
        case .rloo: return "rloo"
        case .reinforceBaseline: return "reinforce_baseline"
        case .groupNorm: return "grpo"
        case .drGRPO: return "dr_grpo"
        }
    }
}

/// β and its controller, as saved in a checkpoint.
enum KLCoefficient: Codable, Equatable {
    case fixed(FixedKLController)
    case adaptive(AdaptiveKLController)

    init(_ options: PPOOptions) {
        if let target = options.klTarget {
            self = .adaptive(AdaptiveKLController(initKLCoef: options.initKLCoef, klTarget: target, klHorizon: options.klHorizon))
        } else {
            self = .fixed(FixedKLController(klCoef: options.initKLCoef))
        }
    }

    var value: Double {
        switch self {
        case .fixed(let c): return c.value
        case .adaptive(let c): return c.value
        }
    }

    mutating func update(current: Double, nSteps: Int) {
        switch self {
        case .fixed: break
        case .adaptive(var c):
            c.update(current: current, nSteps: nSteps)
            self = .adaptive(c)
        }
    }
}

/// What a checkpoint holds of an online run besides the models and the eval history.
struct OnlineState: Codable {
    /// The prompt order and cursor.
    var sampler: Sampler
    var klCoefficient: KLCoefficient
    /// The stage's root stream; every other stream is forked from it by name.
    var stream: RNG
}

/// One online RL run; `trainPPO` is its public face.
final class PPOTrainer {
    let actor: CausalLM
    let reference: CausalLM?
    let critic: ScalarModel?
    let prompts: [PromptExample]
    let evalPrompts: [PromptExample]
    let options: PPOOptions
    let maker: ExperienceMaker
    let stage: Stage
    let criticStage: Stage?
    let actorLoop: OptimizerLoop
    let criticLoop: OptimizerLoop?
    let rolloutsPerEpisode: Int
    let totalRollouts: Int
    let totalActorSteps: Int
    let runner: StageRunner<OnlineState>
    var state: OnlineState
    /// The evaluations of this call, with their per-source scores.
    var evaluations: [RLEvaluationPoint] = []

    init(
        actor: CausalLM, reference: CausalLM?, critic: ScalarModel?, reward: RewardSource, prompts: [PromptExample],
        evalPrompts: [PromptExample], tokenizer: any TextTokenizer, options: PPOOptions, context: RunContext,
        stageName: String?
    ) throws {
        try options.validate()
        func fail(_ name: String, _ message: String) -> Error { TrainingError.invalidOption(name, message) }
        let estimator = options.advantageEstimator
        if estimator == .gae && critic == nil {
            throw fail(
                "critic",
                "gae (PPO) needs a critic: ScalarModel(kind: .critic, from: policy, rng: …), "
                    + "or pick a critic-free estimator (groupNorm, rloo, reinforce, …)")
        }
        if estimator != .gae && critic != nil {
            throw fail("critic", "\(estimator.rawValue) does not use a critic; pass critic: nil (or use gae)")
        }
        if let critic {
            guard critic.kind == .critic else { throw fail("critic", "must be a ScalarModel of kind .critic, got \(critic.kind.rawValue)") }
            guard critic.config.vocabSize == actor.config.vocabSize else {
                throw fail("critic", "reads a vocabulary of \(critic.config.vocabSize) tokens, the actor \(actor.config.vocabSize)")
            }
        }
        if options.freezingActorSteps > 0 && critic == nil {
            throw fail("freezingActorSteps", "freezes the actor while the critic warms up; without a critic nothing would train")
        }
        if let reference {
            guard reference !== actor else {
                throw fail("reference", "is the actor itself; pass a frozen copy (actor.frozen()) made before training")
            }
            guard reference.config.vocabSize == actor.config.vocabSize else {
                throw fail("reference", "reads a vocabulary of \(reference.config.vocabSize) tokens, the actor \(actor.config.vocabSize)")
            }
        } else if options.initKLCoef > 0 || options.useKLLoss {
            let why = "initKLCoef = \(options.initKLCoef)" + (options.useKLLoss ? ", useKLLoss" : "")
            throw fail("reference", "is needed for the KL penalty (\(why)); pass actor.frozen() made before training, or set initKLCoef = 0")
        }
        guard tokenizer.eosTokenID != nil || !actor.config.eosTokenIDs.isEmpty else {
            throw fail("tokenizer", "has no EOS token, so responses could never end; use a tokenizer with one")
        }
        try reward.validate(vocabularySize: actor.config.vocabSize)
        guard prompts.count >= options.rolloutBatchSize else {
            throw fail(
                "rolloutBatchSize",
                "is \(options.rolloutBatchSize) but there are only \(prompts.count) prompts; lower it or add prompts")
        }
        let parameters = actor.trainableParameters()
        guard !parameters.isEmpty else { throw fail("actor", "has no trainable parameters (is it frozen?)") }
        try checkOnlineTrainingMemory(
            actor: actor, reference: reference, critic: critic, reward: reward, prompts: prompts, options: options,
            stage: stageName ?? estimator.stageName)

        self.actor = actor
        self.reference = reference
        self.critic = critic
        self.prompts = prompts
        self.evalPrompts = evalPrompts
        self.options = options
        maker = ExperienceMaker(actor: actor, reference: reference, critic: critic, reward: reward, tokenizer: tokenizer, options: options)
        rolloutsPerEpisode = prompts.count / options.rolloutBatchSize
        totalRollouts = min(options.numEpisodes * rolloutsPerEpisode, options.maxSteps ?? .max)
        let stepsPerRollout = (options.rolloutSamples / options.trainBatchSize) * options.maxEpochs
        // The schedule spans every rollout, frozen ones included (OpenRLHF's `max_steps`).
        let totalSteps = totalRollouts * stepsPerRollout
        totalActorSteps = (totalRollouts - min(max(options.freezingActorSteps, 0), totalRollouts)) * stepsPerRollout

        var config = options.configValues
        config["reward"] = .string(reward.summary)
        config["prompts"] = .int(prompts.count)
        config["eval_prompts"] = .int(evalPrompts.count)
        config["total_rollouts"] = .int(totalRollouts)
        config["reference"] = .bool(reference != nil)
        stage = try context.beginStage(stageName ?? estimator.stageName, config: config, statsEvery: options.training.statsEvery)
        actorLoop = try OptimizerLoop(parameters: parameters, options: options.training, totalSteps: totalSteps, stage: stage)
        if let critic {
            let criticParameters = critic.trainableParameters()
            guard !criticParameters.isEmpty else { throw fail("critic", "has no trainable parameters (is it frozen?)") }
            var criticConfig = config
            criticConfig["learning_rate"] = .double(options.criticLearningRate)
            let s = try context.beginStage(stage.name + "_critic", config: criticConfig, statsEvery: options.training.statsEvery)
            criticStage = s
            criticLoop = try OptimizerLoop(parameters: criticParameters, options: options.criticTraining, totalSteps: totalSteps, stage: s)
        } else {
            criticStage = nil
            criticLoop = nil
        }
        state = OnlineState(
            sampler: Sampler(count: prompts.count, rng: stage.rng.fork("prompts")), klCoefficient: KLCoefficient(options),
            stream: stage.rng)
        var models = [CheckpointedModel(role: "actor", loop: actorLoop)]
        if let criticLoop { models.append(CheckpointedModel(role: "critic", loop: criticLoop)) }
        runner = StageRunner(
            kind: estimator.stageName, stage: stage, models: models, totalSteps: totalRollouts,
            evalEvery: options.evalSteps > 0 ? options.evalSteps : rolloutsPerEpisode, saveSteps: options.saveSteps,
            ckptPath: options.ckptPath, maxCkptNum: options.training.maxCkptNum, loadCheckpoint: options.loadCheckpoint)
        if let key = options.saveBest {
            runner.best = BestCheckpoint(key: key) { [unowned self] values in self.bestMetric(key, in: values) }
        }
    }

    // MARK: - The loop

    func run() throws -> PPOSummary {
        let stopped = try runner.run(
            extra: { state },
            restore: { saved, directory in try restore(saved, from: directory) },
            step: { r in
                do { return try rollout(r) } catch TrainingError.stopped { return .stopNow }
            },
            evaluate: evalPrompts.isEmpty ? nil : { try self.evaluate() })
        return PPOSummary(
            stage: stage.name, rollouts: runner.step, totalRollouts: totalRollouts, actorSteps: actorLoop.step,
            criticSteps: criticLoop?.step ?? 0, totalActorSteps: totalActorSteps, stopped: stopped,
            klCoef: state.klCoefficient.value, lastRollout: runner.metrics, evaluations: evaluations,
            evalHistory: runner.evalHistory, resumedFromStep: runner.resumedFromStep)
    }

    /// Runs `body`, recording its error in the run file (for failures outside the optimizer loop,
    /// which records its own).
    private func recorded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw stage.fail(error, step: actorLoop.step + 1) }
    }

    /// Seconds since `start`.
    private func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Rollout `r`: generate, score, train the critic and the actor, update β.
    private func rollout(_ r: Int) throws -> StepEnd {
        // 1. Rollout.
        var started = DispatchTime.now().uptimeNanoseconds
        let remaining = state.sampler.count - state.sampler.cursor
        if remaining > 0 && remaining < options.rolloutBatchSize { _ = state.sampler.next(remaining) }  // drop_last
        let indices = state.sampler.next(options.rolloutBatchSize)
        let stream = state.stream
        // With dynamic filtering, sampling and scoring go round by round (DynamicSampling.swift).
        var filtering: [String: Double] = [:]
        var samples = try recorded {
            if options.dynamicFiltering {
                let sampled = try dynamicallySampled(r, first: indices, stream: stream)
                filtering = sampled.metrics
                return sampled.samples
            }
            return try maker.generate(
                indices.map { ($0, prompts[$0]) }, n: options.nSamplesPerPrompt, temperature: options.temperature,
                rng: stream.fork("rollout").fork(r), world: stage.context.world)
        }
        let rolloutSeconds = seconds(since: started)
        if stage.report(.rollout(stage: stage.name, step: r, samples: samples.count)) { return .stopNow }

        // 2. Experience.
        started = DispatchTime.now().uptimeNanoseconds
        let beta = state.klCoefficient.value
        let statistics = try recorded { () -> RolloutStatistics in
            if !options.dynamicFiltering { try maker.score(&samples, what: "\(stage.name) rollout \(r)") }
            if options.maskTruncatedCompletions {
                for i in samples.indices { samples[i].lossMasked = samples[i].finishReason == .length }
            }
            return try maker.computeAdvantages(&samples, klCoef: beta)
        }
        let experienceSeconds = seconds(since: started)
        let buffer = ReplayBuffer(samples)
        var metrics: [String: Double] = [
            "rollout": Double(r),
            "episode": Double((r - 1) / rolloutsPerEpisode + 1),
            "reward": statistics.reward,
            "return": statistics.totalReturn,
            "kl": statistics.kl,
            "kl_coef": beta,
            "response_length": statistics.responseLength,
            "total_length": statistics.totalLength,
            "advantage_mean": statistics.advantageMean,
            "advantage_std": statistics.advantageStd,
            "finished": statistics.finishedFraction,
            "logprobs_diff_max": statistics.logprobsDiffMax,
            "logprobs_diff_mean": statistics.logprobsDiffMean,
        ]
        if options.overlongBufferLen != nil { metrics["overlong_penalized"] = statistics.overlongPenalized }
        metrics.merge(filtering) { _, new in new }
        metrics.merge(rewardComponentMetrics(samples)) { _, new in new }
        if options.maskTruncatedCompletions { metrics["truncated_masked"] = 1 - statistics.finishedFraction }
        var timings: [String: Double] = [
            "time_rollout_s": rolloutSeconds,
            "time_experience_s": experienceSeconds,
            "time_rollout_tokens_per_s": rolloutSeconds > 0 ? Double(statistics.tokens) / rolloutSeconds : 0,
        ]
        var samplesToRecord = Array(samples.prefix(options.rolloutSamplesPerStep)).map(recordedSample)

        // 3. Critic.
        if let critic, let criticLoop, let criticStage {
            started = DispatchTime.now().uptimeNanoseconds
            var lossSum = 0.0, valueSum = 0.0, steps = 0
            for epoch in 0..<options.maxEpochs {
                let rng = stream.fork("replay").fork(r).fork("critic").fork(epoch)
                for micro in stepsOf(buffer, rng: rng) {
                    try criticStage.recorder?.record(metrics: metrics)
                    try criticStage.recorder?.record(timing: timings)
                    if r <= options.freezingActorSteps && !samplesToRecord.isEmpty {
                        try criticStage.recorder?.record(rollouts: samplesToRecord)
                        samplesToRecord = []
                    }
                    let result = try criticLoop.step { try criticStep(critic, loop: criticLoop, buffer: buffer, micro: micro) }
                    lossSum += result["critic_loss"] ?? 0
                    valueSum += result["values"] ?? 0
                    steps += 1
                }
            }
            metrics["critic_loss"] = lossSum / Double(max(steps, 1))
            metrics["values"] = valueSum / Double(max(steps, 1))
            timings["time_critic_s"] = seconds(since: started)
        }

        // 4. Actor.
        var trainedKL = 0.0, trainedSteps = 0, lastStep: [String: Double] = [:]
        started = DispatchTime.now().uptimeNanoseconds
        if r > options.freezingActorSteps {
            for epoch in 0..<options.maxEpochs {
                let rng = stream.fork("replay").fork(r).fork("actor").fork(epoch)
                for micro in stepsOf(buffer, rng: rng) {
                    try stage.recorder?.record(metrics: metrics)
                    try stage.recorder?.record(timing: timings)
                    if !samplesToRecord.isEmpty {
                        try stage.recorder?.record(rollouts: samplesToRecord)
                        samplesToRecord = []
                    }
                    let result = try actorLoop.step { try actorStep(buffer: buffer, micro: micro, beta: beta) }
                    lastStep = result
                    trainedKL += result["actor_kl"] ?? 0
                    trainedSteps += 1
                }
            }
        }

        // 5. β: OpenRLHF feeds the controller the KL of the rollout (or, with the KL as a loss
        // term, the KL measured while training), here a mean over valid tokens.
        let measured = options.useKLLoss ? trainedKL / Double(max(trainedSteps, 1)) : statistics.kl
        state.klCoefficient.update(current: measured, nSteps: options.rolloutSamples)
        var summary = lastStep.merging(metrics) { step, _ in step }.merging(timings) { value, _ in value }
        summary["time_train_s"] = seconds(since: started) + (timings["time_critic_s"] ?? 0)
        summary["rollouts"] = Double(r)
        summary["critic_steps"] = Double(criticLoop?.step ?? 0)
        runner.metrics = summary
        // 6. Evaluation and checkpoint: the runner's.
        return .next
    }

    /// One pass over the buffer: the micro-batches of each optimizer step.
    private func stepsOf(_ buffer: ReplayBuffer, rng: RNG) -> [[[Int]]] {
        buffer.steps(trainBatchSize: options.trainBatchSize, microTrainBatchSize: options.microTrainBatchSize, rng: rng)
    }

    /// A rollout sample as the run file keeps it.
    private func recordedSample(_ s: RolloutExperience) -> RolloutSample {
        RolloutSample(
            promptIDs: s.prompt.ids.map { Int32($0) }, responseIDs: s.responseIDs.map { Int32($0) }, reward: s.reward,
            advantages: s.advantages.map { Double($0) }, logprobs: s.actionLogProbs.map { Double($0) },
            promptText: s.prompt.text, responseText: s.responseText)
    }

    // MARK: - Evaluation

    /// pass@1 and pass@k on the eval prompts (the runner evaluates before the first rollout, every
    /// `evalSteps` rollouts — or once per episode — and after the last).
    private func evaluate() throws -> [String: Double] {
        let result = try evaluatePassAtK(
            model: actor, prompts: evalPrompts, reward: maker.reward, tokenizer: maker.tokenizer,
            nSamplesPerPrompt: options.evalNSamplesPerPrompt, temperature: options.evalTemperature,
            topP: options.topP, maxNewTokens: options.generateMaxLen, promptMaxLen: options.promptMaxLen,
            microBatchSize: options.microRolloutBatchSize, rng: state.stream.fork("eval"))
        var metrics = result.metrics
        metrics["rollout"] = Double(runner.step)
        evaluations.append(RLEvaluationPoint(rollout: runner.step, step: actorLoop.step, result: result))
        return metrics
    }

    /// The value of `saveBest`'s metric in an evaluation: an eval metric by its run-file name,
    /// with or without OpenRLHF's `eval_` prefix; `pass1` and `pass<k>` over every prompt.
    private func bestMetric(_ key: String, in values: [String: Double]) -> Double? {
        let name = key.hasPrefix("eval_") ? String(key.dropFirst(5)) : key
        if let value = values[name] { return value }
        guard let result = evaluations.last?.result else { return nil }
        if name == "pass1" { return result.passAt1 }
        return name == "pass\(result.k)" ? result.passAtK : nil
    }

    // MARK: - Checkpoints

    /// Checks that a checkpoint fits this run and restores the prompt cursor, β and the stream.
    private func restore(_ saved: OnlineState, from directory: URL) throws {
        guard saved.sampler.count == prompts.count else {
            throw TrainingError.checkpoint(
                "\(directory.path) was written by a run over \(saved.sampler.count) prompts, this run has \(prompts.count); "
                    + "resume with the same prompts and options, or use another ckptPath")
        }
        guard saved.stream == stage.rng else {
            throw TrainingError.checkpoint(
                "\(directory.path) was written by a run with another seed; resume with the same seed, or use another ckptPath")
        }
        state = saved
    }
}
