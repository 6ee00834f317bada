// What compare, sweep and runs read of a run: its scalar metric and evaluation series per stage
// and their final values.

import Foundation
import Recording

/// One recorded series of a run: a stage's scalar metric or eval metric, against the step.
public struct RunSeries: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case metric, eval }
    public var stage: String
    public var name: String
    public var kind: Kind
    public var steps: [Int]
    public var values: [Double]

    /// `sft/loss` for a metric, `evaluate/eval/pass1` for an eval metric: unique within a run.
    public var key: String { kind == .metric ? "\(stage)/\(name)" : "\(stage)/eval/\(name)" }

    /// The last finite value (NaN when there is none).
    public var final: Double { values.last(where: \.isFinite) ?? .nan }
}

/// The series of one run file, in run order (each stage's metrics, then its evaluations).
public struct RunSummary {
    public let run: RunReader
    public let series: [RunSeries]

    public init(_ run: RunReader) throws {
        self.run = run
        var series: [RunSeries] = []
        for stage in try run.stages() {
            for name in stage.metricNames {
                series.append(RunSeries(stage: stage.name, name: name, kind: .metric, steps: stage.steps, values: try stage.metric(name)))
            }
            for name in stage.evalNames {
                series.append(RunSeries(stage: stage.name, name: name, kind: .eval, steps: stage.evalSteps, values: try stage.eval(name)))
            }
        }
        self.series = series
    }

    /// The series with `key`, if the run recorded it.
    public func series(_ key: String) -> RunSeries? { series.first { $0.key == key } }

    /// The final values by unqualified name, as `rlhf runs` shows and `--where` reads them: a
    /// metric's name (`loss`) or `eval_` and an eval metric's name (`eval_pass1`), from the last
    /// stage that recorded it; and every qualified key (`sft/loss`, `evaluate/eval/pass1`).
    public var finals: [(key: String, value: Double)] {
        var plain: [String] = []
        var values: [String: Double] = [:]
        for s in series {
            let name = s.kind == .metric ? s.name : "eval_\(s.name)"
            if values[name] == nil { plain.append(name) }
            values[name] = s.final
        }
        return plain.map { (key: $0, value: values[$0]!) } + series.map { (key: $0.key, value: $0.final) }
    }

    /// Every configuration value under one key: root attributes that describe the run (`seed`,
    /// `threads`, `version`, `recipe_file`, `overrides`), each `--set` override by its name, the
    /// root `/config`, and each stage's config as `stage.key`.
    public var configuration: [String: ConfigValue] {
        var out: [String: ConfigValue] = [:]
        for key in ["seed", "threads", "version", "recipe_file", "overrides", "recipe"] { out[key] = run.attributes[key] }
        if case .strings(let overrides) = run.attributes["overrides"] {
            for assignment in overrides {
                guard let equals = assignment.firstIndex(of: "=") else { continue }
                out[String(assignment[..<equals])] = Self.parse(String(assignment[assignment.index(after: equals)...]))
            }
        }
        for (key, value) in run.config { out[key] = value }
        for name in run.stageNames {
            guard let stage = try? run.stage(name) else { continue }
            for (key, value) in stage.config { out["\(name).\(key)"] = value }
        }
        return out
    }

    /// An override's text as the value it stands for: an integer, a number, a boolean or text.
    static func parse(_ text: String) -> ConfigValue {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let i = Int(t) { return .int(i) }
        if let d = Double(t) { return .double(d) }
        if t == "true" || t == "false" { return .bool(t == "true") }
        if t.count >= 2, t.hasPrefix("\""), t.hasSuffix("\"") { return .string(String(t.dropFirst().dropLast())) }
        return .string(t)
    }
}

/// The keys whose values are not the same in every one of `configurations` (a key missing from
/// one counts as differing), sorted.
public func differingKeys(_ configurations: [[String: ConfigValue]]) -> [String] {
    let keys = Set(configurations.flatMap(\.keys))
    return keys.filter { key in Set(configurations.map { $0[key] }).count > 1 }.sorted()
}
