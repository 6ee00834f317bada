import Plots

/// A line chart of one or more series against their steps (by default their index), drawn as SVG.
///
/// The SVG text depends on the values only, so regenerating a notebook writes the same bytes.
///
/// `Chart` is data the host may draw as it likes; `svg` draws it with Plots' line chart, as reports do.
public struct Chart: Equatable {
    public struct Series: Equatable {
        public var label: String
        public var values: [Double]
        /// The horizontal position of each value; nil draws them at 0, 1, 2, ...
        public var steps: [Double]?
        public init(label: String, values: [Double], steps: [Double]? = nil) {
            self.label = label
            self.values = values
            self.steps = steps
        }
    }

    public var title: String
    public var series: [Series]
    public var xLabel: String

    public init(title: String, series: [Series], xLabel: String = "step") {
        self.title = title
        self.series = series
        self.xLabel = xLabel
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
        LineChart(
            title: title, xLabel: xLabel, yLabel: "",
            series: series.map { Plots.Series(label: $0.label, x: $0.steps ?? $0.values.indices.map(Double.init), y: $0.values) }
        ).render()
    }
}
