// `rlhf compare`: several run files side by side, made from the files alone and byte-stable —
// the configuration keys that differ, final metrics and evaluations, one overlaid chart per
// shared metric, and for two runs the first step and dataset where they part.

import Foundation
import Plots
import Recording

/// Why runs cannot be compared.
public enum CompareError: Error, CustomStringConvertible, Equatable {
    case tooFewRuns(Int)
    case noMetricInCommon([String: [String]])

    public var description: String {
        switch self {
        case .tooFewRuns(let n):
            return "compare needs at least two run files, got \(n). Give them as `rlhf compare A.h5 B.h5`."
        case .noMetricInCommon(let held):
            let list = held.keys.sorted().map { "\($0) has \(held[$0]!.isEmpty ? "none" : held[$0]!.prefix(6).joined(separator: ", "))" }
            return
                "the runs share no metric, so no curve can be overlaid (\(list.joined(separator: "; "))). Compare runs of the same recipe or stages."
        }
    }
}

/// Compares run files: `compare.md` and one SVG per shared metric.
///
/// ```swift
/// let files = try Compare.render(["a/run.h5", "b/run.h5"].map { try RunReader(path: $0) }, labels: ["a/run.h5", "b/run.h5"])
/// ```
public enum Compare {
    /// The comparison's files: `compare.md` first, then the charts in the order it shows them.
    /// `labels` name the runs in the report (the paths as the user gave them).
    public static func render(_ runs: [RunReader], labels: [String]) throws -> [Report.File] {
        guard runs.count >= 2 else { throw CompareError.tooFewRuns(runs.count) }
        let summaries = try runs.map { try RunSummary($0) }
        let letters = runs.indices.map { letter($0) }
        let shared = summaries[0].series.map(\.key).filter { key in summaries.allSatisfy { $0.series(key) != nil } }
        guard !shared.isEmpty else {
            var held: [String: [String]] = [:]
            for (i, s) in summaries.enumerated() { held["\(letters[i]) (\(labels[i]))"] = s.series.map(\.key) }
            throw CompareError.noMetricInCommon(held)
        }
        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        var charts: [Report.File] = []

        line("# Comparison of \(runs.count) runs")
        line()
        line("Made from the run files alone; regenerate with \(Markdown.code((["rlhf compare"] + labels).joined(separator: " "))).")
        line()
        let runRows = runs.indices.map { i -> [String] in
            let r = runs[i]
            return [
                letters[i], Markdown.code(labels[i]), r.name, r.attributes["seed"]?.description ?? "–", r.status,
                r.stageNames.joined(separator: ", "),
            ]
        }
        line(Markdown.table(["run", "file", "name", "seed", "status", "stages"], runRows))

        line("## Configuration that differs")
        line()
        let configurations = summaries.map(\.configuration)
        let differing = differingKeys(configurations)
        if differing.isEmpty {
            line("Every configuration key has the same value in every run.")
            line()
        } else {
            let rows = differing.map { key in [Markdown.code(key)] + configurations.map { $0[key].map(shown) ?? "–" } }
            line(Markdown.table(["key"] + letters, rows))
        }

        if runs.count == 2 {
            line("## First divergence")
            line()
            if let d = try RunDivergence.first(runs[0], runs[1]) {
                var place: [String] = []
                if let stage = d.stage { place.append("stage \(Markdown.code(stage))") }
                if let step = d.step { place.append("step \(step)") }
                place.append("dataset \(Markdown.code(d.dataset))")
                if let statistic = d.statistic { place.append("statistic \(Markdown.code(statistic))") }
                line("The runs first differ at \(place.joined(separator: ", ")): A \(Markdown.code(d.values.0)), B \(Markdown.code(d.values.1)).")
            } else {
                line(
                    "**Identical**: every committed dataset and attribute matches bit for bit (the wall-clock timings and the root `created` and `name` attributes aside)."
                )
            }
            line()
        }

        for (title, kind) in [("Final metrics", RunSeries.Kind.metric), ("Final evaluations", .eval)] {
            var keys: [String] = []
            for s in summaries { keys += s.series.filter { $0.kind == kind && !keys.contains($0.key) }.map(\.key) }
            guard !keys.isEmpty else { continue }
            line("## \(title)")
            line()
            line("The last finite value of each series; – where a run did not record it.")
            line()
            let rows = keys.map { key in
                [Markdown.code(key)] + summaries.map { s in s.series(key).map { Format.g($0.final, 6) } ?? "–" }
            }
            line(Markdown.table(["series"] + letters, rows, rightAligned: Set(1...runs.count)))
        }

        line("## Curves")
        line()
        line("Every series the runs share, overlaid.")
        line()
        var used: Set<String> = []
        for key in shared {
            let all = summaries.map { $0.series(key)! }
            var name = key.replacingOccurrences(of: "/", with: "-").fileNameSafe
            while used.contains(name) { name += "_" }
            used.insert(name)
            let chart = LineChart(
                title: key, xLabel: "step", yLabel: all[0].name,
                series: all.indices.map { i in
                    Series(label: legend(letters[i], runs[i]), x: all[i].steps.map(Double.init), y: all[i].values)
                })
            charts.append(Report.File(name: "\(name).svg", contents: chart.render()))
            line("![\(key) per step](\(name).svg)")
            line()
        }
        while out.hasSuffix("\n\n") { out.removeLast() }
        return [Report.File(name: "compare.md", contents: out)] + charts
    }

    /// Writes the comparison into `directory` (created when missing) and returns the file names.
    @discardableResult
    public static func write(_ runs: [RunReader], labels: [String], to directory: URL) throws -> [String] {
        let files = try render(runs, labels: labels)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for file in files { try Data(file.contents.utf8).write(to: directory.appendingPathComponent(file.name), options: .atomic) }
        return files.map(\.name)
    }

    /// A, B, ..., Z, AA, AB, ...
    static func letter(_ i: Int) -> String {
        let a = Int(UnicodeScalar("A").value)
        let head = i >= 26 ? letter(i / 26 - 1) : ""
        return head + String(UnicodeScalar(UInt8(a + i % 26)))
    }

    static func legend(_ letter: String, _ run: RunReader) -> String {
        let name = run.name
        return name.count <= 24 ? "\(letter): \(name)" : letter
    }

    /// A configuration value as a table cell: numbers through `Format`, long text by its size.
    static func shown(_ value: ConfigValue) -> String {
        switch value {
        case .double(let d): return Format.g(d, 6)
        case .doubles(let ds): return "[" + ds.map { Format.g($0, 6) }.joined(separator: ", ") + "]"
        case .string(let s) where s.contains("\n"): return "\(s.split(separator: "\n", omittingEmptySubsequences: false).count) lines"
        default: return value.description
        }
    }
}
