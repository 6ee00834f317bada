// The gradient-norm heat map: one row per parameter (in model order), one column per recorded
// step, colour = log10 of the gradient's L2 norm, with a colour scale legend.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A heat map of positive values (norms) per row and step, coloured by their log10, rendered to SVG.
public struct HeatMap: Equatable, Sendable {
    public var title: String
    public var rowLabels: [String]
    public var steps: [Int]
    /// values[row][column], positive (norms); zero, NaN and missing cells are drawn grey.
    public var values: [[Double]]
    public var scaleLabel: String
    /// At most this many columns; more steps are averaged (in log space) in equal buckets.
    public var maxColumns = 240

    public init(title: String, rowLabels: [String], steps: [Int], values: [[Double]], scaleLabel: String) {
        self.title = title
        self.rowLabels = rowLabels
        self.steps = steps
        self.values = values
        self.scaleLabel = scaleLabel
    }

    /// The map as a standalone SVG document; the same map is always the same bytes.
    public func render() -> String {
        let rows = rowLabels.count
        let rowHeight = rows == 0 ? 14 : max(3, min(24, 640 / Double(rows)))
        let labelEvery = rowHeight >= 10 ? 1 : Int((10 / rowHeight).rounded(.up))
        let longest = Double(rowLabels.map(\.count).max() ?? 0)
        let left = min(360, 14 + 6.2 * longest), top = 34.0, bottom = 48.0, legend = 110.0
        let plotW = 560.0
        let plotH = rowHeight * Double(max(rows, 1))
        let width = left + plotW + legend
        let barH = max(min(plotH, 260), 140)
        let height = top + max(plotH, barH + 24) + bottom

        // Columns: buckets of steps, each the mean of log10(norm) over its finite cells.
        let n = steps.count
        let columns = min(n, maxColumns)
        let buckets = (0..<columns).map { b in (b * n / columns)..<((b + 1) * n / columns) }
        let logs: [[Double]] = values.map { row in
            buckets.map { range in
                let finite = range.compactMap { $0 < row.count && row[$0] > 0 && row[$0].isFinite ? log10(row[$0]) : nil }
                return finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
            }
        }
        let finite = logs.flatMap { $0.filter(\.isFinite) }
        // Whole decades when the norms span two or more; finer ticks otherwise.
        let (low, high) = (finite.min() ?? 0, finite.max() ?? 1)
        let scale = Ticks(low, high, count: 5, integer: high - low >= 2)
        func colour(_ v: Double) -> String {
            v.isFinite ? viridis((v - scale.lo) / (scale.hi - scale.lo)) : "#d9d9d9"
        }

        var svg = SVG(width: width, height: height)
        svg.title(title)
        svg.text(left, 20, title, size: 14, bold: true)
        let cellW = columns > 0 ? plotW / Double(columns) : plotW
        for (r, row) in logs.enumerated() {
            let y = top + Double(r) * rowHeight
            for (c, v) in row.enumerated() {
                // Cells overlap by a hair so no seam shows between them.
                svg.rect(left + Double(c) * cellW, y, cellW + 0.5, rowHeight + 0.5, fill: colour(v))
            }
            if r % labelEvery == 0 {
                svg.text(left - 6, y + rowHeight / 2 + 3.5, rowLabels[r], anchor: .end, size: min(11, max(7, rowHeight - 1)))
            }
        }
        svg.rect(left, top, plotW, plotH, fill: "none", stroke: "#444444")
        // Step axis: ticks at nice steps, placed on the column that holds them.
        if n > 0 {
            let ticks = Ticks(Double(steps.first!), Double(steps.last!), count: 6, integer: true)
            for t in ticks.values where t >= Double(steps.first!) && t <= Double(steps.last!) {
                guard let index = steps.firstIndex(where: { Double($0) >= t }) else { continue }
                let column = buckets.firstIndex { $0.contains(index) } ?? 0
                let x = left + (Double(column) + 0.5) * cellW
                svg.line(x, top + plotH, x, top + plotH + 4, stroke: "#444444")
                svg.text(x, top + plotH + 17, ticks.label(t), anchor: .middle, size: 10.5)
            }
        }
        svg.text(left + plotW / 2, top + plotH + 36, "step", anchor: .middle, size: 12)

        // Colour scale: a bar of 50 bands, labelled with norms at nice powers.
        let barX = left + plotW + 24, barW = 16.0
        let barY = top
        for i in 0..<50 {
            let t = 1 - (Double(i) + 0.5) / 50
            svg.rect(barX, barY + Double(i) * barH / 50, barW, barH / 50 + 0.3, fill: viridis(t))
        }
        svg.rect(barX, barY, barW, barH, fill: "none", stroke: "#444444")
        for t in scale.values {
            let y = barY + barH - (t - scale.lo) / (scale.hi - scale.lo) * barH
            svg.line(barX + barW, y, barX + barW + 4, y, stroke: "#444444")
            svg.text(barX + barW + 7, y + 3.5, Format.g(pow(10, t), 3), size: 10)
        }
        svg.text(barX + barW / 2, barY + barH + 16, scaleLabel, anchor: .middle, size: 10.5)
        return svg.rendered
    }
}
