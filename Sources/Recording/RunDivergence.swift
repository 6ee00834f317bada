// Where two run files part: the first stage (in run order), step, dataset and statistic at which
// their committed values differ bit for bit. Wall-clock values (`/<stage>/timing`) and the root
// `created` and `name` attributes are left out: they differ between two runs of one seed.

import Foundation

/// The first place where two runs differ, or nothing when they match.
public struct RunDivergence: Sendable, Equatable, CustomStringConvertible {
    /// The stage, or nil for the root attributes and `/config`.
    public var stage: String?
    /// The step of the first differing row, when the difference is in a dataset.
    public var step: Int?
    /// The dataset or attribute that differs, e.g. `/sft/tensors/model.norm.weight/grad`, `/@seed`.
    public var dataset: String
    /// The differing statistic column (`mean`, `l2`, ...), the rollout field, or nil for one-column data.
    public var statistic: String?
    /// The two values, as text (`absent` when one run does not hold it).
    public var values: (String, String)

    public init(stage: String?, step: Int?, dataset: String, statistic: String?, values: (String, String)) {
        self.stage = stage
        self.step = step
        self.dataset = dataset
        self.statistic = statistic
        self.values = values
    }

    public static func == (a: RunDivergence, b: RunDivergence) -> Bool {
        a.stage == b.stage && a.step == b.step && a.dataset == b.dataset && a.statistic == b.statistic && a.values == b.values
    }

    /// `stage sft, step 3, /sft/metrics/loss: 2.25 vs 2.5`.
    public var description: String {
        var parts: [String] = []
        if let stage { parts.append("stage \(stage)") }
        if let step { parts.append("step \(step)") }
        parts.append(statistic.map { "\(dataset) (\($0))" } ?? dataset)
        return parts.joined(separator: ", ") + ": \(values.0) vs \(values.1)"
    }

    /// Root attributes that may differ between two runs of one seed.
    public static let ignoredRootAttributes: Set<String> = ["created", "name"]

    /// The first difference between runs `a` and `b`, nil when they are identical (timings, the
    /// root `created` and `name` aside). Stages are searched in `a`'s run order; inside a stage the
    /// earliest step wins, then metrics, tensors, activations, evaluations and rollouts in that
    /// order. When every dataset matches, the first differing attribute is returned.
    public static func first(_ a: RunReader, _ b: RunReader) throws -> RunDivergence? {
        let order = a.stageNames + b.stageNames.filter { !a.stageNames.contains($0) }
        for name in order {
            guard a.stageNames.contains(name), b.stageNames.contains(name) else {
                let present = a.stageNames.contains(name) ? a : b
                let first = try present.stage(name).steps.first
                let held = "stage with \(try present.stage(name).committedSteps) steps"
                return RunDivergence(
                    stage: name, step: first, dataset: "/\(name)", statistic: nil,
                    values: present === a ? (held, "absent") : ("absent", held))
            }
            var comparison = StageComparison(try a.stage(name), try b.stage(name))
            if let found = try comparison.first() { return found }
        }
        if let found = attributes(a.attributes, b.attributes, stage: nil, at: "/", ignoring: ignoredRootAttributes) { return found }
        if let found = attributes(a.config, b.config, stage: nil, at: "/config", ignoring: []) { return found }
        for name in order {
            if let found = attributes(try a.stage(name).config, try b.stage(name).config, stage: name, at: "/\(name)/config", ignoring: []) {
                return found
            }
        }
        return nil
    }

    static func attributes(
        _ a: [String: ConfigValue], _ b: [String: ConfigValue], stage: String?, at path: String, ignoring: Set<String>
    ) -> RunDivergence? {
        for key in Set(a.keys).union(b.keys).subtracting(ignoring).sorted() where a[key] != b[key] {
            let separator = path.hasSuffix("/") ? "" : "/"
            return RunDivergence(
                stage: stage, step: nil, dataset: "\(path)\(separator)@\(key)", statistic: nil,
                values: (a[key].map(Self.text) ?? "absent", b[key].map(Self.text) ?? "absent"))
        }
        return nil
    }

    static func text(_ value: ConfigValue) -> String {
        let t = value.description
        return t.contains("\n") ? "\(t.split(separator: "\n", omittingEmptySubsequences: false).count) lines" : t
    }

    static func text(_ value: Double) -> String { "\(value)" }
}

/// The search inside one stage: every candidate difference, of which the earliest step wins.
private struct StageComparison {
    let a: StageReader
    let b: StageReader
    var best: (step: Int, found: RunDivergence)?

    init(_ a: StageReader, _ b: StageReader) {
        self.a = a
        self.b = b
    }

    var prefix: String { "/\(a.name)" }

    /// Keeps `found` when it is earlier than the best so far (ties go to the first offered).
    mutating func offer(_ step: Int, _ found: RunDivergence) {
        if best == nil || step < best!.step { best = (step, found) }
    }

    func divergence(_ step: Int?, _ dataset: String, _ statistic: String? = nil, _ x: String, _ y: String) -> RunDivergence {
        RunDivergence(stage: a.name, step: step, dataset: dataset, statistic: statistic, values: (x, y))
    }

    mutating func first() throws -> RunDivergence? {
        try table("metrics", a.steps, b.steps, a.metricNames, b.metricNames) { reader, name in [try reader.metric(name)] }
        for kind in TensorKind.allCases {
            try table(
                "tensors", a.tensorSteps, b.tensorSteps, a.tensorNames.filter { a.tensorKinds($0).contains(kind) },
                b.tensorNames.filter { b.tensorKinds($0).contains(kind) }, suffix: "/\(kind.rawValue)",
                columns: TensorStatistics.columns
            ) { reader, name in Self.columns(try reader.tensorStatistics(name, kind: kind)) }
        }
        try table(
            "activations", a.activationSteps, b.activationSteps, a.activationNames, b.activationNames,
            columns: TensorStatistics.columns
        ) { reader, name in Self.columns(try reader.activationStatistics(name)) }
        try table("eval", a.evalSteps, b.evalSteps, a.evalNames, b.evalNames) { reader, name in [try reader.eval(name)] }
        try rollouts()
        return best?.found
    }

    static func columns(_ rows: [TensorStatistics]) -> [[Double]] {
        TensorStatistics.columns.indices.map { c in rows.map { $0.row[c] } }
    }

    /// Compares one table: its step column, then each named dataset column by column.
    mutating func table(
        _ label: String, _ stepsA: [Int], _ stepsB: [Int], _ namesA: [String], _ namesB: [String], suffix: String = "",
        columns: [String]? = nil, read: (StageReader, String) throws -> [[Double]]
    ) throws {
        let common = zip(stepsA, stepsB).prefix { $0 == $1 }.count
        if common < max(stepsA.count, stepsB.count) {
            let step = common < stepsA.count ? stepsA[common] : stepsB[common]
            let show = { (s: [Int]) in common < s.count ? String(s[common]) : "absent" }
            offer(step, divergence(step, "\(prefix)/\(label)/step", nil, show(stepsA), show(stepsB)))
        }
        for name in namesA + namesB.filter({ !namesA.contains($0) }) {
            let dataset = "\(prefix)/\(label)/\(name)\(suffix)"
            guard namesA.contains(name), namesB.contains(name) else {
                let step = (namesA.contains(name) ? stepsA : stepsB).first ?? 0
                offer(
                    step, divergence(step, dataset, nil, namesA.contains(name) ? "present" : "absent", namesB.contains(name) ? "present" : "absent"))
                continue
            }
            let x = try read(a, name), y = try read(b, name)
            var earliest: (row: Int, column: Int)?
            for c in x.indices {
                let n = min(common, x[c].count, y[c].count)
                guard let row = (0..<n).first(where: { x[c][$0].bitPattern != y[c][$0].bitPattern }) else { continue }
                if earliest == nil || row < earliest!.row { earliest = (row, c) }
            }
            if let (row, c) = earliest {
                offer(
                    stepsA[row],
                    divergence(stepsA[row], dataset, columns?[c], RunDivergence.text(x[c][row]), RunDivergence.text(y[c][row])))
            }
        }
    }

    /// Compares the committed rollout samples in order.
    mutating func rollouts() throws {
        let x = try a.rollouts(), y = try b.rollouts()
        let dataset = "\(prefix)/rollouts"
        for i in 0..<max(x.count, y.count) {
            guard i < x.count, i < y.count else {
                let step = i < x.count ? x[i].step : y[i].step
                offer(
                    step, divergence(step, "\(dataset)/step", "sample \(i)", i < x.count ? "present" : "absent", i < y.count ? "present" : "absent"))
                return
            }
            let (p, q) = (x[i], y[i])
            let fields: [(String, String, String)] = [
                ("step", String(p.step), String(q.step)),
                ("prompt_ids", "\(p.sample.promptIDs)", "\(q.sample.promptIDs)"),
                ("response_ids", "\(p.sample.responseIDs)", "\(q.sample.responseIDs)"),
                ("reward", bits([p.sample.reward]), bits([q.sample.reward])),
                ("advantages", bits(p.sample.advantages), bits(q.sample.advantages)),
                ("logprobs", bits(p.sample.logprobs), bits(q.sample.logprobs)),
                ("prompt_text", p.sample.promptText ?? "", q.sample.promptText ?? ""),
                ("response_text", p.sample.responseText ?? "", q.sample.responseText ?? ""),
            ]
            if let (field, _, _) = fields.first(where: { $0.1 != $0.2 }) {
                let shown = field == "reward" ? (RunDivergence.text(p.sample.reward), RunDivergence.text(q.sample.reward)) : ("differs", "differs")
                offer(min(p.step, q.step), divergence(min(p.step, q.step), "\(dataset)/\(field)", "sample \(i)", shown.0, shown.1))
                return
            }
        }
    }

    func bits(_ values: [Double]) -> String { values.map { String($0.bitPattern, radix: 16) }.joined(separator: " ") }
}
