// The report of a run: `report.md` and SVG charts, made only from the run file.
//
// Regenerating gives the same bytes: nothing reads the clock (the root `created` attribute is
// never shown), stages, metrics and parameters keep the order the run recorded them in, and
// every number goes through `Format`.

import Foundation
import Plots
import Recording

/// Turns a run file into a markdown report with SVG charts.
///
/// ```swift
/// let run = try RunReader(path: "runs/quickstart.h5")
/// try Report.write(run, to: Report.defaultDirectory(for: run))   // results/quickstart/report.md
/// ```
public enum Report {
    /// One file of a report.
    public struct File: Sendable, Equatable {
        /// The file name inside the report folder (`report.md`, `sft-losses.svg`, ...).
        public var name: String
        public var contents: String
    }

    /// The default folder for a run's report: `results/<run name>` (relative to the current folder).
    public static func defaultDirectory(for run: RunReader) -> URL {
        URL(fileURLWithPath: "results").appendingPathComponent(run.name.fileNameSafe)
    }

    /// The report's files: `report.md` first, then the charts in the order the report shows them.
    public static func render(_ run: RunReader) throws -> [File] {
        var builder = Builder(run: run)
        try builder.build()
        return [File(name: "report.md", contents: builder.markdown)] + builder.charts
    }

    /// Writes the report into `directory` (created when missing) and returns the file names written.
    /// Each file is written to a temporary name and renamed into place, so a symbolic link at its
    /// name is replaced, never written through.
    @discardableResult
    public static func write(_ run: RunReader, to directory: URL) throws -> [String] {
        let files = try render(run)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in files {
            try Data(file.contents.utf8).write(to: directory.appendingPathComponent(file.name), options: .atomic)
        }
        return files.map(\.name)
    }
}

/// Which chart a scalar metric goes to, by its name.
enum MetricGroup: Int, CaseIterable {
    case loss, reward, kl, learningRate, other

    init(_ name: String) {
        let n = name.lowercased()
        if n == "lr" || n.hasSuffix("_lr") || n.contains("learning_rate") || n.contains("learningrate") {
            self = .learningRate
        } else if n.contains("loss") {
            self = .loss
        } else if n.contains("kl") {
            self = .kl
        } else if n.contains("reward") || n.contains("score") || n.contains("return") {
            self = .reward
        } else {
            self = .other
        }
    }

    var title: String {
        switch self {
        case .loss: return "Losses"
        case .reward: return "Rewards"
        case .kl: return "KL divergence"
        case .learningRate: return "Learning rate"
        case .other: return "Other"
        }
    }

    var file: String {
        switch self {
        case .loss: return "losses"
        case .reward: return "rewards"
        case .kl: return "kl"
        case .learningRate: return "lr"
        case .other: return "other"
        }
    }

    var axis: String {
        switch self {
        case .loss: return "loss"
        case .reward: return "reward"
        case .kl: return "KL (nats)"
        case .learningRate: return "learning rate"
        case .other: return "value"
        }
    }
}

private struct Builder {
    let run: RunReader
    var markdown = ""
    var charts: [Report.File] = []
    private var usedPrefixes: Set<String> = []

    init(run: RunReader) { self.run = run }

    mutating func line(_ text: String = "") { markdown += text + "\n" }

    mutating func chart(_ name: String, _ svg: String, alt: String) {
        charts.append(Report.File(name: name, contents: svg))
        line("![\(alt)](\(name))")
        line()
    }

    mutating func build() throws {
        line("# \(run.name)")
        line()
        let file = URL(fileURLWithPath: run.path).lastPathComponent
        var facts = ["Run file \(Markdown.code(file))"]
        if let format = run.attributes["format"]?.stringValue { facts.append("format \(format)") }
        if let version = run.attributes["version"]?.stringValue, !version.isEmpty { facts.append("swift-rlhf \(version)") }
        if let seed = run.attributes["seed"] { facts.append("seed \(seed)") }
        if let threads = run.attributes["threads"]?.intValue { facts.append("\(threads) thread\(threads == 1 ? "" : "s")") }
        facts.append("status **\(run.status)**")
        line(facts.joined(separator: " · "))
        line()
        line("Regenerate with \(Markdown.code("rlhf report \(file)")); every number and chart below is read from the run file.")
        line()
        if let error = run.error {
            var place = ""
            if let stage = error.stage { place += " in stage \(Markdown.code(stage))" }
            if let step = error.step { place += " at step \(step)" }
            let what = run.status == "interrupted" ? "was interrupted" : "failed"
            line("> **The run \(what)\(place):** \(error.message.replacingOccurrences(of: "\n", with: " "))")
            line()
        } else if run.status == "running" {
            line("> The run did not finish (it was still running, or was killed). The report shows every committed step.")
            line()
        }
        let stages = try run.stages()
        if !stages.isEmpty {
            line("## Stages")
            line()
            let rows = stages.map { s in
                [
                    Markdown.code(s.name), String(s.committedSteps), s.steps.isEmpty ? "–" : "\(s.steps.first!)–\(s.steps.last!)",
                    String(s.metricNames.count), String(s.tensorNames.count), String(s.evalSteps.count), String(s.rolloutCount),
                ]
            }
            line(
                Markdown.table(
                    ["stage", "steps", "step range", "metrics", "parameters", "evaluations", "rollouts"], rows, rightAligned: [1, 3, 4, 5, 6]))
        }
        if !run.config.isEmpty {
            line("## Configuration")
            line()
            line(configTable(run.config))
        }
        for stage in stages { try section(stage) }
        if let recipe = run.attributes["recipe"]?.stringValue, !recipe.isEmpty {
            line("## Recipe")
            line()
            line(Markdown.fenced(recipe, language: "swift"))
        }
        while markdown.hasSuffix("\n\n") { markdown.removeLast() }
    }

    func configTable(_ config: [String: ConfigValue]) -> String {
        Markdown.table(["key", "value"], config.keys.sorted().map { [Markdown.code($0), value(config[$0]!)] })
    }

    func value(_ v: ConfigValue) -> String {
        switch v {
        case .double(let d): return Format.g(d, 6)
        case .doubles(let ds): return "[" + ds.map { Format.g($0, 6) }.joined(separator: ", ") + "]"
        case .string(let s): return s.contains("\n") ? "\(s.split(separator: "\n").count) lines" : s
        default: return v.description
        }
    }

    mutating func prefix(for stage: String) -> String {
        var candidate = stage.fileNameSafe
        var n = 2
        while usedPrefixes.contains(candidate) {
            candidate = "\(stage.fileNameSafe)-\(n)"
            n += 1
        }
        usedPrefixes.insert(candidate)
        return candidate
    }

    // MARK: - One stage

    mutating func section(_ stage: StageReader) throws {
        let p = prefix(for: stage.name)
        line("## Stage \(Markdown.code(stage.name))")
        line()
        var summary = "\(stage.committedSteps) committed step\(stage.committedSteps == 1 ? "" : "s")"
        if let first = stage.steps.first, let last = stage.steps.last { summary += " (steps \(first)–\(last))" }
        if stage.statsEvery > 1 { summary += "; tensor statistics every \(stage.statsEvery) steps" }
        line(summary + ".")
        line()
        if !stage.config.isEmpty {
            line("### Stage configuration")
            line()
            line(configTable(stage.config))
        }
        try metrics(stage, p)
        try timing(stage, p)
        try gradientHeatMap(stage, p)
        for kind in TensorKind.allCases { try statisticsTable(stage, kind) }
        try activations(stage)
        try rollouts(stage, p)
        try evaluation(stage, p)
    }

    mutating func metrics(_ stage: StageReader, _ p: String) throws {
        guard !stage.metricNames.isEmpty else { return }
        line("### Metrics")
        line()
        var values: [String: [Double]] = [:]
        for name in stage.metricNames { values[name] = try stage.metric(name) }
        let steps = stage.steps.map(Double.init)
        var rows: [[String]] = []
        for name in stage.metricNames {
            let v = values[name]!
            let finite = v.filter(\.isFinite)
            rows.append([
                Markdown.code(name), Format.g(finite.first ?? .nan), Format.g(finite.last ?? .nan),
                Format.g(finite.min() ?? .nan), Format.g(finite.max() ?? .nan), String(v.count - finite.count),
            ])
        }
        line(Markdown.table(["metric", "first", "last", "min", "max", "missing or non-finite"], rows, rightAligned: [1, 2, 3, 4, 5]))
        for group in MetricGroup.allCases {
            let names = stage.metricNames.filter { MetricGroup($0) == group }
            guard !names.isEmpty else { continue }
            if group == .other {
                for name in names {
                    let chart = LineChart(
                        title: "\(stage.name): \(name)", xLabel: "step", yLabel: name,
                        series: [Series(label: name, x: steps, y: values[name]!)])
                    self.chart("\(p)-metric-\(name.fileNameSafe).svg", chart.render(), alt: "\(stage.name) \(name) per step")
                }
            } else {
                let chart = LineChart(
                    title: "\(stage.name): \(group.title.lowercased())", xLabel: "step", yLabel: group.axis,
                    series: names.map { Series(label: $0, x: steps, y: values[$0]!) })
                self.chart("\(p)-\(group.file).svg", chart.render(), alt: "\(stage.name) \(group.title.lowercased()) per step")
            }
        }
    }

    /// The wall-clock values (`/<stage>/timing`): a table and one chart each.
    mutating func timing(_ stage: StageReader, _ p: String) throws {
        guard !stage.timingNames.isEmpty else { return }
        line("### Timing")
        line()
        line("Wall-clock values: they differ between two runs of the same seed.")
        line()
        let steps = stage.timingSteps.map(Double.init)
        var rows: [[String]] = []
        var values: [String: [Double]] = [:]
        for name in stage.timingNames {
            let v = try stage.timing(name)
            values[name] = v
            let finite = v.filter(\.isFinite)
            rows.append([
                Markdown.code(name), Format.g(finite.first ?? .nan), Format.g(finite.last ?? .nan),
                Format.g(finite.min() ?? .nan), Format.g(finite.max() ?? .nan), String(v.count - finite.count),
            ])
        }
        line(Markdown.table(["timing", "first", "last", "min", "max", "missing or non-finite"], rows, rightAligned: [1, 2, 3, 4, 5]))
        for name in stage.timingNames {
            let chart = LineChart(
                title: "\(stage.name): \(name)", xLabel: "step", yLabel: name, series: [Series(label: name, x: steps, y: values[name]!)])
            self.chart("\(p)-timing-\(name.fileNameSafe).svg", chart.render(), alt: "\(stage.name) \(name) per step")
        }
    }

    mutating func gradientHeatMap(_ stage: StageReader, _ p: String) throws {
        let names = stage.tensorNames.filter { stage.tensorKinds($0).contains(.grad) }
        guard !names.isEmpty, !stage.tensorSteps.isEmpty else { return }
        line("### Gradient norms")
        line()
        let values = try names.map { try stage.tensorStatistics($0, kind: .grad).map(\.l2) }
        let map = HeatMap(
            title: "\(stage.name): gradient L2 norm per parameter", rowLabels: names, steps: stage.tensorSteps,
            values: values, scaleLabel: "L2 norm (log)")
        chart("\(p)-grad-norm.svg", map.render(), alt: "\(stage.name) gradient L2 norm per parameter and step")
        line("Rows follow the model's parameter order; grey cells have no finite, non-zero norm.")
        line()
    }

    mutating func statisticsTable(_ stage: StageReader, _ kind: TensorKind) throws {
        let names = stage.tensorNames.filter { stage.tensorKinds($0).contains(kind) }
        guard !names.isEmpty, !stage.tensorSteps.isEmpty else { return }
        let title = ["value": "Parameter values", "grad": "Gradients", "update": "Updates"][kind.rawValue]!
        line("### \(title)")
        line()
        line(
            "First and last recorded step of every parameter. `std` is unbiased (n − 1), as `torch.std`; non-finite elements are counted and left out of the other columns."
        )
        line()
        var rows: [[String]] = []
        for name in names {
            let stats = try stage.tensorStatistics(name, kind: kind)
            let picks = stats.count > 1 ? [0, stats.count - 1] : [0]
            for i in picks { rows.append([Markdown.code(name), String(stage.tensorSteps[i])] + cells(stats[i])) }
        }
        line(Markdown.table(statisticsHeader("parameter"), rows, rightAligned: Set(1...8)))
    }

    func statisticsHeader(_ first: String) -> [String] {
        [first, "step", "mean", "std", "min", "max", "absmax", "L2", "non-finite"]
    }

    func cells(_ s: TensorStatistics) -> [String] {
        [s.mean, s.std, s.min, s.max, s.absmax, s.l2].map { Format.g($0) } + [String(s.nonfinite)]
    }

    mutating func activations(_ stage: StageReader) throws {
        guard !stage.activationNames.isEmpty, !stage.activationSteps.isEmpty else { return }
        line("### Activations")
        line()
        var rows: [[String]] = []
        for name in stage.activationNames {
            let stats = try stage.activationStatistics(name)
            let picks = stats.count > 1 ? [0, stats.count - 1] : [0]
            for i in picks { rows.append([Markdown.code(name), String(stage.activationSteps[i])] + cells(stats[i])) }
        }
        line(Markdown.table(statisticsHeader("layer"), rows, rightAligned: Set(1...8)))
    }

    mutating func rollouts(_ stage: StageReader, _ p: String) throws {
        guard stage.rolloutCount > 0 else { return }
        line("### Rollouts")
        line()
        let steps = try stage.rolloutSteps()
        let all = try stage.rollouts()
        // Per step: mean, min and max reward, and the mean response length.
        var order: [Int] = []
        var byStep: [Int: [RolloutSample]] = [:]
        for r in all {
            if byStep[r.step] == nil { order.append(r.step) }
            byStep[r.step, default: []].append(r.sample)
        }
        let x = order.map(Double.init)
        let rewards = order.map { byStep[$0]!.map(\.reward) }
        let chart = LineChart(
            title: "\(stage.name): rollout reward per step", xLabel: "step", yLabel: "reward",
            series: [
                Series(label: "mean", x: x, y: rewards.map { mean($0) }),
                Series(label: "min", x: x, y: rewards.map { $0.filter(\.isFinite).min() ?? .nan }),
                Series(label: "max", x: x, y: rewards.map { $0.filter(\.isFinite).max() ?? .nan }),
            ])
        self.chart("\(p)-rollout-rewards.svg", chart.render(), alt: "\(stage.name) rollout reward per step")
        let lengths = LineChart(
            title: "\(stage.name): mean response length per step", xLabel: "step", yLabel: "tokens",
            series: [Series(label: "mean length", x: x, y: order.map { mean(byStep[$0]!.map { Double($0.length) }) })])
        self.chart("\(p)-rollout-lengths.svg", lengths.render(), alt: "\(stage.name) mean response length per step")

        line("\(all.count) samples over \(order.count) steps. Samples from the first and the last step:")
        line()
        var shown: [(Int, RecordedRollout)] = []
        let firstStep = steps.first!, lastStep = steps.last!
        for (i, r) in all.enumerated() where r.step == firstStep && shown.filter({ $0.1.step == firstStep }).count < 2 {
            shown.append((i, r))
        }
        if lastStep != firstStep {
            for (i, r) in all.enumerated() where r.step == lastStep && shown.filter({ $0.1.step == lastStep }).count < 2 {
                shown.append((i, r))
            }
        }
        for (i, r) in shown {
            let s = r.sample
            var head = "**Sample \(i), step \(r.step)** · reward \(Format.g(s.reward)) · \(s.length) response tokens"
            if !s.advantages.isEmpty { head += " · mean advantage \(Format.g(mean(s.advantages)))" }
            if !s.logprobs.isEmpty { head += " · mean log-prob \(Format.g(mean(s.logprobs)))" }
            line(head)
            line()
            line("Prompt:")
            line()
            line(Markdown.fenced(s.promptText ?? ids(s.promptIDs), language: "text"))
            line("Response:")
            line()
            line(Markdown.fenced(s.responseText ?? ids(s.responseIDs), language: "text"))
        }
    }

    func ids(_ tokens: [Int32]) -> String {
        let limit = 64
        let head = tokens.prefix(limit).map(String.init).joined(separator: " ")
        let rest = tokens.count > limit ? " … (+\(tokens.count - limit) tokens)" : ""
        return "token ids: " + (tokens.isEmpty ? "(none)" : head + rest)
    }

    mutating func evaluation(_ stage: StageReader, _ p: String) throws {
        guard !stage.evalNames.isEmpty, !stage.evalSteps.isEmpty else { return }
        line("### Evaluation")
        line()
        var values: [String: [Double]] = [:]
        for name in stage.evalNames { values[name] = try stage.eval(name) }
        let x = stage.evalSteps.map(Double.init)
        let chart = LineChart(
            title: "\(stage.name): evaluation", xLabel: "step", yLabel: stage.evalNames.count == 1 ? stage.evalNames[0] : "value",
            series: stage.evalNames.map { Series(label: $0, x: x, y: values[$0]!) })
        self.chart("\(p)-eval.svg", chart.render(), alt: "\(stage.name) evaluation metrics per step")
        var rows: [[String]] = []
        let n = stage.evalSteps.count
        // Long runs: the first 10 and the last 10 evaluations.
        let indices = n <= 20 ? Array(0..<n) : Array(0..<10) + Array((n - 10)..<n)
        for i in indices { rows.append([String(stage.evalSteps[i])] + stage.evalNames.map { Format.g(values[$0]![i]) }) }
        line(Markdown.table(["step"] + stage.evalNames.map { Markdown.code($0) }, rows, rightAligned: Set(0...stage.evalNames.count)))
    }
}

/// The mean of the finite values (NaN when there are none).
func mean(_ values: [Double]) -> Double {
    let finite = values.filter(\.isFinite)
    return finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
}
