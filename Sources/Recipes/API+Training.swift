import Alignment
import Datasets
import Generation
import Foundation
import Models
import RecipeLanguage
import Recording
import Tensors
import Tokenizers
import Training

// The Swift API behind the trainer builtins: each function tokenizes its data with the model's
// tokenizer, runs the trainer of `Training` in the session's run, and returns a `TrainingRun`.
// Options carry OpenRLHF's names in Swift case; defaults suit the tiny CPU models of the recipes.

/// One finished training stage: its name, last metrics and evaluations.
public final class TrainingRun: RecipeObject {
    public static var recipeTypeName: String { "TrainingRun" }

    public let stage: String
    public let steps: Int
    /// The metrics of the last step (wall-clock `time_*` left out).
    public let metrics: [String: Double]
    /// Each evaluation's metrics, in order (the first before training when there is eval data).
    public let evals: [[String: Double]]

    init(stage: String, steps: Int, metrics: [String: Double], evals: [[String: Double]]) {
        self.stage = stage
        self.steps = steps
        self.metrics = metrics.filter { !$0.key.hasPrefix("time_") }
        self.evals = evals
    }

    public func describe() -> String {
        var lines = ["\(stage): \(steps) steps; " + metrics.keys.sorted().map { "\($0) \(formatMetric(metrics[$0]!))" }.joined(separator: ", ")]
        if let last = evals.last {
            for key in last.keys.sorted() where !key.hasPrefix("time_") {
                let series = evals.compactMap { $0[key] }
                lines.append("  eval \(key): \(series.map(formatMetric).first ?? "") → \(formatMetric(series.last ?? 0)) \(sparkline(series, width: 16))")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The last evaluation's value of `name` (nil when there is none).
    public func eval(_ name: String) -> Double? { evals.last?[name] }
}

extension TrainingRun: CustomStringConvertible {
    public var description: String { describe() }
}

/// `0.1234`, `12.35`, `1.2e-05`: four significant digits.
func formatMetric(_ value: Double) -> String {
    if value == 0 || !value.isFinite { return "\(value)" }
    let magnitude = abs(value)
    if magnitude >= 1e-3 && magnitude < 1e5 { return String(format: "%.4g", value) }
    return String(format: "%.3e", value)
}

/// The options every offline trainer shares, as a recipe writes them (memberwise init, in the
/// order the builtins and the Swift functions take them).
struct CommonOptions {
    var maxEpochs = 1
    var learningRate = 1e-3
    var microTrainBatchSize = 16
    var trainBatchSize = 64
    var maxLen: Int? = nil
    var packing = false
    var maxNorm = 1.0
    var l2 = 0.0
    var lrWarmupRatio = 0.03
    var lrScheduler = "cosine_with_min_lr"
    var evalSteps = 0
    var statsEvery = 1
    var maxSteps: Int? = nil

    /// The trainers' options for data whose longest example needs `dataMaxLen` tokens.
    func trainingOptions(dataMaxLen: Int?) -> TrainingOptions {
        var o = TrainingOptions()
        o.maxEpochs = maxEpochs
        o.learningRate = learningRate
        o.microTrainBatchSize = microTrainBatchSize
        o.trainBatchSize = trainBatchSize
        o.maxLen = maxLen ?? dataMaxLen ?? 512
        o.packing = packing
        o.maxNorm = maxNorm
        o.l2 = l2
        o.lrWarmupRatio = lrWarmupRatio
        o.lrScheduler = LRScheduler(rawValue: lrScheduler) ?? .cosineWithMinLR
        o.evalSteps = evalSteps
        o.statsEvery = statsEvery
        o.maxSteps = maxSteps
        return o
    }
}

extension TrainingData {
    /// The longest sequence the data needs, when it comes from a synthetic task.
    var maxLen: Int? { task?.task.maxLen }

    func sft(_ tokenizer: any TextTokenizer, maxLen: Int) throws -> (train: [SFTExample], eval: [SFTExample]) {
        try expect(.sft)
        let f = try format(for: tokenizer)
        return (try SFTDataset.load(records, tokenizer: tokenizer, format: f, maxLen: maxLen).examples,
                try SFTDataset.load(evalRecords, tokenizer: tokenizer, format: f, maxLen: maxLen).examples)
    }

    func preferences(_ tokenizer: any TextTokenizer, maxLen: Int) throws -> (train: [PreferenceExample], eval: [PreferenceExample]) {
        try expect(.preference)
        let f = try format(for: tokenizer)
        return (try PreferenceDataset.load(records, tokenizer: tokenizer, format: f, maxLen: maxLen).examples,
                try PreferenceDataset.load(evalRecords, tokenizer: tokenizer, format: f, maxLen: maxLen).examples)
    }

    func prompts(_ tokenizer: any TextTokenizer, promptMaxLen: Int?) throws -> (train: [PromptExample], eval: [PromptExample]) {
        try expect(.prompts)
        let f = try format(for: tokenizer)
        return (try PromptDataset.load(records, tokenizer: tokenizer, format: f, promptMaxLen: promptMaxLen).examples,
                try PromptDataset.load(evalRecords, tokenizer: tokenizer, format: f, promptMaxLen: promptMaxLen).examples)
    }

    private func expect(_ wanted: DataKind) throws {
        guard kind == wanted else {
            throw RecipeError(.runtime, "this trainer needs \(wanted.rawValue) data, got \(kind.rawValue) data (\(name))")
        }
    }
}

// MARK: - Offline trainers

/// Supervised fine-tuning on demonstrations (OpenRLHF `train_sft`); evaluates on the held-out split.
@discardableResult
public func sft(_ policy: Model, data: TrainingData, maxEpochs: Int = 1, learningRate: Double = 1e-3,
                microTrainBatchSize: Int = 16, trainBatchSize: Int = 64, maxLen: Int? = nil, packing: Bool = false,
                maxNorm: Double = 1, l2: Double = 0, lrWarmupRatio: Double = 0.03, lrScheduler: String = "cosine_with_min_lr",
                evalSteps: Int = 0, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let common = CommonOptions(maxEpochs: maxEpochs, learningRate: learningRate, microTrainBatchSize: microTrainBatchSize,
                               trainBatchSize: trainBatchSize, maxLen: maxLen, packing: packing, maxNorm: maxNorm, l2: l2,
                               lrWarmupRatio: lrWarmupRatio, lrScheduler: lrScheduler, evalSteps: evalSteps,
                               statsEvery: statsEvery, maxSteps: maxSteps)
    return orExit { try runSFT(policy, data: data, common: common) }
}

func runSFT(_ policy: Model, data: TrainingData, common: CommonOptions) throws -> TrainingRun {
    let options = common.trainingOptions(dataMaxLen: data.maxLen)
    let (train, eval) = try data.sft(policy.tokenizer, maxLen: options.maxLen)
    let summary = try trainSFT(policy.lm, data: train, eval: eval, options: options, context: try Session.current.runContext())
    return TrainingRun(summary)
}

/// Direct preference optimisation against a frozen reference (DPO; IPO with `ipo`, cDPO with
/// `labelSmoothing`; NLL-regularised with `nllLossCoef`).
@discardableResult
public func dpo(_ policy: Model, reference: Model, data: TrainingData, beta: Double = 0.1, labelSmoothing: Double = 0,
                ipo: Bool = false, nllLossCoef: Double = 0, maxEpochs: Int = 1, learningRate: Double = 5e-4,
                microTrainBatchSize: Int = 16, trainBatchSize: Int = 64, maxLen: Int? = nil, maxNorm: Double = 1,
                l2: Double = 0, lrWarmupRatio: Double = 0.03, lrScheduler: String = "cosine_with_min_lr",
                evalSteps: Int = 0, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let common = CommonOptions(maxEpochs: maxEpochs, learningRate: learningRate, microTrainBatchSize: microTrainBatchSize,
                               trainBatchSize: trainBatchSize, maxLen: maxLen, maxNorm: maxNorm, l2: l2,
                               lrWarmupRatio: lrWarmupRatio, lrScheduler: lrScheduler, evalSteps: evalSteps,
                               statsEvery: statsEvery, maxSteps: maxSteps)
    let options = DPOOptions(beta: beta, labelSmoothing: labelSmoothing, ipo: ipo, nllLossCoef: nllLossCoef)
    return orExit { try runDPO(policy, reference: reference, data: data, dpo: options, common: common) }
}

func runDPO(_ policy: Model, reference: Model, data: TrainingData, dpo: DPOOptions, common: CommonOptions) throws -> TrainingRun {
    let options = common.trainingOptions(dataMaxLen: data.maxLen)
    let (train, eval) = try data.preferences(policy.tokenizer, maxLen: options.maxLen)
    let summary = try trainDPO(policy.lm, reference: reference.lm, data: train, eval: eval, options: options, dpo: dpo,
                               context: try Session.current.runContext())
    return TrainingRun(summary)
}

/// A reward model trained on preference pairs (OpenRLHF `train_rm`): a `score` head on a copy of
/// `base`, read at the last real token. Returns the reward model.
public func rewardModel(_ base: Model, data: TrainingData, loss: String = "sigmoid", maxEpochs: Int = 1,
                        learningRate: Double = 1e-3, microTrainBatchSize: Int = 16, trainBatchSize: Int = 64,
                        maxLen: Int? = nil, maxNorm: Double = 1, l2: Double = 0, lrWarmupRatio: Double = 0.03,
                        lrScheduler: String = "cosine_with_min_lr", evalSteps: Int = 0, statsEvery: Int = 1,
                        maxSteps: Int? = nil) -> RewardModel {
    let common = CommonOptions(maxEpochs: maxEpochs, learningRate: learningRate, microTrainBatchSize: microTrainBatchSize,
                               trainBatchSize: trainBatchSize, maxLen: maxLen, maxNorm: maxNorm, l2: l2,
                               lrWarmupRatio: lrWarmupRatio, lrScheduler: lrScheduler, evalSteps: evalSteps,
                               statsEvery: statsEvery, maxSteps: maxSteps)
    return orExit { try runRewardModel(base, data: data, loss: loss, common: common) }
}

func runRewardModel(_ base: Model, data: TrainingData, loss: String, common: CommonOptions) throws -> RewardModel {
    let options = common.trainingOptions(dataMaxLen: data.maxLen)
    guard let lossKind = RewardModelOptions.Loss(rawValue: loss) else {
        throw RecipeError(.runtime, "unknown reward-model loss '\(loss)'; use \"sigmoid\" or \"logexp\"")
    }
    let (train, eval) = try data.preferences(base.tokenizer, maxLen: options.maxLen)
    let model = ScalarModel(kind: .reward, from: base.lm, rng: Session.current.nextModelStream())
    let summary = try trainRewardModel(model, data: train, eval: eval, options: options, rm: RewardModelOptions(loss: lossKind),
                                       context: try Session.current.runContext())
    return RewardModel(model: model, tokenizer: base.tokenizer, run: TrainingRun(summary))
}

/// A trained reward model: a transformer with a `score` head.
public final class RewardModel: RecipeObject {
    public static var recipeTypeName: String { "RewardModel" }
    public let model: ScalarModel
    public let tokenizer: any TextTokenizer
    public let run: TrainingRun

    init(model: ScalarModel, tokenizer: any TextTokenizer, run: TrainingRun) {
        self.model = model
        self.tokenizer = tokenizer
        self.run = run
    }

    public func describe() -> String { "RewardModel (score head)\n" + run.describe() }
}

extension RewardModel: CustomStringConvertible {
    public var description: String { describe() }
}

extension TrainingRun {
    convenience init(_ summary: TrainingSummary) {
        self.init(stage: summary.stage, steps: summary.steps, metrics: summary.metrics,
                  evals: summary.evalHistory.map(\.metrics))
    }
}

// MARK: - Online RL

/// The options of the PPO family, as a recipe writes them (memberwise init, in the order the
/// builtins and the Swift functions take them).
struct RLOptions {
    var nSamplesPerPrompt = 4
    var rolloutBatchSize = 16
    var numEpisodes = 1
    var maxEpochs = 1
    var learningRate = 1e-4
    var microTrainBatchSize = 16
    var trainBatchSize = 64
    var microRolloutBatchSize = 16
    var generateMaxLen = 16
    var temperature = 1.0
    var topP = 1.0
    var initKLCoef = 0.01
    var klTarget: Double? = nil
    var klEstimator = "k1"
    var useKLLoss = false
    var gamma = 1.0
    var lambd = 1.0
    var epsClip = 0.2
    var entropyCoef = 0.0
    var evalSteps = 0
    var evalNSamplesPerPrompt = 4
    var evalTemperature = 0.6
    var statsEvery = 1
    var maxSteps: Int? = nil

    func ppoOptions(estimator: AdvantageEstimator) throws -> PPOOptions {
        var o = PPOOptions()
        o.advantageEstimator = estimator
        o.nSamplesPerPrompt = nSamplesPerPrompt
        o.rolloutBatchSize = rolloutBatchSize
        o.numEpisodes = numEpisodes
        o.maxEpochs = maxEpochs
        o.actorLearningRate = learningRate
        o.criticLearningRate = learningRate
        o.microTrainBatchSize = microTrainBatchSize
        o.trainBatchSize = trainBatchSize
        o.microRolloutBatchSize = microRolloutBatchSize
        o.generateMaxLen = generateMaxLen
        o.temperature = temperature
        o.topP = topP
        o.initKLCoef = initKLCoef
        o.klTarget = klTarget
        guard let kl = KLEstimator(rawValue: klEstimator) else {
            throw RecipeError(.runtime, "unknown klEstimator '\(klEstimator)'; use \"k1\", \"k2\" or \"k3\"")
        }
        o.klEstimator = kl
        o.useKLLoss = useKLLoss
        o.gamma = gamma
        o.lambd = lambd
        o.epsClip = epsClip
        o.entropyCoef = entropyCoef
        o.training.evalSteps = evalSteps
        o.evalNSamplesPerPrompt = evalNSamplesPerPrompt
        o.evalTemperature = evalTemperature
        o.training.statsEvery = statsEvery
        o.training.maxSteps = maxSteps
        o.training.lrWarmupRatio = 0
        o.training.lrScheduler = .constant
        return o
    }
}

/// A compiled recipe's `reward:` or `labeledReward:` as the trainers call rewards.
func rewardClosure(_ reward: ((String, String) -> Double)?,
                    _ labeled: ((String, String, String) -> Double)?) throws -> ((String, String, String?) throws -> Double)? {
    if reward != nil && labeled != nil { throw RecipeError(.runtime, "give reward: or labeledReward:, not both") }
    if let labeled { return { prompt, response, label in labeled(prompt, response, label ?? "") } }
    return reward.map { reward in { prompt, response, _ in reward(prompt, response) } }
}

/// The reward of a response: a recipe closure, a trained reward model, or the task's score.
func rewardSource(_ function: ((String, String, String?) throws -> Double)?, model: RewardModel?, prompts: TrainingData) throws -> RewardSource {
    if let function { return .function(function) }
    if let model { return .model(model.model) }
    guard let task = prompts.task else {
        throw RecipeError(.runtime, "give a reward: reward: { prompt, response in … }, labeledReward: { prompt, response, label in … } or rewardModel: (the prompts come from a file, not a task)")
    }
    return .function { prompt, response, _ in task.score(prompt, response) }
}

func runRL(_ estimator: AdvantageEstimator, _ policy: Model, reference: Model?, critic: Model?, prompts: TrainingData,
           reward: ((String, String, String?) throws -> Double)?, rewardModel: RewardModel?, options: RLOptions) throws -> TrainingRun {
    let ppo = try options.ppoOptions(estimator: estimator)
    let (train, eval) = try prompts.prompts(policy.tokenizer, promptMaxLen: nil)
    let source = try rewardSource(reward, model: rewardModel, prompts: prompts)
    let criticModel = critic.map { ScalarModel(kind: .critic, from: $0.lm, rng: Session.current.nextModelStream()) }
    if estimator == .gae && criticModel == nil {
        throw RecipeError(.runtime, "PPO with GAE needs a critic: pass critic: policy (a value head on a copy of it)")
    }
    let summary = try trainPPO(actor: policy.lm, reference: reference?.lm, critic: criticModel, reward: source, prompts: train,
                               evalPrompts: eval, tokenizer: policy.tokenizer, options: ppo, context: try Session.current.runContext())
    return TrainingRun(summary.trainingSummary)
}

/// PPO with a critic (GAE), or any estimator of the family by name (`gae`, `reinforce`, `rloo`,
/// `reinforceBaseline`, `groupNorm`, `drGRPO`), as OpenRLHF's `train_ppo_ray`.
@discardableResult
public func ppo(_ policy: Model, reference: Model? = nil, critic: Model? = nil, prompts: TrainingData, advantageEstimator: String = "gae",
    reward: ((String, String) -> Double)? = nil, labeledReward: ((String, String, String) -> Double)? = nil,
    rewardModel: RewardModel? = nil,
    nSamplesPerPrompt: Int = 1, rolloutBatchSize: Int = 16, numEpisodes: Int = 1, maxEpochs: Int = 1, learningRate: Double = 1e-4,
    microTrainBatchSize: Int = 16, trainBatchSize: Int = 64, generateMaxLen: Int = 16, temperature: Double = 1, topP: Double = 1,
    initKLCoef: Double = 0.01, klTarget: Double? = nil, klEstimator: String = "k1", useKLLoss: Bool = false, gamma: Double = 1,
    lambd: Double = 1, epsClip: Double = 0.2, entropyCoef: Double = 0, evalSteps: Int = 0, evalNSamplesPerPrompt: Int = 4,
    evalTemperature: Double = 0.6, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let options = RLOptions(
        nSamplesPerPrompt: nSamplesPerPrompt, rolloutBatchSize: rolloutBatchSize, numEpisodes: numEpisodes, maxEpochs: maxEpochs,
        learningRate: learningRate, microTrainBatchSize: microTrainBatchSize, trainBatchSize: trainBatchSize,
        generateMaxLen: generateMaxLen, temperature: temperature, topP: topP, initKLCoef: initKLCoef, klTarget: klTarget,
        klEstimator: klEstimator, useKLLoss: useKLLoss, gamma: gamma, lambd: lambd, epsClip: epsClip, entropyCoef: entropyCoef,
        evalSteps: evalSteps, evalNSamplesPerPrompt: evalNSamplesPerPrompt, evalTemperature: evalTemperature,
        statsEvery: statsEvery, maxSteps: maxSteps)
    return orExit {
        try runRL(try estimator(advantageEstimator), policy, reference: reference, critic: critic, prompts: prompts,
                  reward: try rewardClosure(reward, labeledReward), rewardModel: rewardModel, options: options)
    }
}

/// GRPO (`--advantage_estimator group_norm`): group-normalised rewards, no critic.
@discardableResult
public func grpo(_ policy: Model, reference: Model? = nil, prompts: TrainingData,
    reward: ((String, String) -> Double)? = nil, labeledReward: ((String, String, String) -> Double)? = nil,
    rewardModel: RewardModel? = nil,
    nSamplesPerPrompt: Int = 4, rolloutBatchSize: Int = 16, numEpisodes: Int = 1, maxEpochs: Int = 1, learningRate: Double = 1e-4,
    microTrainBatchSize: Int = 16, trainBatchSize: Int = 64, generateMaxLen: Int = 16, temperature: Double = 1, topP: Double = 1,
    initKLCoef: Double = 0.01, klTarget: Double? = nil, klEstimator: String = "k1", useKLLoss: Bool = false, gamma: Double = 1,
    lambd: Double = 1, epsClip: Double = 0.2, entropyCoef: Double = 0, evalSteps: Int = 0, evalNSamplesPerPrompt: Int = 4,
    evalTemperature: Double = 0.6, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let options = RLOptions(
        nSamplesPerPrompt: nSamplesPerPrompt, rolloutBatchSize: rolloutBatchSize, numEpisodes: numEpisodes, maxEpochs: maxEpochs,
        learningRate: learningRate, microTrainBatchSize: microTrainBatchSize, trainBatchSize: trainBatchSize,
        generateMaxLen: generateMaxLen, temperature: temperature, topP: topP, initKLCoef: initKLCoef, klTarget: klTarget,
        klEstimator: klEstimator, useKLLoss: useKLLoss, gamma: gamma, lambd: lambd, epsClip: epsClip, entropyCoef: entropyCoef,
        evalSteps: evalSteps, evalNSamplesPerPrompt: evalNSamplesPerPrompt, evalTemperature: evalTemperature,
        statsEvery: statsEvery, maxSteps: maxSteps)
    return orExit {
        try runRL(.groupNorm, policy, reference: reference, critic: nil, prompts: prompts,
                  reward: try rewardClosure(reward, labeledReward), rewardModel: rewardModel, options: options)
    }
}

/// REINFORCE++ (`--advantage_estimator reinforce`): returns whitened over the batch, no critic.
@discardableResult
public func reinforce(_ policy: Model, reference: Model? = nil, prompts: TrainingData,
    reward: ((String, String) -> Double)? = nil, labeledReward: ((String, String, String) -> Double)? = nil,
    rewardModel: RewardModel? = nil,
    nSamplesPerPrompt: Int = 1, rolloutBatchSize: Int = 16, numEpisodes: Int = 1, maxEpochs: Int = 1, learningRate: Double = 1e-4,
    microTrainBatchSize: Int = 16, trainBatchSize: Int = 64, generateMaxLen: Int = 16, temperature: Double = 1, topP: Double = 1,
    initKLCoef: Double = 0.01, klTarget: Double? = nil, klEstimator: String = "k1", useKLLoss: Bool = false, gamma: Double = 1,
    lambd: Double = 1, epsClip: Double = 0.2, entropyCoef: Double = 0, evalSteps: Int = 0, evalNSamplesPerPrompt: Int = 4,
    evalTemperature: Double = 0.6, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let options = RLOptions(
        nSamplesPerPrompt: nSamplesPerPrompt, rolloutBatchSize: rolloutBatchSize, numEpisodes: numEpisodes, maxEpochs: maxEpochs,
        learningRate: learningRate, microTrainBatchSize: microTrainBatchSize, trainBatchSize: trainBatchSize,
        generateMaxLen: generateMaxLen, temperature: temperature, topP: topP, initKLCoef: initKLCoef, klTarget: klTarget,
        klEstimator: klEstimator, useKLLoss: useKLLoss, gamma: gamma, lambd: lambd, epsClip: epsClip, entropyCoef: entropyCoef,
        evalSteps: evalSteps, evalNSamplesPerPrompt: evalNSamplesPerPrompt, evalTemperature: evalTemperature,
        statsEvery: statsEvery, maxSteps: maxSteps)
    return orExit {
        try runRL(.reinforce, policy, reference: reference, critic: nil, prompts: prompts,
                  reward: try rewardClosure(reward, labeledReward), rewardModel: rewardModel, options: options)
    }
}

/// RLOO (`--advantage_estimator rloo`): leave-one-out baseline within each group.
@discardableResult
public func rloo(_ policy: Model, reference: Model? = nil, prompts: TrainingData,
    reward: ((String, String) -> Double)? = nil, labeledReward: ((String, String, String) -> Double)? = nil,
    rewardModel: RewardModel? = nil,
    nSamplesPerPrompt: Int = 4, rolloutBatchSize: Int = 16, numEpisodes: Int = 1, maxEpochs: Int = 1, learningRate: Double = 1e-4,
    microTrainBatchSize: Int = 16, trainBatchSize: Int = 64, generateMaxLen: Int = 16, temperature: Double = 1, topP: Double = 1,
    initKLCoef: Double = 0.01, klTarget: Double? = nil, klEstimator: String = "k1", useKLLoss: Bool = false, gamma: Double = 1,
    lambd: Double = 1, epsClip: Double = 0.2, entropyCoef: Double = 0, evalSteps: Int = 0, evalNSamplesPerPrompt: Int = 4,
    evalTemperature: Double = 0.6, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let options = RLOptions(
        nSamplesPerPrompt: nSamplesPerPrompt, rolloutBatchSize: rolloutBatchSize, numEpisodes: numEpisodes, maxEpochs: maxEpochs,
        learningRate: learningRate, microTrainBatchSize: microTrainBatchSize, trainBatchSize: trainBatchSize,
        generateMaxLen: generateMaxLen, temperature: temperature, topP: topP, initKLCoef: initKLCoef, klTarget: klTarget,
        klEstimator: klEstimator, useKLLoss: useKLLoss, gamma: gamma, lambd: lambd, epsClip: epsClip, entropyCoef: entropyCoef,
        evalSteps: evalSteps, evalNSamplesPerPrompt: evalNSamplesPerPrompt, evalTemperature: evalTemperature,
        statsEvery: statsEvery, maxSteps: maxSteps)
    return orExit {
        try runRL(.rloo, policy, reference: reference, critic: nil, prompts: prompts,
                  reward: try rewardClosure(reward, labeledReward), rewardModel: rewardModel, options: options)
    }
}

/// Dr. GRPO (`--advantage_estimator dr_grpo`): group-mean baseline without std division.
@discardableResult
public func drGRPO(_ policy: Model, reference: Model? = nil, prompts: TrainingData,
    reward: ((String, String) -> Double)? = nil, labeledReward: ((String, String, String) -> Double)? = nil,
    rewardModel: RewardModel? = nil,
    nSamplesPerPrompt: Int = 4, rolloutBatchSize: Int = 16, numEpisodes: Int = 1, maxEpochs: Int = 1, learningRate: Double = 1e-4,
    microTrainBatchSize: Int = 16, trainBatchSize: Int = 64, generateMaxLen: Int = 16, temperature: Double = 1, topP: Double = 1,
    initKLCoef: Double = 0.01, klTarget: Double? = nil, klEstimator: String = "k1", useKLLoss: Bool = false, gamma: Double = 1,
    lambd: Double = 1, epsClip: Double = 0.2, entropyCoef: Double = 0, evalSteps: Int = 0, evalNSamplesPerPrompt: Int = 4,
    evalTemperature: Double = 0.6, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let options = RLOptions(
        nSamplesPerPrompt: nSamplesPerPrompt, rolloutBatchSize: rolloutBatchSize, numEpisodes: numEpisodes, maxEpochs: maxEpochs,
        learningRate: learningRate, microTrainBatchSize: microTrainBatchSize, trainBatchSize: trainBatchSize,
        generateMaxLen: generateMaxLen, temperature: temperature, topP: topP, initKLCoef: initKLCoef, klTarget: klTarget,
        klEstimator: klEstimator, useKLLoss: useKLLoss, gamma: gamma, lambd: lambd, epsClip: epsClip, entropyCoef: entropyCoef,
        evalSteps: evalSteps, evalNSamplesPerPrompt: evalNSamplesPerPrompt, evalTemperature: evalTemperature,
        statsEvery: statsEvery, maxSteps: maxSteps)
    return orExit {
        try runRL(.drGRPO, policy, reference: reference, critic: nil, prompts: prompts,
                  reward: try rewardClosure(reward, labeledReward), rewardModel: rewardModel, options: options)
    }
}

// MARK: - Evaluation

/// Held-out pass@1 (greedy) and pass@k of a policy on prompts, scored by the task or a reward.
public final class EvalResult: RecipeObject {
    public static var recipeTypeName: String { "EvalResult" }
    public let metrics: [String: Double]

    init(metrics: [String: Double]) { self.metrics = metrics }

    public func describe() -> String {
        metrics.keys.sorted().map { "\($0) \(formatMetric(metrics[$0]!))" }.joined(separator: ", ")
    }
}

extension EvalResult: CustomStringConvertible {
    public var description: String { describe() }
}

/// Greedy pass@1 (mean reward) and exact-match rate of `policy` on held-out prompts; recorded in
/// the run file under the `evaluate` stage.
@discardableResult
public func evaluate(_ policy: Model, on data: TrainingData, reward: ((String, String) -> Double)? = nil,
                     labeledReward: ((String, String, String) -> Double)? = nil, maxNewTokens: Int = 16) -> EvalResult {
    orExit { try runEvaluate(policy, on: data, reward: try rewardClosure(reward, labeledReward), maxNewTokens: maxNewTokens) }
}

func runEvaluate(_ policy: Model, on data: TrainingData, reward: ((String, String, String?) throws -> Double)?,
                 maxNewTokens: Int) throws -> EvalResult {
    let session = Session.current
    let context = try session.runContext()
    let (_, eval) = try data.prompts(policy.tokenizer, promptMaxLen: nil)
    let source = try rewardSource(reward, model: nil, prompts: data)
    let stage = try context.beginStage("evaluate", config: ["prompts": .int(eval.count), "max_new_tokens": .int(maxNewTokens)])
    let result = try evaluatePassAtK(model: policy.lm, prompts: eval, reward: source, tokenizer: policy.tokenizer,
                                     nSamplesPerPrompt: 1, temperature: 0, maxNewTokens: maxNewTokens, rng: stage.rng)
    var metrics = result.metrics
    if let task = data.task {
        var exact = 0
        let answers = try Tensor.withNoGrad {
            try Generation.generate(model: policy.lm, prompts: eval.map(\.ids), params: SamplingParams.greedy(maxNewTokens: maxNewTokens, stopTokenIDs: [policy.eosTokenID]),
                         rng: stage.rng)
        }
        for (prompt, answer) in zip(eval, answers) {
            if task.score(prompt.text, policy.tokenizer.decode(answer.tokens, skipSpecialTokens: true)) == 1 { exact += 1 }
        }
        metrics["exact_match"] = eval.isEmpty ? 0 : Double(exact) / Double(eval.count)
    }
    try stage.recorder?.record(eval: metrics, at: 0)
    return EvalResult(metrics: metrics)
}

/// The estimator named as OpenRLHF's `--advantage_estimator` (in Swift case).
func estimator(_ name: String) throws -> AdvantageEstimator {
    let table: [String: AdvantageEstimator] = [
        "gae": .gae, "reinforce": .reinforce, "rloo": .rloo, "reinforceBaseline": .reinforceBaseline,
        "groupNorm": .groupNorm, "drGRPO": .drGRPO,
    ]
    guard let e = table[name] else {
        throw RecipeError(.runtime, "unknown advantageEstimator '\(name)'; use one of \(table.keys.sorted().joined(separator: ", "))")
    }
    return e
}

// MARK: - KTO, KD, PRM

extension TrainingData {
    func unpaired(_ tokenizer: any TextTokenizer, maxLen: Int) throws -> (train: [UnpairedExample], eval: [UnpairedExample]) {
        try expect(.unpaired)
        let f = try format(for: tokenizer)
        return (try UnpairedDataset.load(records, tokenizer: tokenizer, format: f, maxLen: maxLen).examples,
                try UnpairedDataset.load(evalRecords, tokenizer: tokenizer, format: f, maxLen: maxLen).examples)
    }

    func processRewards(_ tokenizer: any TextTokenizer, maxLen: Int) throws -> (train: [ProcessRewardExample], eval: [ProcessRewardExample]) {
        try expect(.processReward)
        let placeholder = Datasets.SyntheticTask.placeholderToken, tokens = Datasets.SyntheticTask.rewardTokens
        return (try ProcessRewardDataset.load(records, tokenizer: tokenizer, placeholderToken: placeholder, rewardTokens: tokens,
                                              maxLen: maxLen).examples,
                try ProcessRewardDataset.load(evalRecords, tokenizer: tokenizer, placeholderToken: placeholder, rewardTokens: tokens,
                                              maxLen: maxLen).examples)
    }
}

func runKTO(_ policy: Model, reference: Model, data: TrainingData, kto: KTOOptions, common: CommonOptions) throws -> TrainingRun {
    let options = common.trainingOptions(dataMaxLen: data.maxLen)
    let (train, eval) = try data.unpaired(policy.tokenizer, maxLen: options.maxLen)
    return TrainingRun(try trainKTO(policy.lm, reference: reference.lm, data: train, eval: eval, options: options, kto: kto,
                                    context: try Session.current.runContext()))
}

func runKD(_ student: Model, teacher: Model, data: TrainingData, kdCoef: Double, common: CommonOptions) throws -> TrainingRun {
    let options = common.trainingOptions(dataMaxLen: data.maxLen)
    let (train, eval) = try data.sft(student.tokenizer, maxLen: options.maxLen)
    return TrainingRun(try trainKD(student.lm, teacher: teacher.lm, data: train, eval: eval, options: options,
                                   kd: KDOptions(kdCoef: kdCoef), context: try Session.current.runContext()))
}

func runPRM(_ model: Model, data: TrainingData, common: CommonOptions) throws -> TrainingRun {
    let options = common.trainingOptions(dataMaxLen: nil)
    let (train, eval) = try data.processRewards(model.tokenizer, maxLen: options.maxLen)
    let prm = try PRMOptions(rewardTokens: Datasets.SyntheticTask.rewardTokens, tokenizer: model.tokenizer)
    return TrainingRun(try trainPRM(model.lm, data: train, eval: eval, options: options, prm: prm,
                                    context: try Session.current.runContext()))
}

/// KTO on unpaired desirable/undesirable answers against a frozen reference.
@discardableResult
public func kto(_ policy: Model, reference: Model, data: TrainingData, beta: Double = 0.01, desirableLossWeight: Double = 1,
                undesirableLossWeight: Double = 1, maxEpochs: Int = 1, learningRate: Double = 5e-4, microTrainBatchSize: Int = 16,
                trainBatchSize: Int = 64, maxLen: Int? = nil, maxNorm: Double = 1, l2: Double = 0, lrWarmupRatio: Double = 0.03,
                lrScheduler: String = "cosine_with_min_lr", evalSteps: Int = 0, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let common = CommonOptions(maxEpochs: maxEpochs, learningRate: learningRate, microTrainBatchSize: microTrainBatchSize,
                               trainBatchSize: trainBatchSize, maxLen: maxLen, maxNorm: maxNorm, l2: l2, lrWarmupRatio: lrWarmupRatio,
                               lrScheduler: lrScheduler, evalSteps: evalSteps, statsEvery: statsEvery, maxSteps: maxSteps)
    let options = KTOOptions(beta: beta, desirableLossWeight: desirableLossWeight, undesirableLossWeight: undesirableLossWeight)
    return orExit { try runKTO(policy, reference: reference, data: data, kto: options, common: common) }
}

/// Knowledge distillation to a frozen teacher on SFT data.
@discardableResult
public func kd(_ student: Model, teacher: Model, data: TrainingData, kdCoef: Double = 0.4, maxEpochs: Int = 1,
               learningRate: Double = 1e-3, microTrainBatchSize: Int = 16, trainBatchSize: Int = 64, maxLen: Int? = nil,
               maxNorm: Double = 1, l2: Double = 0, lrWarmupRatio: Double = 0.03, lrScheduler: String = "cosine_with_min_lr",
               evalSteps: Int = 0, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let common = CommonOptions(maxEpochs: maxEpochs, learningRate: learningRate, microTrainBatchSize: microTrainBatchSize,
                               trainBatchSize: trainBatchSize, maxLen: maxLen, maxNorm: maxNorm, l2: l2, lrWarmupRatio: lrWarmupRatio,
                               lrScheduler: lrScheduler, evalSteps: evalSteps, statsEvery: statsEvery, maxSteps: maxSteps)
    return orExit { try runKD(student, teacher: teacher, data: data, kdCoef: kdCoef, common: common) }
}

/// A process reward model over a task's step placeholders.
@discardableResult
public func prm(_ model: Model, data: TrainingData, maxEpochs: Int = 1, learningRate: Double = 1e-3, microTrainBatchSize: Int = 16,
                trainBatchSize: Int = 64, maxLen: Int? = nil, maxNorm: Double = 1, l2: Double = 0, lrWarmupRatio: Double = 0.03,
                lrScheduler: String = "cosine_with_min_lr", evalSteps: Int = 0, statsEvery: Int = 1, maxSteps: Int? = nil) -> TrainingRun {
    let common = CommonOptions(maxEpochs: maxEpochs, learningRate: learningRate, microTrainBatchSize: microTrainBatchSize,
                               trainBatchSize: trainBatchSize, maxLen: maxLen, maxNorm: maxNorm, l2: l2, lrWarmupRatio: lrWarmupRatio,
                               lrScheduler: lrScheduler, evalSteps: evalSteps, statsEvery: statsEvery, maxSteps: maxSteps)
    return orExit { try runPRM(model, data: data, common: common) }
}
