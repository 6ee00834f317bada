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
public struct PPOOptions: Codable, Equatable, Sendable, DeclaredOptions {
    // Each field is documented and checked by its row in `options`.
    public var advantageEstimator: AdvantageEstimator = .gae
    public var nSamplesPerPrompt: Int = 1
    public var rolloutBatchSize: Int = 1024
    public var microRolloutBatchSize: Int = 8
    public var numEpisodes: Int = 1
    public var promptMaxLen: Int = 1024
    public var generateMaxLen: Int = 1024
    public var temperature: Double = 1
    public var topP: Double = 1
    public var evalTemperature: Double = 0.6
    public var evalNSamplesPerPrompt: Int = 4
    public var initKLCoef: Double = 0.01
    public var klTarget: Double? = nil
    public var klHorizon: Double = 10_000
    public var klEstimator: KLEstimator = .k1
    public var useKLLoss: Bool = false
    public var gamma: Double = 1
    public var lambd: Double = 1
    public var epsClip: Double = 0.2
    public var epsClipLowHigh: [Double]? = nil
    public var dualClip: Double? = nil
    public var policyLossType: PolicyLossType = .ppo
    public var tisCap: Double? = nil
    public var seqMaskTIS: [Double]? = nil
    public var overlongBufferLen: Double? = nil
    public var overlongPenaltyFactor: Double = 1
    public var dynamicFiltering: Bool = false
    public var dynamicFilteringRange: [Double] = [0, 1]
    public var maxNumGenBatches: Int = 10
    public var maskTruncatedCompletions: Bool = false
    public var saveBest: String? = nil
    public var valueClip: Double? = 0.2
    public var entropyCoef: Double = 0
    public var rewardClipRange: ClosedRange<Double>? = -10...10
    public var noAdvantageStdNorm: Bool = false
    public var freezingActorSteps: Int = -1
    public var criticLearningRate: Double = 9e-6
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

    /// Resume from the newest checkpoint in `ckptPath` when there is one.
    public var loadCheckpoint: Bool {
        get { training.loadCheckpoint }
        set { training.loadCheckpoint = newValue }
    }

    /// The checkpoint folder.
    public var ckptPath: String? {
        get { training.ckptPath }
        set { training.ckptPath = newValue }
    }

    /// The ratio's clips (ε_low, ε_high): clip-higher's pair, or the symmetric ε twice.
    public var clipEpsLowHigh: (low: Double, high: Double) {
        guard let e = epsClipLowHigh, e.count == 2 else { return (epsClip, epsClip) }
        return (e[0], e[1])
    }

    /// Samples per rollout.
    public var rolloutSamples: Int { rolloutBatchSize * nSamplesPerPrompt }

    /// The critic's optimizer options: the actor's with `criticLearningRate`.
    public var criticTraining: TrainingOptions {
        var options = training
        options.learningRate = criticLearningRate
        return options
    }

    public static let internalFields = [
        "training": "its rows are the shared training options' (less maxLen, packing and lossAggregation, which RL does not use)"
    ]

    /// In the order recipes have always written them; the shared training options are lifted in
    /// among PPO's own.
    public static let options: [OptionRow<PPOOptions>] = [
        .choice("advantageEstimator", \.advantageEstimator, "How advantages are estimated; gae needs a critic."),
        .int("nSamplesPerPrompt", \.nSamplesPerPrompt, "Responses sampled per prompt (≥ 2 for group estimators).") { n, o in
            if n < 1 || n > 1_024 { return "must be between 1 and 1024, got \(n)" }
            guard o.advantageEstimator.usesGroups && n < 2 else { return nil }
            return "is \(n): \(AlignmentError.groupTooSmall(estimator: o.advantageEstimator.rawValue, nSamplesPerPrompt: n))"
        },
        .int("rolloutBatchSize", \.rolloutBatchSize, "Prompts per rollout.", check: between(1, 1_048_576)),
        .int("numEpisodes", \.numEpisodes, "Passes over the prompts.", check: between(1, 1_000_000)),
        training("maxEpochs"),
        training("learningRate", flag: "actor_learning_rate"),
        training("microTrainBatchSize"),
        training("trainBatchSize").checking { o in
            o.rolloutSamples % o.trainBatchSize == 0
                ? nil
                : "must divide the samples of a rollout, rolloutBatchSize × nSamplesPerPrompt = \(o.rolloutSamples), got \(o.trainBatchSize)"
        },
        .int("generateMaxLen", \.generateMaxLen, "Tokens generated at most per response.", check: between(1, 1_048_576)),
        .double("temperature", \.temperature, "Rollout temperature (the training forward divides by it too).") { t, _ in
            t > 0 && t.isFinite ? nil : "must be > 0 (rollouts are sampled, and the training forward divides by it), got \(t)"
        },
        .double("topP", \.topP, "Rollout nucleus mass.") { p, _ in p > 0 && p <= 1 ? nil : "must be in (0, 1], got \(p)" },
        .double("initKLCoef", \.initKLCoef, "β, the KL penalty (the adaptive controller's start).", check: nonNegative),
        .double("klTarget", \.klTarget, "The KL the adaptive controller steers to (nil: β stays initKLCoef).", check: positive),
        .choice("klEstimator", \.klEstimator, "Schulman's KL estimator."),
        .bool("useKLLoss", \.useKLLoss, "Put β·KL in the loss (GRPO) instead of the reward."),
        .double("gamma", \.gamma, "Discount (1 for the group estimators).") { g, o in
            if !(0...1).contains(g) { return "must be in [0, 1], got \(g)" }
            guard o.advantageEstimator.usesGroups && g != 1 else { return nil }
            return "must be 1 for \(o.advantageEstimator.rawValue) (its baseline-shaped reward sits on the last token), got \(g)"
        },
        .double("lambd", \.lambd, "GAE's λ.", check: unitInterval),
        .double("epsClip", \.epsClip, "PPO's ratio clip ε.", check: positive),
        .doubles("epsClipLowHigh", \.epsClipLowHigh, "Separate low and high ratio clips [ε_low, ε_high] (DAPO's clip-higher; nil: the symmetric ε).")
        {
            e, _ in
            e.count == 2 && e.allSatisfy({ $0 > 0 && $0.isFinite }) ? nil : "must be two clips [low, high], each > 0, got \(e)"
        },
        .double("dualClip", \.dualClip, "Dual-clip c: the loss of a negative advantage is bounded by −c·Â (nil: off).") { c, _ in
            c > 1 && c.isFinite ? nil : "must be > 1, got \(c)"
        },
        .choice("policyLossType", \.policyLossType, "Per-token (ppo) or per-sequence (gspo) importance ratio."),
        .double(
            "tisCap", \.tisCap, flag: "vllm_is_truncated_threshold",
            "Truncated importance sampling: weight each token by min(π_old / π_sampler, tisCap) (nil: off)."
        ) { c, o in
            if !(c > 0 && c.isFinite) { return "must be > 0, got \(c)" }
            return o.policyLossType == .ppo ? nil : "applies to policyLossType .ppo only, got .\(o.policyLossType.rawValue)"
        },
        .doubles(
            "seqMaskTIS", \.seqMaskTIS,
            "Sequence-level masking [low, high]: a response whose geometric-mean π_old / π_sampler is outside is left out of the loss, the others weighted by π_old / π_sampler per token (OpenRLHF's seq-mask-tis; nil: off)."
        ) { t, o in
            guard t.count == 2, t[0] >= 0, t[0] <= t[1], t[1].isFinite else { return "must be [low, high] with 0 ≤ low ≤ high, got \(t)" }
            if o.tisCap != nil { return "replaces tisCap; give one of them" }
            return o.policyLossType == .ppo ? nil : "applies to policyLossType .ppo only, got .\(o.policyLossType.rawValue)"
        },
        .double("overlongBufferLen", \.overlongBufferLen, "DAPO's soft overlong penalty starts this many tokens before generateMaxLen (nil: off).") {
            b, o in
            b > 0 && b <= Double(o.generateMaxLen) ? nil : "must be in (0, generateMaxLen = \(o.generateMaxLen)], got \(b)"
        },
        .double("overlongPenaltyFactor", \.overlongPenaltyFactor, "The overlong penalty at generateMaxLen tokens.", check: nonNegative),
        .bool(
            "dynamicFiltering", \.dynamicFiltering, flag: "dynamic_filtering_enable",
            "DAPO's dynamic sampling: drop prompt groups whose mean score is outside dynamicFilteringRange and sample new prompts in their place."
        ).checking { o in
            !o.dynamicFiltering || o.nSamplesPerPrompt > 1
                ? nil : "needs nSamplesPerPrompt > 1 (it judges a prompt by its group of responses), got \(o.nSamplesPerPrompt)"
        },
        .doubles("dynamicFilteringRange", \.dynamicFilteringRange, "Dynamic filtering keeps a group when low < its mean score < high.") {
            r, _ in
            r.count == 2 && r[0] < r[1] && r.allSatisfy(\.isFinite) ? nil : "must be [low, high] with low < high, got \(r)"
        },
        .int(
            "maxNumGenBatches", \.maxNumGenBatches,
            "Generation rounds per rollout at most with dynamic filtering (veRL's cap); then filtered groups fill the batch.",
            check: between(1, 1_000)),
        .bool(
            "maskTruncatedCompletions", \.maskTruncatedCompletions,
            "DAPO's overlong filtering: responses cut at generateMaxLen are left out of the loss (TRL's mask_truncated_completions)."),
        .double("entropyCoef", \.entropyCoef, "Weight of the entropy bonus (0: none)."),
        training("evalSteps"),
        .int("evalNSamplesPerPrompt", \.evalNSamplesPerPrompt, "Samples per eval prompt: the k of pass@k.", check: between(1, 1_024)),
        .double("evalTemperature", \.evalTemperature, "Evaluation temperature (0: greedy).", check: nonNegative),
        training("statsEvery"),
        training("maxSteps"),
        .int("microRolloutBatchSize", \.microRolloutBatchSize, "Samples per forward pass while making experience.", check: between(1, 65_536)),
        .int("promptMaxLen", \.promptMaxLen, "Prompts longer than this keep their last tokens.", check: between(1, 1_048_576)),
        .double("klHorizon", \.klHorizon, "Samples over which the adaptive β may change by e^±0.2.", check: positive),
        .double("valueClip", \.valueClip, "Clip of the value loss around the rollout's values (nil: none).", check: positive),
        OptionRow(
            "rewardClipRange", "The reward is clamped to [low, high] (nil: no clipping).", type: .optional(.doubles),
            read: { o in o.rewardClipRange.map { .doubles([$0.lowerBound, $0.upperBound]) } ?? OptionValue.none },
            write: { o, v in
                switch v {
                case .none: o.rewardClipRange = nil
                case .doubles(let b) where b.count == 2 && b[0] <= b[1]: o.rewardClipRange = b[0]...b[1]
                default: return false
                }
                return true
            },
            check: { o in
                guard let r = o.rewardClipRange, !(r.lowerBound < r.upperBound && r.lowerBound.isFinite && r.upperBound.isFinite)
                else { return nil }
                return "must be a finite range [low, high] with low < high, got \(r)"
            }),
        .bool("noAdvantageStdNorm", \.noAdvantageStdNorm, "Centre advantages without dividing by their std."),
        .int("freezingActorSteps", \.freezingActorSteps, "Rollouts during which only the critic trains.", check: between(-1, 1_000_000_000)),
        .double("criticLearningRate", \.criticLearningRate, "The critic's learning rate.", check: positive),
        .int(
            "rolloutSamplesPerStep", \.rolloutSamplesPerStep, "Samples of each rollout the run file keeps, with their text.",
            check: atLeast(0)),
        training("maxNorm"),
        training("l2"),
        training("adamBetas"),
        training("lrWarmupRatio"),
        training("lrScheduler"),
        training("saveSteps"),
        .string(
            "saveBest", \.saveBest, flag: "best_metric_key",
            "Keep ckptPath/best: the checkpoint of the evaluation with the highest value of this eval metric (eval_pass1: pass@1 over every prompt)."
        ) { key, _ in
            guard let key else { return nil }
            return key.isEmpty ? "must name an eval metric (eval_pass1, <datasource>_pass1, …), got an empty string" : nil
        },
        training("ckptPath"),
        training("maxCkptNum"),
        training("loadCheckpoint"),
        training("gradientCheckpointing"),
    ]

    /// The shared training option `name`, as an option of PPO.
    private static func training(_ name: String, flag: String? = nil) -> OptionRow<PPOOptions> {
        TrainingOptions.option(named: name)!.lifted(\PPOOptions.training, flag: flag)
    }
}

extension AdvantageEstimator: OptionChoice {
    public var doc: String {
        switch self {
        case .gae: return "Generalized Advantage Estimation with a critic (PPO)."
        case .reinforce: return "REINFORCE++: discounted returns, normalised over the batch."
        case .rloo: return "RLOO: each reward minus the mean of the other rewards of its prompt."
        case .reinforceBaseline: return "REINFORCE++-baseline: each reward minus its prompt's mean reward."
        case .groupNorm: return "GRPO: each reward standardised within its prompt's group."
        case .drGRPO: return "Dr. GRPO: each reward minus its group's mean, no division by the std."
        }
    }
}

extension PolicyLossType: OptionChoice {
    public var doc: String {
        switch self {
        case .ppo: return "PPO: a ratio per token, clipped per token."
        case .gspo: return "GSPO: one length-normalised ratio per sequence, clipped per sequence; a sequence-mean loss."
        }
    }
}

extension KLEstimator: OptionChoice {
    public var doc: String {
        switch self {
        case .k1: return "k1 = log π − log π_ref: unbiased, can be negative per token."
        case .k2: return "k2 = d² / 2: biased, non-negative, low variance."
        case .k3: return "k3 = e^−d − 1 + d: unbiased and non-negative (GRPO's)."
        }
    }
}
