import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Tokenizers

// On-policy distillation (Agarwal et al. 2024, GKD with λ = 1; Thinking Machines 2025), as TRL
// v1.16.0's `GKDTrainer` with `lmbda=1`: every step the student samples `trainBatchSize` responses
// (`nSamplesPerPrompt` per prompt) at `temperature`, the frozen teacher scores every position of
// every sampled response, and the student minimises GKD's generalized JSD to the teacher at those
// positions (`gkdLoss`; β = 1, the default, is the per-token reverse KL(student ‖ teacher)), one
// token mean per optimizer step. No reward is needed to train; the task's reward only measures
// the student's rollouts and the held-out pass@k.
//
// The run file gets one row per step: `loss` (the divergence), `reward` and `response_length` of
// the student's rollouts, `teacher_tokens` (positions the teacher has scored so far: the budget a
// comparison with `kd` holds equal), and the first `rolloutSamplesPerStep` samples with their text;
// a sample's advantages are the per-token `log π_teacher − log π_student` of its tokens (the
// reverse KL's per-token reward). Evaluations are pass@1 / pass@k per datasource, as RL's.

/// On-policy distillation's options; the shared training options are lifted in.
public struct OnPolicyDistillationOptions: Codable, Equatable, Sendable, DeclaredOptions {
    // Each field is documented and checked by its row in `options`.
    public var beta: Double = 1
    public var nSamplesPerPrompt: Int = 1
    public var generateMaxLen: Int = 16
    public var temperature: Double = 1
    public var numEpisodes: Int = 1
    public var microRolloutBatchSize: Int = 16
    public var evalNSamplesPerPrompt: Int = 4
    public var evalTemperature: Double = 0.6
    public var rolloutSamplesPerStep: Int = 4
    /// The student's optimizer, batch sizes, schedule and cadence.
    public var training: TrainingOptions

    public init() {
        training = TrainingOptions.defaults(learningRate: 1e-3)
        training.microTrainBatchSize = 16
        training.trainBatchSize = 32
        training.lrWarmupRatio = 0
        training.lrScheduler = .constant
    }

    public static let internalFields = [
        "training":
            "its rows are the shared training options' (less maxLen, packing, lossAggregation and maxEpochs, which on-policy distillation does not use)"
    ]

    public static let options: [OptionRow<OnPolicyDistillationOptions>] = [
        .double("beta", \.beta, "GKD's β: 1 reverse KL(student ‖ teacher), 0 forward KL, between: the generalized JSD.", check: unitInterval),
        .int("nSamplesPerPrompt", \.nSamplesPerPrompt, "Responses the student samples per prompt.", check: between(1, 1_024)),
        training("learningRate"),
        training("microTrainBatchSize"),
        training("trainBatchSize").checking { o in
            o.training.trainBatchSize % o.nSamplesPerPrompt == 0
                ? nil : "must be a multiple of nSamplesPerPrompt (\(o.nSamplesPerPrompt)): each step samples whole groups"
        },
        .int("generateMaxLen", \.generateMaxLen, "Tokens the student generates at most per response.", check: between(1, 1_048_576)),
        .double("temperature", \.temperature, "Sampling temperature, and the divergence's (TRL divides both logits by it).") { t, _ in
            t > 0 && t.isFinite ? nil : "must be > 0, got \(t)"
        },
        .int("numEpisodes", \.numEpisodes, "Passes over the prompts.", check: between(1, 1_000_000)),
        training("evalSteps"),
        .int("evalNSamplesPerPrompt", \.evalNSamplesPerPrompt, "Samples per eval prompt: the k of pass@k.", check: between(1, 1_024)),
        .double("evalTemperature", \.evalTemperature, "Evaluation temperature (0: greedy).", check: nonNegative),
        training("maxSteps"),
        .int("microRolloutBatchSize", \.microRolloutBatchSize, "Responses sampled per batch.", check: between(1, 65_536)),
        .int("rolloutSamplesPerStep", \.rolloutSamplesPerStep, "Samples of each step the run file keeps, with their text.", check: atLeast(0)),
        training("statsEvery"),
        training("maxNorm"),
        training("l2"),
        training("adamBetas"),
        training("lrWarmupRatio"),
        training("lrScheduler"),
        training("saveSteps"),
        training("ckptPath"),
        training("maxCkptNum"),
        training("loadCheckpoint"),
    ]

    /// Prompts per step.
    public var promptsPerStep: Int { training.trainBatchSize / nSamplesPerPrompt }

    private static func training(_ name: String) -> OptionRow<OnPolicyDistillationOptions> {
        TrainingOptions.option(named: name)!.lifted(\OnPolicyDistillationOptions.training)
    }
}

/// Distils `teacher` into `student` on the student's own samples of `prompts`; see the file comment.
///
/// - Parameters:
///   - reward: Measures the student's rollouts and its held-out pass@k; it does not train.
/// - Returns: The summary every trainer returns (`steps` counts optimizer steps).
/// - Throws: ``TrainingError`` for bad options or models, a failing reward, a non-finite loss.
public func trainOnPolicyDistillation(
    _ student: CausalLM, teacher: CausalLM, prompts: [PromptExample], evalPrompts: [PromptExample] = [],
    reward: RewardSource, tokenizer: any TextTokenizer, options: OnPolicyDistillationOptions, context: RunContext
) throws -> TrainingSummary {
    try options.validate()
    guard teacher !== student else { throw TrainingError.invalidOption("teacher", "is the student itself; pass another model") }
    guard teacher.config.vocabSize == student.config.vocabSize else {
        throw TrainingError.invalidOption(
            "teacher",
            "has a vocabulary of \(teacher.config.vocabSize), the student \(student.config.vocabSize); distillation needs the same tokenizer")
    }
    guard prompts.count >= options.promptsPerStep else {
        throw TrainingError.invalidOption(
            "trainBatchSize", "needs \(options.promptsPerStep) prompts a step but there are only \(prompts.count); lower it or add prompts")
    }
    try reward.validate(vocabularySize: student.config.vocabSize)
    let parameters = student.trainableParameters()
    guard !parameters.isEmpty else { throw TrainingError.invalidOption("student", "has no trainable parameters (is it frozen?)") }

    // Sampling and pass@k as online RL does them.
    var sampling = PPOOptions()
    sampling.generateMaxLen = options.generateMaxLen
    sampling.temperature = options.temperature
    sampling.microRolloutBatchSize = options.microRolloutBatchSize
    let maker = ExperienceMaker(actor: student, reference: nil, critic: nil, reward: reward, tokenizer: tokenizer, options: sampling)
    let stepsPerEpisode = prompts.count / options.promptsPerStep
    let totalSteps = min(options.numEpisodes * stepsPerEpisode, options.training.maxSteps ?? .max)
    var config = options.configValues
    config["reward"] = .string(reward.summary)
    config["prompts"] = .int(prompts.count)
    config["eval_prompts"] = .int(evalPrompts.count)
    let stage = try context.beginStage("on_policy_distillation", config: config, statsEvery: options.training.statsEvery)
    let loop = try OptimizerLoop(parameters: parameters, options: options.training, totalSteps: totalSteps, stage: stage)
    var state = OnlineDistillationState(
        sampler: Sampler(count: prompts.count, rng: stage.rng.fork("prompts")), stream: stage.rng, teacherTokens: 0)
    let runner = StageRunner<OnlineDistillationState>(
        kind: "on_policy_distillation", stage: stage, models: [CheckpointedModel(role: "student", loop: loop)],
        totalSteps: totalSteps, evalEvery: options.training.evalSteps > 0 ? options.training.evalSteps : stepsPerEpisode,
        saveSteps: options.training.saveSteps, ckptPath: options.training.ckptPath, maxCkptNum: options.training.maxCkptNum,
        loadCheckpoint: options.training.loadCheckpoint)
    let pad = maker.padTokenID

    func step(_ n: Int) throws -> StepEnd {
        let remaining = state.sampler.count - state.sampler.cursor
        if remaining > 0 && remaining < options.promptsPerStep { _ = state.sampler.next(remaining) }  // drop_last
        let indices = state.sampler.next(options.promptsPerStep)
        var samples: [RolloutExperience]
        do {
            samples = try maker.generate(
                indices.map { ($0, prompts[$0]) }, n: options.nSamplesPerPrompt, temperature: options.temperature,
                rng: state.stream.fork("rollout").fork(n), world: context.world)
            let queries = samples.enumerated().map { i, s in
                RewardQuery(
                    index: i, prompt: s.prompt.text, response: s.responseText, label: s.prompt.label.isEmpty ? nil : s.prompt.label,
                    ids: s.ids)
            }
            let rewards = try reward.rewards(queries, microBatchSize: options.microRolloutBatchSize, padTokenID: pad, what: "\(stage.name) step \(n)")
            for i in samples.indices { samples[i].reward = rewards[i] }
        } catch { throw stage.fail(error, step: loop.step + 1) }
        if stage.report(.rollout(stage: stage.name, step: n, samples: samples.count)) { return .stopNow }

        let tokens = samples.reduce(0) { $0 + $1.responseIDs.count }
        state.teacherTokens += tokens
        let count = Double(max(samples.count, 1))
        try stage.recorder?.record(metrics: [
            "reward": samples.reduce(0) { $0 + $1.reward } / count,
            "response_length": Double(tokens) / count,
            "teacher_tokens": Double(state.teacherTokens),
        ])
        var recorded: [RolloutSample] = []
        _ = try loop.step {
            var loss = 0.0
            for start in stride(from: 0, to: samples.count, by: options.training.microTrainBatchSize) {
                let range = start..<min(start + options.training.microTrainBatchSize, samples.count)
                let batch = ActionBatch(samples[range].map { (prompt: $0.prompt.ids, response: $0.responseIDs) }, padTokenID: pad)
                let teacherLogits = try Tensor.withNoGrad { try teacher.logits(ids: batch.ids, batch: batch.batch, length: batch.length) }
                let logits = try student.logits(ids: batch.ids, batch: batch.batch, length: batch.length)
                let mask = Tensor(shape: [batch.batch, batch.length], data: batch.labels.map { $0 >= 0 ? 1 : 0 })
                let term = try gkdLoss(
                    studentLogits: logits, teacherLogits: teacherLogits, lossMask: mask, beta: Float(options.beta),
                    temperature: Float(options.temperature), tokenCount: max(tokens, 1))
                try term.backward()
                loss += Double(try term.item)
                if recorded.count < options.rolloutSamplesPerStep {
                    recorded += try recordedSamples(
                        Array(samples[range]), batch: batch, student: logits, teacher: teacherLogits,
                        temperature: Float(options.temperature), limit: options.rolloutSamplesPerStep - recorded.count)
                }
            }
            if !recorded.isEmpty { try stage.recorder?.record(rollouts: recorded) }
            return OptimizerLoop.StepResult(loss: loss, tokens: tokens)
        }
        return .next
    }

    let stopped = try runner.run(
        extra: { state },
        restore: { saved, directory in
            guard saved.sampler.count == prompts.count, saved.stream == stage.rng else {
                throw TrainingError.checkpoint(
                    "\(directory.path) was written by a run with other prompts or another seed; resume with the same, or use another ckptPath")
            }
            state = saved
        },
        step: step,
        evaluate: evalPrompts.isEmpty
            ? nil
            : {
                var metrics = try evaluatePassAtK(
                    model: student, prompts: evalPrompts, reward: reward, tokenizer: tokenizer,
                    nSamplesPerPrompt: options.evalNSamplesPerPrompt, temperature: options.evalTemperature,
                    maxNewTokens: options.generateMaxLen, microBatchSize: options.microRolloutBatchSize,
                    rng: state.stream.fork("eval")
                ).metrics
                metrics["teacher_tokens"] = Double(state.teacherTokens)
                return metrics
            })
    return TrainingSummary(
        stage: stage.name, steps: loop.step, totalSteps: totalSteps, metrics: runner.metrics, evalHistory: runner.evalHistory,
        resumedFromStep: runner.resumedFromStep, stopped: stopped)
}

/// What a checkpoint of on-policy distillation holds besides the student.
struct OnlineDistillationState: Codable {
    var sampler: Sampler
    var stream: RNG
    /// Positions the teacher has scored so far.
    var teacherTokens: Int
}

/// The first `limit` samples of a micro-batch as the run file keeps them; advantages are the
/// per-token `log π_teacher − log π_student` of the sampled tokens.
private func recordedSamples(
    _ samples: [RolloutExperience], batch: ActionBatch, student: Tensor, teacher: Tensor, temperature: Float, limit: Int
) throws -> [RolloutSample] {
    let (studentLogProbs, teacherLogProbs) = try Tensor.withNoGrad {
        (
            try batch.gatherActions(logProbs(student.detached(), labels: batch.labels, temperature: temperature)),
            try batch.gatherActions(logProbs(teacher, labels: batch.labels, temperature: temperature))
        )
    }
    return samples.prefix(limit).enumerated().map { row, s in
        let own = batch.row(studentLogProbs, row), target = batch.row(teacherLogProbs, row)
        return RolloutSample(
            promptIDs: s.prompt.ids.map { Int32($0) }, responseIDs: s.responseIDs.map { Int32($0) }, reward: s.reward,
            advantages: zip(target, own).map { Double($0) - Double($1) }, logprobs: own.map { Double($0) },
            promptText: s.prompt.text, responseText: s.responseText)
    }
}
