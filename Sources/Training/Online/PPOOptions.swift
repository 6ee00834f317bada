import Alignment
import Foundation
import Recording

/// Options of online RL (PPO, REINFORCE++, RLOO, REINFORCE++-baseline, GRPO, Dr. GRPO), named as
/// OpenRLHF v0.7.0's `train_ppo_ray.py` names its flags (in Swift case), with its defaults.
///
/// One *rollout* (OpenRLHF's global step) samples `nSamplesPerPrompt` responses for each of
/// `rolloutBatchSize` prompts, turns them into experience, and trains on that replay buffer for
/// `maxEpochs` passes of shuffled micro-batches of `microTrainBatchSize`; every `trainBatchSize`
/// samples make one optimizer step whose loss is one exact token mean. An episode is one pass
/// over the prompts. `evalSteps`, `saveSteps` and `training.maxSteps` count rollouts (OpenRLHF's
/// global steps).
///
/// ```swift
/// var options = PPOOptions()
/// options.advantageEstimator = .groupNorm
/// options.nSamplesPerPrompt = 8
/// options.rolloutBatchSize = 16
/// options.trainBatchSize = 128
/// ```
public struct PPOOptions: Codable, Equatable, Sendable {
    /// How advantages are estimated (OpenRLHF `--advantage_estimator`); `gae` needs a critic.
    public var advantageEstimator: AdvantageEstimator = .gae
    /// Responses sampled per prompt; the group estimators need at least 2.
    public var nSamplesPerPrompt: Int = 1
    /// Prompts per rollout.
    public var rolloutBatchSize: Int = 1024
    /// Samples per forward pass while making experience (log-probs, values, rewards).
    public var microRolloutBatchSize: Int = 8
    /// Passes over the prompts.
    public var numEpisodes: Int = 1
    /// Prompts longer than this keep their last tokens.
    public var promptMaxLen: Int = 1024
    /// Tokens generated at most per response.
    public var generateMaxLen: Int = 1024
    /// Sampling temperature of rollouts; the training forward divides the logits by it too.
    public var temperature: Double = 1
    /// Nucleus sampling of rollouts.
    public var topP: Double = 1
    /// Sampling temperature of evaluation (0: greedy).
    public var evalTemperature: Double = 0.6
    /// Samples per eval prompt: pass@k uses k = this.
    public var evalNSamplesPerPrompt: Int = 4
    /// β, the KL coefficient (the adaptive controller's start value).
    public var initKLCoef: Double = 0.01
    /// The KL the adaptive controller steers to; nil: β stays `initKLCoef`.
    public var klTarget: Double? = nil
    /// Samples over which the adaptive β may change by a factor e^{±0.2}.
    public var klHorizon: Double = 10_000
    /// k1, k2 or k3 (Schulman's estimators).
    public var klEstimator: KLEstimator = .k1
    /// Put β·KL in the loss (GRPO) instead of the reward.
    public var useKLLoss: Bool = false
    /// Discount; the group estimators need 1.
    public var gamma: Double = 1
    /// GAE's λ.
    public var lambd: Double = 1
    /// PPO's ratio clip ε.
    public var epsClip: Double = 0.2
    /// Clip of the value loss around the rollout's values; nil: unclipped.
    public var valueClip: Double? = 0.2
    /// Weight of the entropy bonus (the loss subtracts `entropyCoef · entropy`); 0: none.
    public var entropyCoef: Double = 0
    /// The scalar reward is clamped to this range (after the group baseline); nil: no clipping.
    public var rewardClipRange: ClosedRange<Double>? = -10...10
    /// Keep the buffer's advantage normalisation to centring (no division by the std).
    public var noAdvantageStdNorm: Bool = false
    /// Rollouts during which only the critic trains (OpenRLHF trains the actor when
    /// `global_step > freezingActorSteps`, steps from 1).
    public var freezingActorSteps: Int = -1
    /// Learning rate of the critic (the actor's is `actorLearningRate`).
    public var criticLearningRate: Double = 9e-6
    /// Resume from the checkpoint in `ckptPath` when there is one (OpenRLHF `--load_checkpoint`).
    public var loadCheckpoint: Bool = false
    /// How many samples of each rollout (its first ones) the run file keeps, with their text.
    public var rolloutSamplesPerStep: Int = 4
    /// The actor's optimizer, batch sizes, schedule, `maxEpochs`, `evalSteps`, `saveSteps`,
    /// `ckptPath`; the critic uses the same with `criticLearningRate`.
    public var training: TrainingOptions

    public init() {
        training = TrainingOptions()
        training.learningRate = 1e-6
        training.trainBatchSize = 128
        training.microTrainBatchSize = 4
        training.evalSteps = -1
    }

    /// The actor's learning rate (`training.learningRate`).
    public var actorLearningRate: Double {
        get { training.learningRate }
        set { training.learningRate = newValue }
    }

    /// Samples per optimizer step.
    public var trainBatchSize: Int {
        get { training.trainBatchSize }
        set { training.trainBatchSize = newValue }
    }

    /// Samples per forward and backward pass while training.
    public var microTrainBatchSize: Int {
        get { training.microTrainBatchSize }
        set { training.microTrainBatchSize = newValue }
    }

    /// Passes over each replay buffer.
    public var maxEpochs: Int {
        get { training.maxEpochs }
        set { training.maxEpochs = newValue }
    }

    /// Evaluate every this many rollouts; 0 or less: once per episode. There is always an
    /// evaluation before the first rollout and after the last.
    public var evalSteps: Int {
        get { training.evalSteps }
        set { training.evalSteps = newValue }
    }

    /// Write a checkpoint into `ckptPath` every this many rollouts (0 or less: never).
    public var saveSteps: Int {
        get { training.saveSteps }
        set { training.saveSteps = newValue }
    }

    /// Stop after this many rollouts (nil: `numEpisodes` passes over the prompts).
    public var maxSteps: Int? {
        get { training.maxSteps }
        set { training.maxSteps = newValue }
    }

    /// The checkpoint folder.
    public var ckptPath: String? {
        get { training.ckptPath }
        set { training.ckptPath = newValue }
    }

    /// Samples per rollout.
    public var rolloutSamples: Int { rolloutBatchSize * nSamplesPerPrompt }

    /// The critic's optimizer options: the actor's with `criticLearningRate`.
    public var criticTraining: TrainingOptions {
        var options = training
        options.learningRate = criticLearningRate
        return options
    }

    /// Checks the options, naming the first that is wrong and how to fix it.
    public func validate() throws {
        func fail(_ name: String, _ message: String) throws { throw TrainingError.invalidOption(name, message) }
        try training.validate()
        if let maxSteps = training.maxSteps, maxSteps < 1 {
            try fail("maxSteps", "must be ≥ 1 rollouts (or nil: numEpisodes × prompts / rolloutBatchSize), got \(maxSteps)")
        }
        if nSamplesPerPrompt < 1 { try fail("nSamplesPerPrompt", "must be ≥ 1, got \(nSamplesPerPrompt)") }
        if advantageEstimator.usesGroups && nSamplesPerPrompt < 2 {
            let reason = AlignmentError.groupTooSmall(estimator: advantageEstimator.rawValue, nSamplesPerPrompt: nSamplesPerPrompt)
            try fail("nSamplesPerPrompt", "is \(nSamplesPerPrompt): \(reason)")
        }
        if advantageEstimator.usesGroups && gamma != 1 {
            try fail("gamma",
                     "must be 1 for \(advantageEstimator.rawValue) (its baseline-shaped reward sits on the last token), got \(gamma)")
        }
        if rolloutBatchSize < 1 { try fail("rolloutBatchSize", "must be ≥ 1, got \(rolloutBatchSize)") }
        if microRolloutBatchSize < 1 { try fail("microRolloutBatchSize", "must be ≥ 1, got \(microRolloutBatchSize)") }
        if rolloutSamples % trainBatchSize != 0 {
            try fail("trainBatchSize",
                     "must divide the samples of a rollout, rolloutBatchSize × nSamplesPerPrompt = \(rolloutSamples), "
                        + "got \(trainBatchSize)")
        }
        if numEpisodes < 1 { try fail("numEpisodes", "must be ≥ 1, got \(numEpisodes)") }
        if promptMaxLen < 1 { try fail("promptMaxLen", "must be ≥ 1, got \(promptMaxLen)") }
        if generateMaxLen < 1 { try fail("generateMaxLen", "must be ≥ 1, got \(generateMaxLen)") }
        if !(temperature > 0) || !temperature.isFinite {
            try fail("temperature", "must be > 0 (rollouts are sampled, and the training forward divides by it), got \(temperature)")
        }
        if !(topP > 0 && topP <= 1) { try fail("topP", "must be in (0, 1], got \(topP)") }
        if !(evalTemperature >= 0) || !evalTemperature.isFinite {
            try fail("evalTemperature", "must be ≥ 0 (0: greedy), got \(evalTemperature)")
        }
        if evalNSamplesPerPrompt < 1 { try fail("evalNSamplesPerPrompt", "must be ≥ 1, got \(evalNSamplesPerPrompt)") }
        if !(initKLCoef >= 0) || !initKLCoef.isFinite { try fail("initKLCoef", "must be ≥ 0, got \(initKLCoef)") }
        if let klTarget, !(klTarget > 0) { try fail("klTarget", "must be > 0 (or nil for a fixed β), got \(klTarget)") }
        if !(klHorizon > 0) { try fail("klHorizon", "must be > 0, got \(klHorizon)") }
        if !(0...1).contains(gamma) { try fail("gamma", "must be in [0, 1], got \(gamma)") }
        if !(0...1).contains(lambd) { try fail("lambd", "must be in [0, 1], got \(lambd)") }
        if !(epsClip > 0) { try fail("epsClip", "must be > 0, got \(epsClip)") }
        if let valueClip, !(valueClip > 0) { try fail("valueClip", "must be > 0 (or nil for no clipping), got \(valueClip)") }
        if !entropyCoef.isFinite { try fail("entropyCoef", "must be finite, got \(entropyCoef)") }
        if let range = rewardClipRange, !(range.lowerBound < range.upperBound) || !range.lowerBound.isFinite || !range.upperBound.isFinite {
            try fail("rewardClipRange", "must be a finite range low...high with low < high, got \(range)")
        }
        if !(criticLearningRate > 0) { try fail("criticLearningRate", "must be > 0, got \(criticLearningRate)") }
        if rolloutSamplesPerStep < 0 { try fail("rolloutSamplesPerStep", "must be ≥ 0, got \(rolloutSamplesPerStep)") }
        if (saveSteps > 0 || loadCheckpoint) && (ckptPath ?? "").isEmpty {
            try fail("ckptPath", "is needed by \(loadCheckpoint ? "loadCheckpoint" : "saveSteps"); give the checkpoint folder")
        }
    }

    /// Every option, for the run file's stage config.
    public var configValues: [String: ConfigValue] {
        var values: [String: ConfigValue] = [
            "advantage_estimator": .string(advantageEstimator.rawValue),
            "n_samples_per_prompt": .int(nSamplesPerPrompt),
            "rollout_batch_size": .int(rolloutBatchSize),
            "micro_rollout_batch_size": .int(microRolloutBatchSize),
            "train_batch_size": .int(trainBatchSize),
            "micro_train_batch_size": .int(microTrainBatchSize),
            "max_epochs": .int(maxEpochs),
            "num_episodes": .int(numEpisodes),
            "prompt_max_len": .int(promptMaxLen),
            "generate_max_len": .int(generateMaxLen),
            "temperature": .double(temperature),
            "top_p": .double(topP),
            "eval_temperature": .double(evalTemperature),
            "eval_n_samples_per_prompt": .int(evalNSamplesPerPrompt),
            "eval_steps": .int(evalSteps),
            "save_steps": .int(saveSteps),
            "init_kl_coef": .double(initKLCoef),
            "kl_horizon": .double(klHorizon),
            "kl_estimator": .string(klEstimator.rawValue),
            "use_kl_loss": .bool(useKLLoss),
            "gamma": .double(gamma),
            "lambd": .double(lambd),
            "eps_clip": .double(epsClip),
            "entropy_coef": .double(entropyCoef),
            "no_advantage_std_norm": .bool(noAdvantageStdNorm),
            "freezing_actor_steps": .int(freezingActorSteps),
            "actor_learning_rate": .double(actorLearningRate),
            "critic_learning_rate": .double(criticLearningRate),
            "max_norm": .double(training.maxNorm),
            "l2": .double(training.l2),
            "adam_betas": .doubles(training.adamBetas),
            "lr_warmup_ratio": .double(training.lrWarmupRatio),
            "lr_scheduler": .string(training.lrScheduler),
            "load_checkpoint": .bool(loadCheckpoint),
            "rollout_samples_per_step": .int(rolloutSamplesPerStep),
        ]
        if let klTarget { values["kl_target"] = .double(klTarget) }
        if let valueClip { values["value_clip"] = .double(valueClip) }
        if let range = rewardClipRange { values["reward_clip_range"] = .doubles([range.lowerBound, range.upperBound]) }
        if let ckptPath { values["ckpt_path"] = .string(ckptPath) }
        if let maxSteps { values["max_steps"] = .int(maxSteps) }
        return values
    }
}
