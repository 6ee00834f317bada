/// A line chart of one or more series against their index (a step), drawn as SVG.
///
/// The SVG text depends on the values only (coordinates rounded to 0.1), so regenerating a
/// notebook writes the same bytes.
///
/// `Chart` is data the host may draw as it likes; `svg` is the language's own drawing, the one
/// place to hand over to a shared plotting module when the language depends on one.
public struct Chart: Equatable {
    public struct Series: Equatable {
        public var label: String
        public var values: [Double]
        public init(label: String, values: [Double]) {
            self.label = label
            self.values = values
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

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    /// The chart as a standalone SVG document.
    public var svg: String {
        let width = 640.0, height = 360.0
        let left = 64.0, right = 16.0, top = 36.0, bottom = 48.0
        let plotW = width - left - right, plotH = height - top - bottom
        let finite = series.flatMap(\.values).filter(\.isFinite)
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        if lo == hi { lo -= 0.5; hi += 0.5 }
        let n = max(2, series.map(\.values.count).max() ?? 2)
        func x(_ i: Int) -> Double { left + plotW * Double(i) / Double(n - 1) }
        func y(_ v: Double) -> Double { top + plotH * (1 - (v - lo) / (hi - lo)) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(f(width / 2))" y="20" text-anchor="middle" font-size="14">\(escapeXML(title))</text>

            """
        // Axes, with five horizontal grid lines labelled by value.
        for k in 0...4 {
            let v = lo + (hi - lo) * Double(k) / 4
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y(v)))\" x2=\"\(f(width - right))\" y2=\"\(f(y(v)))\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\">\(escapeXML(formatted(v, digits: 3)))</text>\n"
        }
        out += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(width - right))\" y2=\"\(f(top + plotH))\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(f(left))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">0</text>\n"
        out += "<text x=\"\(f(width - right))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(n - 1)</text>\n"
        out += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
        for (i, s) in series.enumerated() {
            let color = Chart.palette[i % Chart.palette.count]
            // Non-finite values break the line into segments.
            var segments: [[String]] = [[]]
            for (j, v) in s.values.enumerated() {
                if v.isFinite {
                    segments[segments.count - 1].append("\(f(x(j))),\(f(y(v)))")
                } else if !segments[segments.count - 1].isEmpty {
                    segments.append([])
                }
            }
            for points in segments where !points.isEmpty {
                out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
            }
            let ly = top + 14 + Double(i) * 16
            out += "<line x1=\"\(f(width - right - 120))\" y1=\"\(f(ly - 4))\" x2=\"\(f(width - right - 104))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(f(width - right - 100))\" y=\"\(f(ly))\">\(escapeXML(s.label))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    private func escapeXML(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
