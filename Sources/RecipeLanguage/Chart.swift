import Plots

/// A line chart of one or more series against their steps (by default their index), drawn as SVG.
///
/// The SVG text depends on the values only, so regenerating a notebook writes the same bytes.
///
/// Series with the same label share a colour and one legend entry (a method's seeds); a series may be
/// drawn as points instead of a line (one point per seed and setting, say).
///
/// `Chart` is data the host may draw as it likes; `svg` draws it with Plots' line chart, as reports do.
public struct Chart: Equatable {
    public struct Series: Equatable {
        public var label: String
        public var values: [Double]
        /// The horizontal position of each value; nil draws them at 0, 1, 2, ...
        public var steps: [Double]?
        /// Draws one point per value instead of a line.
        public var points: Bool
        public init(label: String, values: [Double], steps: [Double]? = nil, points: Bool = false) {
            self.label = label
            self.values = values
            self.steps = steps
            self.points = points
        }
    }

    public var title: String
    public var series: [Series]
    public var xLabel: String
    /// The vertical axis title; empty for none.
    public var yLabel: String

    public init(title: String, series: [Series], xLabel: String = "step", yLabel: String = "") {
        self.title = title
        self.series = series
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    /// The title and one sparkline per series, for terminals.
    public var plainText: String {
        var text = title.isEmpty ? "" : "\(title)\n"
        let width = series.map(\.label.count).max() ?? 0
        for s in series {
            let last = s.values.last.map { "  last \(formatted($0))" } ?? ""
            text += "  \(s.label.padding(toLength: width, withPad: " ", startingAt: 0))  \(sparkline(s.values))\(last)\n"
        }
        return text
    }

    /// The chart as a standalone SVG document: the line chart of reports, series against their steps.
    public var svg: String {
        var chart = LineChart(
            title: title, xLabel: xLabel, yLabel: yLabel,
            series: series.map { Plots.Series(label: $0.label, x: $0.steps ?? $0.values.indices.map(Double.init), y: $0.values) })
        var labels: [String] = []
        for s in series where !labels.contains(s.label) { labels.append(s.label) }
        chart.colors = series.map { labels.firstIndex(of: $0.label)! }
        chart.points = series.map(\.points)
        return chart.render()
    }
}
