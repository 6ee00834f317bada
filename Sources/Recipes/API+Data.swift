import Datasets
import Foundation
import RecipeLanguage
import Tokenizers
import Training

/// What a dataset holds, in OpenRLHF's formats.
public enum DataKind: String {
    /// `input` / `output`, or a chat (`inputKey: "messages", outputKey: nil, applyChatTemplate: true`): supervised fine-tuning.
    case sft
    /// `prompt` / `chosen` / `rejected` (optional `margin`): reward models, DPO.
    case preference
    /// `input` / `output` / `label`: KTO.
    case unpaired
    /// `input` / `label` / `datasource`: online RL and evaluation.
    case prompts
    /// `input` with step placeholders / `label` list: process reward models.
    case processReward
}

/// Training records with their held-out split: what every trainer builtin takes.
///
/// The records stay text until a trainer tokenizes them with its model's tokenizer, so the same
/// data serves a byte-level toy model and SmolLM2 alike. `eval` is never the training data unless
/// a recipe says so.
public final class TrainingData: RecipeObject {
    public static var recipeTypeName: String { "TrainingData" }

    public let kind: DataKind
    public let name: String
    public let records: [Record]
    /// The held-out records the trainers evaluate on (empty: no evaluation).
    public let evalRecords: [Record]
    /// Which keys hold what, the prompt format, how many records to keep.
    public let options: DataOptions
    /// The task that made the records, whose `score` rewards responses (nil for files).
    public let task: SyntheticTask?

    public init(
        kind: DataKind, name: String, records: [Record], evalRecords: [Record], options: DataOptions = .init(),
        task: SyntheticTask? = nil
    ) {
        self.kind = kind
        self.name = name
        self.records = records
        self.evalRecords = evalRecords
        self.options = options
        self.task = task
    }

    public func describe() -> String {
        "TrainingData(\(kind.rawValue), \(name)): \(records.count) records, \(evalRecords.count) held out"
    }

    /// The number of training records.
    public var count: Int { records.count }

    /// The prompt format these records ask for, for `tokenizer`.
    func format(for tokenizer: any TextTokenizer) throws -> PromptFormat {
        try PromptFormat.resolve(inputTemplate: options.inputTemplate, applyChatTemplate: options.applyChatTemplate, tokenizer: tokenizer)
    }

    /// Reads a JSONL (or JSON array) file of `kind` records (the first `maxSamples` of them);
    /// `evalPath` names the held-out file.
    static func makeLoaded(_ path: String, kind: DataKind, evalPath: String?, options: DataOptions) throws -> TrainingData {
        try options.validate()
        let session = Session.current
        var records = try JSONLines.read(try session.readableURL(path).path)
        if let maxSamples = options.maxSamples { records = Array(records.prefix(maxSamples)) }
        let eval = try evalPath.map { try JSONLines.read(try session.readableURL($0).path) } ?? []
        return TrainingData(
            kind: kind, name: (path as NSString).lastPathComponent, records: records, evalRecords: eval,
            options: options)
    }
}

/// A generated task for tiny models — digit sorting or addition — with demonstrations, preference
/// pairs, unpaired labels, prompts with a programmatic score, and a held-out split.
public final class SyntheticTask: RecipeObject {
    public static var recipeTypeName: String { "SyntheticTask" }

    public let task: Datasets.SyntheticTask

    init(_ task: Datasets.SyntheticTask) { self.task = task }

    public func describe() -> String {
        "SyntheticTask(\(task.name)): \(task.train.problems.count) training problems, \(task.eval.problems.count) held out"
    }

    /// Sorting digits (3 to 6 by default): `"3 1 2="` → `"123"`. The problems come from the session's seed.
    public static func sortDigits(count: Int = 4000, evalCount: Int = 200, digits: ClosedRange<Int> = 3...6) -> SyntheticTask {
        orExit { try makeSortDigits(count: count, evalCount: evalCount, digits: digits) }
    }

    /// The same with a half-open range of digit counts (`3..<6` is `3...5`).
    public static func sortDigits(count: Int = 4000, evalCount: Int = 200, digits: Range<Int>) -> SyntheticTask {
        orExit {
            guard !digits.isEmpty else { throw RecipeError(.runtime, "`digits` must be a non-empty range of positive counts, such as 3..<6") }
            return try makeSortDigits(count: count, evalCount: evalCount, digits: digits.lowerBound...(digits.upperBound - 1))
        }
    }

    static func makeSortDigits(count: Int, evalCount: Int, digits: ClosedRange<Int>) throws -> SyntheticTask {
        guard digits.lowerBound >= 1, digits.upperBound <= 18 else {
            throw RecipeError(.runtime, "`digits` must be a non-empty range of counts in 1...18, such as 3...5; got \(digits)")
        }
        try checkSizes(.sortDigits(digits: digits), count: count, evalCount: evalCount)
        return SyntheticTask(.sortDigits(count: count, evalCount: evalCount, digits: digits, rng: Session.current.rng))
    }

    /// Adding two numbers below 100: `"12+34="` → `"46"`.
    public static func addition(count: Int = 4000, evalCount: Int = 200) -> SyntheticTask {
        orExit { try makeAddition(count: count, evalCount: evalCount) }
    }

    static func makeAddition(count: Int, evalCount: Int) throws -> SyntheticTask {
        try checkSizes(.addition(maxOperand: 99), count: count, evalCount: evalCount)
        return SyntheticTask(.addition(count: count, evalCount: evalCount, rng: Session.current.rng))
    }

    private static func checkSizes(_ kind: Datasets.SyntheticTask.Kind, count: Int, evalCount: Int) throws {
        if let problem = Datasets.SyntheticTask.sizeProblem(kind, count: count, evalCount: evalCount) {
            throw RecipeError(.runtime, problem)
        }
    }

    private func data(_ kind: DataKind, _ label: String, _ train: [Record], _ eval: [Record]) -> TrainingData {
        TrainingData(kind: kind, name: "\(task.name) \(label)", records: train, evalRecords: eval, task: self)
    }

    /// Prompt/answer pairs for SFT.
    public var demonstrations: TrainingData { data(.sft, "demonstrations", task.train.demonstrations, task.eval.demonstrations) }
    /// Correct vs. plausible wrong answers, for reward models and DPO.
    public var preferences: TrainingData { data(.preference, "preferences", task.train.preferences, task.eval.preferences) }
    /// Answers labelled desirable or not, for KTO.
    public var unpaired: TrainingData { data(.unpaired, "unpaired", task.train.unpaired, task.eval.unpaired) }
    /// Prompts with their answers as labels, for online RL.
    public var prompts: TrainingData { data(.prompts, "prompts", task.train.prompts, task.eval.prompts) }
    /// Step-labelled solutions, for process reward models.
    public var processRewards: TrainingData {
        data(.processReward, "process rewards", task.train.processRewards, task.eval.processRewards)
    }
    /// The held-out prompts (for `evaluate`).
    public var eval: TrainingData { data(.prompts, "eval", task.eval.prompts, task.eval.prompts) }

    /// The reward of `response` to `prompt` in [0, 1] (1 = exact answer, partial credit per position).
    public func score(_ prompt: String, _ response: String) -> Double { task.score(prompt, response) }
}

extension TrainingData: CustomStringConvertible {
    public var description: String { describe() }
}

extension SyntheticTask: CustomStringConvertible {
    public var description: String { describe() }
}
