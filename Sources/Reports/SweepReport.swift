// The report of a sweep, made from its run files alone: final metrics and evaluations as
// mean ± std over seeds per grid point (`sweep.md`, `sweep.csv`), and each series' mean curve with
// its min–max band over seeds.

import Foundation
import Plots
import Recording

/// The final value of one series over the seeds of one grid point.
public struct SeedStatistics: Sendable, Equatable {
    public var count: Int
    public var mean: Double
    /// The unbiased standard deviation (n − 1), as `torch.std`; NaN for one seed.
    public var std: Double

    /// Over the finite values of `values`.
    public init(_ values: [Double]) {
        let finite = values.filter(\.isFinite)
        count = finite.count
        mean = finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
        let m = mean
        std = finite.count < 2 ? .nan : (finite.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(finite.count - 1)).squareRoot()
    }
}

extension SweepPlan {
    /// The sweep's files: `sweep.md`, `sweep.csv`, then one chart per series. `title` names the
    /// recipe; `directory` holds the point folders.
    public func report(title: String, command: String, directory: URL) throws -> [Report.File] {
        let grid = self.grid
        var summaries: [[RunSummary]] = []
        var failures: [(Point, String)] = []
        var missing = 0
        for settings in grid {
            var finished: [RunSummary] = []
            for seed in seeds {
                let point = Point(settings: settings, seed: seed)
                switch Self.state(of: point, in: directory) {
                case .finished:
                    finished.append(
                        try RunSummary(try RunReader(url: directory.appendingPathComponent(point.folder).appendingPathComponent("run.h5"))))
                case .failed(let message): failures.append((point, message))
                case .missing: missing += 1
                }
            }
            summaries.append(finished)
        }
        var keys: [String] = []
        var names: [String: String] = [:]
        for s in summaries.joined() {
            for series in s.series where names[series.key] == nil {
                keys.append(series.key)
                names[series.key] = series.name
            }
        }
        let statistics = summaries.map { runs in keys.map { key in SeedStatistics(runs.compactMap { $0.series(key)?.final }) } }

        var out = ""
        func line(_ text: String = "") { out += text + "\n" }
        line("# Sweep of \(Markdown.code(title))")
        line()
        let total = grid.count * seeds.count
        line(
            "\(total) runs (\(grid.count) grid point\(grid.count == 1 ? "" : "s") × \(seeds.count) seed\(seeds.count == 1 ? "" : "s")): \(total - failures.count - missing) finished, \(failures.count) failed, \(missing) missing. Made from the run files alone; rerun \(Markdown.code(command)) to finish what is missing."
        )
        line()
        line(
            "Seeds: \(seeds.map(String.init).joined(separator: ", ")). Each cell is the mean ± standard deviation (n − 1) over seeds of a series' last finite value; `sweep.csv` holds the same numbers in full precision."
        )
        line()
        let axisNames = axes.map(\.name)
        if !keys.isEmpty {
            line("## Final metrics and evaluations")
            line()
            line("One column per grid point, one row per series.")
            line()
            let header = ["series"] + grid.map { $0.isEmpty ? "all" : $0.map { "\($0.name)=\($0.value)" }.joined(separator: ", ") }
            let cell = { (s: SeedStatistics) -> String in
                s.count == 0 ? "–" : s.count == 1 ? Format.g(s.mean) : "\(Format.g(s.mean)) ± \(Format.g(s.std, 2))"
            }
            let rows =
                [["runs"] + summaries.map { String($0.count) }] + keys.indices.map { k in [Markdown.code(keys[k])] + statistics.map { cell($0[k]) } }
            line(Markdown.table(header, rows, rightAligned: Set(1...grid.count)))
        }
        if !failures.isEmpty {
            line("## Failed runs")
            line()
            line(Markdown.table(["run", "error"], failures.map { [Markdown.code($0.0.folder), $0.1] }))
        }
        var charts: [Report.File] = []
        if !keys.isEmpty {
            line("## Curves")
            line()
            line("The mean over seeds of every grid point, with the band from the minimum to the maximum seed.")
            line()
        }
        for key in keys {
            var series: [Series] = []
            var bands: [Band?] = []
            for g in grid.indices {
                let runs = summaries[g].compactMap { $0.series(key) }
                guard let first = runs.first else { continue }
                let x = first.steps
                let columns = x.indices.map { i in
                    runs.compactMap { i < $0.values.count && $0.steps[i] == x[i] ? $0.values[i] : nil }.filter(\.isFinite)
                }
                series.append(
                    Series(
                        label: grid[g].isEmpty ? "all" : grid[g].map { "\($0.name)=\($0.value)" }.joined(separator: " "), x: x.map(Double.init),
                        y: columns.map { $0.isEmpty ? .nan : $0.reduce(0, +) / Double($0.count) }))
                bands.append(Band(lower: columns.map { $0.min() ?? .nan }, upper: columns.map { $0.max() ?? .nan }))
            }
            let file = key.replacingOccurrences(of: "/", with: "-").fileNameSafe + ".svg"
            let chart = LineChart(title: key, xLabel: "step", yLabel: names[key]!, series: series, bands: bands)
            charts.append(Report.File(name: file, contents: chart.render()))
            line("![\(key) per step, mean and min–max over seeds](\(file))")
            line()
        }
        while out.hasSuffix("\n\n") { out.removeLast() }

        var csv = (axisNames + ["runs"] + keys.flatMap { ["\($0) mean", "\($0) std"] }).map(csvField).joined(separator: ",") + "\n"
        for g in grid.indices {
            let cells = grid[g].map(\.value) + [String(summaries[g].count)] + statistics[g].flatMap { [Format.g($0.mean, 17), Format.g($0.std, 17)] }
            csv += cells.map(csvField).joined(separator: ",") + "\n"
        }
        return [Report.File(name: "sweep.md", contents: out), Report.File(name: "sweep.csv", contents: csv)] + charts
    }
}
