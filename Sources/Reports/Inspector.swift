// What `rlhf inspect` prints: a run file's attributes, stages, datasets and sparklines, and CSV
// export of chosen columns for tools that do not read HDF5.

import Foundation
import Plots
import Recording

/// A column of a run that `rlhf inspect` can plot or export, named as on the command line.
///
/// - `loss` — a scalar metric (`/<stage>/metrics/loss`)
/// - `eval/accuracy` — an eval metric (`/<stage>/eval/accuracy`)
/// - `timing/time_step_s` — a wall-clock value (`/<stage>/timing/time_step_s`)
/// - `model.norm.weight/grad/l2` — one statistic of a parameter's value, grad or update
/// - `activations/model.layers.0/absmax` — one statistic of a layer's activations
public enum ColumnSpec: Equatable, Sendable, CustomStringConvertible {
    case metric(String)
    case eval(String)
    case timing(String)
    case tensor(String, TensorKind, Int)
    case activation(String, Int)

    /// Parses a column name as written on the command line.
    public init(_ text: String) {
        if text.hasPrefix("eval/") {
            self = .eval(String(text.dropFirst(5)))
            return
        }
        if text.hasPrefix("timing/") {
            self = .timing(String(text.dropFirst(7)))
            return
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts[0] == "activations", let stat = TensorStatistics.columns.firstIndex(of: parts[2]) {
            self = .activation(parts[1], stat)
        } else if parts.count == 3, let kind = TensorKind(rawValue: parts[1]),
            let stat = TensorStatistics.columns.firstIndex(of: parts[2])
        {
            self = .tensor(parts[0], kind, stat)
        } else {
            self = .metric(text)
        }
    }

    public var description: String {
        switch self {
        case .metric(let name): return name
        case .eval(let name): return "eval/\(name)"
        case .timing(let name): return "timing/\(name)"
        case .tensor(let name, let kind, let stat): return "\(name)/\(kind.rawValue)/\(TensorStatistics.columns[stat])"
        case .activation(let name, let stat): return "activations/\(name)/\(TensorStatistics.columns[stat])"
        }
    }

    /// Whether `stage` holds this column.
    func exists(in stage: StageReader) -> Bool {
        switch self {
        case .metric(let name): return stage.metricNames.contains(name)
        case .eval(let name): return stage.evalNames.contains(name)
        case .timing(let name): return stage.timingNames.contains(name)
        case .tensor(let name, let kind, _): return stage.tensorKinds(name).contains(kind)
        case .activation(let name, _): return stage.activationNames.contains(name)
        }
    }

    /// The column's (step, value) pairs in `stage`.
    func read(_ stage: StageReader) throws -> (steps: [Int], values: [Double]) {
        switch self {
        case .metric(let name): return (stage.steps, try stage.metric(name))
        case .eval(let name): return (stage.evalSteps, try stage.eval(name))
        case .timing(let name): return (stage.timingSteps, try stage.timing(name))
        case .tensor(let name, let kind, let stat):
            return (stage.tensorSteps, try stage.tensorStatistics(name, kind: kind).map { $0.row[stat] })
        case .activation(let name, let stat):
            return (stage.activationSteps, try stage.activationStatistics(name).map { $0.row[stat] })
        }
    }
}

/// The text `rlhf inspect` prints, and its CSV export.
public enum Inspector {
    /// A description of the run: root attributes, any recorded error, the config, every stage
    /// with its committed step count and a sparkline per metric, and every dataset with its shape.
    ///
    /// - Parameters:
    ///   - columns: The columns to draw sparklines of; nil draws every scalar metric and timing.
    ///   - stage: Only this stage, when given.
    ///   - width: Sparkline width in characters.
    public static func describe(_ run: RunReader, columns: [String]? = nil, stage only: String? = nil, width: Int = 48)
        throws -> String
    {
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        line(run.path)
        let shown = ["format", "name", "status", "version", "seed", "threads", "created"]
        let keys =
            shown.filter { run.attributes[$0] != nil }
            + run.attributes.keys.sorted().filter { !shown.contains($0) && !$0.hasPrefix("error") && $0 != "recipe" }
        let pad = (keys + ["recipe"]).map(\.count).max() ?? 0
        for key in keys { line("  \(key.padding(pad)) \(run.attributes[key]!)") }
        if let recipe = run.attributes["recipe"]?.stringValue {
            let lines = recipe.split(separator: "\n", omittingEmptySubsequences: false).count - (recipe.hasSuffix("\n") ? 1 : 0)
            line("  \("recipe".padding(pad)) \(recipe.isEmpty ? "(empty)" : "\(lines) line\(lines == 1 ? "" : "s") (print it with --recipe)")")
        }
        if let error = run.error {
            var place: [String] = []
            if let stage = error.stage { place.append("stage \(stage)") }
            if let step = error.step { place.append("step \(step)") }
            line()
            line("error: \(error.message)\(place.isEmpty ? "" : " (\(place.joined(separator: ", ")))")")
        }
        if !run.config.isEmpty {
            line()
            line("config:")
            line(config(run.config, indent: "  "))
        }
        let stages = try selectedStages(run, only)
        let specs = columns.map { $0.map(ColumnSpec.init) }
        if let specs {
            for spec in specs where !stages.contains(where: { spec.exists(in: $0) }) {
                throw RunFileError.notFound(path: run.path, object: "column \"\(spec)\"", available: available(stages))
            }
        }
        for stage in stages {
            line()
            var head = "stage \(stage.name): \(stage.committedSteps) committed step\(stage.committedSteps == 1 ? "" : "s")"
            if let first = stage.steps.first, let last = stage.steps.last { head += " (\(first)–\(last))" }
            if stage.statsEvery > 1 { head += ", tensor statistics every \(stage.statsEvery) steps" }
            line(head)
            if !stage.metricNames.isEmpty { line("  metrics: \(stage.metricNames.joined(separator: ", "))") }
            if !stage.timingNames.isEmpty { line("  timing: \(stage.timingNames.joined(separator: ", "))") }
            if !stage.tensorNames.isEmpty {
                let kinds = Set(stage.tensorNames.flatMap { stage.tensorKinds($0) }).sorted().map(\.rawValue)
                line(
                    "  tensors: \(stage.tensorNames.count) parameter\(stage.tensorNames.count == 1 ? "" : "s") × \(kinds.joined(separator: ", ")) at \(stage.tensorSteps.count) steps"
                )
            }
            if !stage.activationNames.isEmpty {
                line(
                    "  activations: \(stage.activationNames.count) layer\(stage.activationNames.count == 1 ? "" : "s") at \(stage.activationSteps.count) steps"
                )
            }
            if !stage.evalNames.isEmpty {
                line("  eval: \(stage.evalNames.joined(separator: ", ")) at \(stage.evalSteps.count) step\(stage.evalSteps.count == 1 ? "" : "s")")
            }
            if stage.rolloutCount > 0 { line("  rollouts: \(stage.rolloutCount) samples") }
            if !stage.config.isEmpty {
                line("  config:")
                line(config(stage.config, indent: "    "))
            }
            let everything = stage.metricNames.map { ColumnSpec.metric($0) } + stage.timingNames.map { ColumnSpec.timing($0) }
            let plotted = (specs ?? everything).filter { $0.exists(in: stage) }
            let labelWidth = plotted.map(\.description.count).max() ?? 0
            for spec in plotted {
                let values = try spec.read(stage).values
                let finite = values.filter(\.isFinite)
                var summary = ""
                if let first = finite.first, let last = finite.last, let lo = finite.min(), let hi = finite.max() {
                    summary = "  \(Format.g(first)) → \(Format.g(last))  [\(Format.g(lo)), \(Format.g(hi))]"
                }
                line("  \(spec.description.padding(labelWidth)) \(sparkline(values, width: width))\(summary)")
            }
        }
        line()
        line("datasets:")
        let objects = run.objects()
        let groups = Dictionary(objects.filter { $0.kind == .group }.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let datasets = objects.filter { $0.kind == .dataset }
        let pathWidth = min(72, datasets.map(\.path.count).max() ?? 0)
        for object in datasets {
            let parent = String(object.path[..<object.path.lastIndex(of: "/")!])
            var note = ""
            if let committed = groups[parent]?.attributes.first(where: { $0.0 == "committed" })?.1.intValue,
                let rows = object.shape.first, rows != committed,
                !["prompt_ids", "response_ids", "advantages", "logprobs"].contains(object.path.split(separator: "/").last.map(String.init) ?? "")
            {
                note = "  (\(committed) committed)"
            }
            line("  \(object.path.padding(pathWidth)) \(object.type) [\(object.shape.map(String.init).joined(separator: ", "))]\(note)")
        }
        return out
    }

    /// CSV of `columns` with one row per stage and step: `stage,step,<column>...`. Columns with
    /// different step axes (metrics, eval, thinned statistics) are joined on the step; a missing
    /// or non-finite value is an empty field. Numbers are written in their shortest exact form.
    public static func csv(_ run: RunReader, columns: [String], stage only: String? = nil) throws -> String {
        let stages = try selectedStages(run, only)
        let specs = columns.map(ColumnSpec.init)
        for spec in specs where !stages.contains(where: { spec.exists(in: $0) }) {
            throw RunFileError.notFound(path: run.path, object: "column \"\(spec)\"", available: available(stages))
        }
        var out = (["stage", "step"] + specs.map(\.description)).map(csvField).joined(separator: ",") + "\n"
        for stage in stages {
            let present = specs.filter { $0.exists(in: stage) }
            guard !present.isEmpty else { continue }
            var table: [Int: [String: Double]] = [:]
            for spec in present {
                let (steps, values) = try spec.read(stage)
                for (step, value) in zip(steps, values) { table[step, default: [:]][spec.description] = value }
            }
            for step in table.keys.sorted() {
                let fields = specs.map { spec -> String in
                    guard let v = table[step]![spec.description], v.isFinite else { return "" }
                    return "\(v)"
                }
                out += ([csvField(stage.name), String(step)] + fields).joined(separator: ",") + "\n"
            }
        }
        return out
    }

    private static func selectedStages(_ run: RunReader, _ only: String?) throws -> [StageReader] {
        if let only { return [try run.stage(only)] }
        return try run.stages()
    }

    private static func available(_ stages: [StageReader]) -> [String] {
        var names: [String] = []
        for stage in stages {
            for name in stage.metricNames + stage.evalNames.map({ "eval/\($0)" }) + stage.timingNames.map({ "timing/\($0)" })
            where !names.contains(name) {
                names.append(name)
            }
        }
        if let stage = stages.first(where: { !$0.tensorNames.isEmpty }) {
            names.append("\(stage.tensorNames[0])/grad/l2 (any parameter/value|grad|update/statistic)")
        }
        return names
    }

    private static func config(_ values: [String: ConfigValue], indent: String) -> String {
        let width = values.keys.map(\.count).max() ?? 0
        return values.keys.sorted().map { "\(indent)\($0.padding(width)) = \(values[$0]!)" }.joined(separator: "\n")
    }
}

extension String {
    /// The string padded with spaces to `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
