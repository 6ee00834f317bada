import Alignment
import Datasets
import Generation
import Foundation
import Models
import Plots
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
                lines.append(
                    "  eval \(key): \(series.map(formatMetric).first ?? "") → \(formatMetric(series.last ?? 0)) \(Plots.sparkline(series, width: 16))"
                )
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
    if magnitude >= 1e-3 && magnitude < 1e5 { return Format.g(value, 4) }
    return Format.scientific(value, 3)
}

extension TrainingData {
    /// The longest sequence the data needs, when it comes from a synthetic task.
    var maxLen: Int? { task?.task.maxLen }

    func sft(_ tokenizer: any TextTokenizer, maxLen: Int) throws -> (train: [SFTExample], eval: [SFTExample]) {
        try expect(.sft)
        let f = try format(for: tokenizer)
        let options = self.options
        let load = { (records: [Record]) in
            try SFTDataset.load(
                records, tokenizer: tokenizer, format: f, inputKey: options.inputKey, outputKey: options.outputKey,
                multiturn: options.multiturn, pretrainMode: options.pretrainMode, maxLen: maxLen
            ).nonEmpty(records, self.name)
        }
        return (try load(records), try load(evalRecords))
    }

    func preferences(_ tokenizer: any TextTokenizer, maxLen: Int) throws -> (train: [PreferenceExample], eval: [PreferenceExample]) {
        try expect(.preference)
        let f = try format(for: tokenizer)
        let options = self.options
        let load = { (records: [Record]) in
            try PreferenceDataset.load(
                records, tokenizer: tokenizer, format: f, promptKey: options.promptKey,
                chosenKey: options.chosenKey, rejectedKey: options.rejectedKey, maxLen: maxLen
            ).nonEmpty(records, self.name)
        }
        return (try load(records), try load(evalRecords))
    }

    func prompts(_ tokenizer: any TextTokenizer, promptMaxLen: Int?) throws -> (train: [PromptExample], eval: [PromptExample]) {
        try expect(.prompts)
        let f = try format(for: tokenizer)
        let options = self.options
        let load = { (records: [Record]) in
            try PromptDataset.load(
                records, tokenizer: tokenizer, format: f, inputKey: options.inputKey, labelKey: options.labelKey,
                datasourceKey: options.datasourceKey, promptMaxLen: promptMaxLen
            ).nonEmpty(records, self.name)
        }
        return (try load(records), try load(evalRecords))
    }

    private func expect(_ wanted: DataKind) throws {
        guard kind == wanted else {
            throw RecipeError(.runtime, "this trainer needs \(wanted.rawValue) data, got \(kind.rawValue) data (\(name))")
        }
    }
}

extension Dataset {
    /// The examples; when the loader left every record out, an error that says how many and why
    /// (instead of a trainer's later "the training data is empty").
    func nonEmpty(_ records: [Record], _ name: String) throws -> [Example] {
        guard examples.isEmpty, !skipped.isEmpty else { return examples }
        let reasons = Dictionary(grouping: skipped, by: \.reason).sorted { $0.value.count > $1.value.count }
        let counts = reasons.map { "\($0.value.count) \($0.key) (first at \($0.value[0].file):\($0.value[0].line))" }
        throw RecipeError(
            .runtime,
            "all \(records.count) records of \(name) were left out: \(counts.joined(separator: "; ")); raise maxLen or shorten the data")
    }
}

// MARK: - Offline trainers

func runSFT(_ policy: Model, data: TrainingData, options: TrainingOptions) throws -> TrainingRun {
    let (train, eval) = try data.sft(policy.tokenizer, maxLen: options.maxLen)
    let summary = try trainSFT(policy.lm, data: train, eval: eval, options: options, context: try Session.current.runContext())
    return TrainingRun(summary)
}

func runDPO(_ policy: Model, reference: Model, data: TrainingData, dpo: DPOOptions, options: TrainingOptions) throws -> TrainingRun {
    let (train, eval) = try data.preferences(policy.tokenizer, maxLen: options.maxLen)
    let summary = try trainDPO(
        policy.lm, reference: reference.lm, data: train, eval: eval, options: options, dpo: dpo,
        context: try Session.current.runContext())
    return TrainingRun(summary)
}

func runRewardModel(_ base: Model, data: TrainingData, rm: RewardModelOptions, options: TrainingOptions) throws -> RewardModel {
    let (train, eval) = try data.preferences(base.tokenizer, maxLen: options.maxLen)
    let model = ScalarModel(kind: .reward, from: base.lm, rng: Session.current.nextModelStream())
    let summary = try trainRewardModel(
        model, data: train, eval: eval, options: options, rm: rm,
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
        self.init(
            stage: summary.stage, steps: summary.steps, metrics: summary.metrics,
            evals: summary.evalHistory.map(\.metrics))
    }
}

// MARK: - Online RL

/// A compiled recipe's `reward:` or `labeledReward:` as the trainers call rewards.
func rewardClosure(
    _ reward: ((String, String) -> Double)?,
    _ labeled: ((String, String, String) -> Double)?
) throws -> ((String, String, String?) throws -> Double)? {
    if reward != nil && labeled != nil { throw RecipeError(.runtime, "give reward: or labeledReward:, not both") }
    if let labeled { return { prompt, response, label in labeled(prompt, response, label ?? "") } }
    return reward.map { reward in { prompt, response, _ in reward(prompt, response) } }
}

/// The reward of a response: a recipe closure, a trained reward model, or the task's score.
func rewardSource(_ function: ((String, String, String?) throws -> Double)?, model: RewardModel?, prompts: TrainingData) throws -> RewardSource {
    if let function { return .function(function) }
    if let model { return .model(model.model) }
    guard let task = prompts.task else {
        throw RecipeError(
            .runtime,
            "give a reward: reward: { prompt, response in … }, labeledReward: { prompt, response, label in … } or rewardModel: (the prompts come from a file, not a task)"
        )
    }
    return .function { prompt, response, _ in task.score(prompt, response) }
}

func runRL(
    _ policy: Model, reference: Model?, critic: Model?, prompts: TrainingData,
    reward: ((String, String, String?) throws -> Double)?, rewardModel: RewardModel?,
    rewardComponents: (function: RewardComponentsFunction, weights: [String: Double])? = nil, options: PPOOptions
) throws -> TrainingRun {
    let (train, eval) = try prompts.prompts(policy.tokenizer, promptMaxLen: nil)
    let source =
        try rewardComponents.map { .components($0.function, weights: $0.weights) }
        ?? rewardSource(reward, model: rewardModel, prompts: prompts)
    let criticModel = critic.map { ScalarModel(kind: .critic, from: $0.lm, rng: Session.current.nextModelStream()) }
    if options.advantageEstimator == .gae && criticModel == nil {
        throw RecipeError(.runtime, "PPO with GAE needs a critic: pass critic: policy (a value head on a copy of it)")
    }
    let summary = try trainPPO(
        actor: policy.lm, reference: reference?.lm, critic: criticModel, reward: source, prompts: train,
        evalPrompts: eval, tokenizer: policy.tokenizer, options: options, context: try Session.current.runContext())
    return TrainingRun(summary.trainingSummary)
}

func runOnPolicyDistillation(
    _ student: Model, teacher: Model, prompts: TrainingData, reward: ((String, String, String?) throws -> Double)?,
    options: OnPolicyDistillationOptions
) throws -> TrainingRun {
    let (train, eval) = try prompts.prompts(student.tokenizer, promptMaxLen: nil)
    let source = try rewardSource(reward, model: nil, prompts: prompts)
    return TrainingRun(
        try trainOnPolicyDistillation(
            student.lm, teacher: teacher.lm, prompts: train, evalPrompts: eval, reward: source, tokenizer: student.tokenizer,
            options: options, context: try Session.current.runContext()))
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

func runEvaluate(
    _ policy: Model, on data: TrainingData, reward: ((String, String, String?) throws -> Double)?,
    maxNewTokens: Int
) throws -> EvalResult {
    let session = Session.current
    let context = try session.runContext()
    let (_, eval) = try data.prompts(policy.tokenizer, promptMaxLen: nil)
    let source = try rewardSource(reward, model: nil, prompts: data)
    let stage = try context.beginStage("evaluate", config: ["prompts": .int(eval.count), "max_new_tokens": .int(maxNewTokens)])
    let result = try evaluatePassAtK(
        model: policy.lm, prompts: eval, reward: source, tokenizer: policy.tokenizer,
        nSamplesPerPrompt: 1, temperature: 0, maxNewTokens: maxNewTokens, rng: stage.rng)
    var metrics = result.metrics
    if let task = data.task {
        var exact = 0
        let answers = try Tensor.withNoGrad {
            try Generation.generate(
                model: policy.lm, prompts: eval.map(\.ids),
                params: SamplingParams.greedy(maxNewTokens: maxNewTokens, stopTokenIDs: [policy.eosTokenID]),
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

// MARK: - KTO, KD, PRM

extension TrainingData {
    func unpaired(_ tokenizer: any TextTokenizer, maxLen: Int) throws -> (train: [UnpairedExample], eval: [UnpairedExample]) {
        try expect(.unpaired)
        let f = try format(for: tokenizer)
        let options = self.options
        let load = { (records: [Record]) in
            try UnpairedDataset.load(
                records, tokenizer: tokenizer, format: f, inputKey: options.inputKey, outputKey: options.outputKey,
                labelKey: options.labelKey, maxLen: maxLen
            ).examples
        }
        return (try load(records), try load(evalRecords))
    }

    func processRewards(_ tokenizer: any TextTokenizer, maxLen: Int) throws -> (train: [ProcessRewardExample], eval: [ProcessRewardExample]) {
        try expect(.processReward)
        let placeholder = Datasets.SyntheticTask.placeholderToken, tokens = Datasets.SyntheticTask.rewardTokens
        let options = self.options
        let load = { (records: [Record]) in
            try ProcessRewardDataset.load(
                records, tokenizer: tokenizer, placeholderToken: placeholder, rewardTokens: tokens,
                inputKey: options.inputKey, labelKey: options.labelKey, maxLen: maxLen
            ).examples
        }
        return (try load(records), try load(evalRecords))
    }
}

func runKTO(_ policy: Model, reference: Model, data: TrainingData, kto: KTOOptions, options: TrainingOptions) throws -> TrainingRun {
    let (train, eval) = try data.unpaired(policy.tokenizer, maxLen: options.maxLen)
    return TrainingRun(
        try trainKTO(
            policy.lm, reference: reference.lm, data: train, eval: eval, options: options, kto: kto,
            context: try Session.current.runContext()))
}

func runKD(_ student: Model, teacher: Model, data: TrainingData, kd: KDOptions, options: TrainingOptions) throws -> TrainingRun {
    let (train, eval) = try data.sft(student.tokenizer, maxLen: options.maxLen)
    return TrainingRun(
        try trainKD(
            student.lm, teacher: teacher.lm, data: train, eval: eval, options: options,
            kd: kd, context: try Session.current.runContext()))
}

func runPRM(_ model: Model, data: TrainingData, options: TrainingOptions) throws -> TrainingRun {
    let (train, eval) = try data.processRewards(model.tokenizer, maxLen: options.maxLen)
    let prm = try PRMOptions(rewardTokens: Datasets.SyntheticTask.rewardTokens, tokenizer: model.tokenizer)
    return TrainingRun(
        try trainPRM(
            model.lm, data: train, eval: eval, options: options, prm: prm,
            context: try Session.current.runContext()))
}
