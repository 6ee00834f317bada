// Line charts: one or more series against the step, with axes, ticks, grid, axis titles and a
// legend. NaN values break a line (a step that did not record the value). A series may carry a
// band (the min–max over seeds of a sweep), drawn as a light area under its line. Series may share
// a colour (a method's seeds, or its points and its frontier) and may be drawn as points.

/// One line of a chart.
public struct Series: Equatable, Sendable {
    public var label: String
    public var x: [Double]
    public var y: [Double]

    public init(label: String, x: [Double], y: [Double]) {
        self.label = label
        self.x = x
        self.y = y
    }
}

/// The area between `lower` and `upper` at each x of a series, in the series' colour.
public struct Band: Equatable, Sendable {
    public var lower: [Double]
    public var upper: [Double]

    public init(lower: [Double], upper: [Double]) {
        self.lower = lower
        self.upper = upper
    }
}

/// A line chart rendered to SVG.
public struct LineChart: Equatable, Sendable {
    public var title: String
    public var xLabel: String
    /// The y axis title; empty for none.
    public var yLabel: String
    public var series: [Series]
    /// One band per series (or none): the band of `series[i]` is `bands[i]`; nil draws no band.
    public var bands: [Band?] = []
    /// Plot at most this many points per series; longer series are averaged in equal buckets.
    public var maxPoints = 1500
    /// The palette colour of each series (or none: series `i` takes colour `i`). Series of one colour
    /// share the legend entry of the first of them.
    public var colors: [Int] = []
    /// Which series are drawn as points, one dot per value, instead of a line (none by default).
    public var points: [Bool] = []

    static let width = 760.0
    static let height = 360.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// A chart whose series each carry a band (the min–max over seeds, say).
    public init(title: String, xLabel: String, yLabel: String, series: [Series], bands: [Band?]) {
        self.init(title: title, xLabel: xLabel, yLabel: yLabel, series: series)
        self.bands = bands
    }

    /// The chart as a standalone SVG document; the same chart is always the same bytes.
    public func render() -> String {
        let legendWidth = min(220, 30 + 6.5 * Double(series.map(\.label.count).max() ?? 0))
        let left = 72.0, right = 16 + legendWidth, top = 34.0, bottom = 48.0
        let plotW = Self.width - left - right
        let plotH = Self.height - top - bottom
        let drawn = series.map { thin($0) }
        let xs = drawn.flatMap { s in zip(s.x, s.y).filter { $0.1.isFinite }.map(\.0) }
        let banded =
            zip(series, bands).compactMap { s, b in b.map { thin(Series(label: s.label, x: s.x, y: $0.lower)) } }
            + zip(series, bands).compactMap { s, b in b.map { thin(Series(label: s.label, x: s.x, y: $0.upper)) } }
        let ys = (drawn + banded).flatMap { $0.y.filter(\.isFinite) }
        let xTicks = Ticks(xs.min() ?? 0, xs.max() ?? 1, count: 6, integer: xs.allSatisfy { $0 == $0.rounded() })
        let yTicks = Ticks(ys.min() ?? 0, ys.max() ?? 1, count: 5)
        func px(_ x: Double) -> Double { left + (x - xTicks.lo) / (xTicks.hi - xTicks.lo) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - yTicks.lo) / (yTicks.hi - yTicks.lo) * plotH }

        var svg = SVG(width: Self.width, height: Self.height)
        svg.title(title)
        svg.text(left, 20, title, size: 14, bold: true)
        for t in yTicks.values {
            svg.line(left, py(t), left + plotW, py(t), stroke: "#e6e6e6")
            svg.line(left - 4, py(t), left, py(t), stroke: "#444444")
            svg.text(left - 7, py(t) + 4, yTicks.label(t), anchor: .end, size: 10.5)
        }
        for t in xTicks.values {
            svg.line(px(t), top + plotH, px(t), top + plotH + 4, stroke: "#444444")
            svg.text(px(t), top + plotH + 17, xTicks.label(t), anchor: .middle, size: 10.5)
        }
        svg.line(left, top, left, top + plotH, stroke: "#444444")
        svg.line(left, top + plotH, left + plotW, top + plotH, stroke: "#444444")
        svg.text(left + plotW / 2, Self.height - 10, xTicks.title(xLabel), anchor: .middle, size: 12)
        if !yLabel.isEmpty {
            svg.text(16, top + plotH / 2, yTicks.title(yLabel), anchor: .middle, size: 12, rotate: true)
        }
        if ys.isEmpty {
            svg.text(left + plotW / 2, top + plotH / 2, "no finite values", anchor: .middle, size: 12, fill: "#888888")
        }

        for (i, (s, band)) in zip(series, bands).enumerated() {
            guard let band else { continue }
            let (lower, upper) = (thin(Series(label: "", x: s.x, y: band.lower)), thin(Series(label: "", x: s.x, y: band.upper)))
            // One area per run of steps where both bounds are finite.
            var run: [(Double, Double, Double)] = []
            func flush() {
                if run.count > 1 {
                    let points = run.map { (px($0.0), py($0.2)) } + run.reversed().map { (px($0.0), py($0.1)) }
                    svg.polygon(points, fill: colour(i), opacity: 0.2)
                } else if let (x, lo, hi) = run.first {
                    svg.line(px(x), py(lo), px(x), py(hi), stroke: colour(i), width: 5, opacity: 0.2)
                }
                run.removeAll()
            }
            for (x, (lo, hi)) in zip(lower.x, zip(lower.y, upper.y)) {
                if lo.isFinite && hi.isFinite { run.append((x, lo, hi)) } else { flush() }
            }
            flush()
        }
        for (i, s) in drawn.enumerated() {
            let colour = colour(i)
            if isPoints(i) {
                for (x, y) in zip(s.x, s.y) where y.isFinite { svg.circle(px(x), py(y), r: 3, fill: colour) }
                continue
            }
            var segment: [(Double, Double)] = []
            func flush() {
                if segment.count == 1 {
                    svg.circle(segment[0].0, segment[0].1, r: 2.5, fill: colour)
                } else if segment.count > 1 {
                    svg.polyline(segment, stroke: colour)
                }
                segment.removeAll()
            }
            for (x, y) in zip(s.x, s.y) {
                if y.isFinite { segment.append((px(x), py(y))) } else { flush() }
            }
            flush()
        }
        do {
            let x0 = left + plotW + 14
            var entry = 0
            for (i, s) in series.enumerated() where !series.indices.prefix(i).contains(where: { colorIndex($0) == colorIndex(i) }) {
                let y = top + 8 + Double(entry) * 18
                let shared = series.indices.filter { colorIndex($0) == colorIndex(i) }
                if shared.allSatisfy(isPoints) {
                    svg.circle(x0 + 9, y, r: 3, fill: colour(i))
                } else {
                    svg.line(x0, y, x0 + 18, y, stroke: colour(i), width: 3)
                }
                svg.text(x0 + 24, y + 4, s.label, size: 11)
                entry += 1
            }
        }
        return svg.rendered
    }

    /// The palette index of series `i`.
    private func colorIndex(_ i: Int) -> Int { i < colors.count ? colors[i] : i }

    /// The colour of series `i`.
    private func colour(_ i: Int) -> String { palette[colorIndex(i) % palette.count] }

    /// Whether series `i` is drawn as points.
    private func isPoints(_ i: Int) -> Bool { i < points.count && points[i] }

    /// The series averaged in equal buckets when it has more than `maxPoints` points.
    private func thin(_ s: Series) -> Series {
        let n = s.x.count
        guard n > maxPoints else { return s }
        var out = Series(label: s.label, x: [], y: [])
        for b in 0..<maxPoints {
            let range = (b * n / maxPoints)..<((b + 1) * n / maxPoints)
            let finite = range.filter { s.y[$0].isFinite }
            out.x.append(range.map { s.x[$0] }.reduce(0, +) / Double(range.count))
            out.y.append(finite.isEmpty ? .nan : finite.map { s.y[$0] }.reduce(0, +) / Double(finite.count))
        }
        return out
    }
}
