// Run files read back from a recipe, the REPL or a notebook: `Run.open(path)` and `Run.current`.
// Everything is read through Recording's `RunReader`, so only committed steps are seen: a run still
// being written (or killed) reads as the steps it finished.
import Foundation
import RecipeLanguage
import Recording

/// A run file opened for reading: its stages, configuration, seed, recipe text and status.
public final class Run: RecipeObject {
    public static var recipeTypeName: String { "Run" }

    let reader: RunReader

    init(reader: RunReader) {
        self.reader = reader
    }

    /// Opens the run file at `path` (a `run.h5`, or the folder holding one), which must lie where
    /// the session may read.
    public static func open(_ path: String) throws -> Run {
        var url = try Session.current.readableURL(path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            url = url.appendingPathComponent("run.h5")
        }
        return try Run(reader: readRunFile(url.path))
    }

    /// The session's own run file as recorded so far (every committed step).
    public static func current() throws -> Run {
        let session = Session.current
        guard session.runFile != nil else {
            throw RecipeError(
                .runtime,
                session.recordsRun
                    ? "this session has no run file yet: it starts at the first training call"
                    : "this session records no run file")
        }
        return try Run(reader: readRunFile(session.runFileURL.path))
    }

    /// The run's name.
    public var name: String { reader.name }
    /// The run file's path.
    public var path: String { reader.path }
    /// The stages in the order the run created them.
    public var stageNames: [String] { reader.stageNames }
    /// The seed every random stream came from.
    public var seed: Int { reader.attributes["seed"]?.intValue ?? 0 }
    /// The recipe text the run recorded (a REPL session's statements, a notebook's cells).
    public var recipe: String { reader.attributes["recipe"]?.stringValue ?? "" }
    /// `running` (being written, or killed), `complete` or `failed`.
    public var status: String { reader.status }
    /// The error a failed run recorded, if any.
    public var error: String? { reader.error?.message }
    /// The `--set` overrides the run was made with (`name=value`).
    public var overrides: [String] {
        if case .strings(let values)? = reader.attributes["overrides"] { return values }
        return []
    }

    /// The stage `name`.
    public func stage(_ name: String) throws -> RunStage {
        try RunStage(reader: recorded { try reader.stage(name) })
    }

    public func describe() -> String {
        "Run \(name) (\(status), seed \(seed)): " + (stageNames.isEmpty ? "no stages" : stageNames.joined(separator: ", "))
    }
}

/// One stage of a run read back: its configuration, metric and evaluation series, rollouts and
/// parameter statistics.
public final class RunStage: RecipeObject {
    public static var recipeTypeName: String { "RunStage" }

    let reader: StageReader

    init(reader: StageReader) {
        self.reader = reader
    }

    /// The stage's name (`sft`, `dpo`, `grpo-2`).
    public var name: String { reader.name }
    /// The stage's resolved options.
    public var config: [String: ConfigValue] { reader.config }
    /// The step of each committed row of the metrics.
    public var steps: [Int] { reader.steps }
    /// The metric names, in the order they first appeared.
    public var metricNames: [String] { reader.metricNames }
    /// The evaluation metric names.
    public var evalNames: [String] { reader.evalNames }
    /// The training step of each evaluation.
    public var evalSteps: [Int] { reader.evalSteps }
    /// Parameters with recorded statistics, in the model's order.
    public var parameterNames: [String] { reader.tensorNames }
    /// The step of each row of parameter statistics.
    public var parameterSteps: [Int] { reader.tensorSteps }

    /// Metric `name`, one value per step of `steps` (NaN where a step did not record it).
    public func metric(_ name: String) throws -> [Double] {
        try recorded { try reader.metric(name) }
    }

    /// Evaluation metric `name`, one value per step of `evalSteps`.
    public func eval(_ name: String) throws -> [Double] {
        try recorded { try reader.eval(name) }
    }

    /// Statistic `statistic` (mean, std, min, max, absmax, l2, nonfinite) of parameter `name`'s
    /// `kind` (value, grad, update), one value per step of `parameterSteps`.
    public func parameter(_ name: String, kind: String, statistic: String) throws -> [Double] {
        guard let tensorKind = TensorKind(rawValue: kind) else {
            throw RecipeError(
                .runtime, "no statistics kind `\(kind)`; use one of " + TensorKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
        }
        guard let column = TensorStatistics.columns.firstIndex(of: statistic) else {
            throw RecipeError(
                .runtime, "no statistic `\(statistic)`; use one of " + TensorStatistics.columns.map { "\"\($0)\"" }.joined(separator: ", "))
        }
        return try recorded { try reader.tensorStatistics(name, kind: tensorKind) }.map { $0.row[column] }
    }

    /// The committed rollout samples: the step, prompt and response (as recorded text, or token
    /// ids when the run kept no text) and reward of each.
    public func rollouts() throws -> [(step: Int, prompt: String, response: String, reward: Double)] {
        try recorded { try reader.rollouts() }.map { rollout in
            let sample = rollout.sample
            return (
                rollout.step, sample.promptText ?? tokenList(sample.promptIDs), sample.responseText ?? tokenList(sample.responseIDs),
                sample.reward
            )
        }
    }

    public func describe() -> String {
        "RunStage \(name): \(steps.count) steps; metrics " + metricNames.joined(separator: ", ")
            + (evalNames.isEmpty ? "" : "; eval " + evalNames.joined(separator: ", "))
    }
}

/// Opens a run file, turning the reader's errors into recipe errors (located by the interpreter).
private func readRunFile(_ path: String) throws -> RunReader {
    try recorded {
        try RunReader.checkIntact(path: path)
        return try RunReader(path: path)
    }
}

/// Runs `body`, reporting a run file error as a recipe error.
private func recorded<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as RunFileError {
        throw RecipeError(.file, "\(error)")
    }
}

private func tokenList(_ ids: [Int32]) -> String {
    "[" + ids.map(String.init).joined(separator: ", ") + "]"
}
