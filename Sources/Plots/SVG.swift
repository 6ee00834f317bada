// A plain SVG writer: elements appended as text, numbers through `Format`, so the same chart is
// the same bytes every time.

/// An SVG document under construction.
struct SVG {
    let width: Double
    let height: Double
    private var body: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
        body.append("<rect width=\"\(c(width))\" height=\"\(c(height))\" fill=\"#ffffff\"/>")
    }

    mutating func line(
        _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dash: String? = nil, opacity: Double? = nil
    ) {
        var dashed = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        if let opacity { dashed += " stroke-opacity=\"\(c(opacity))\"" }
        body.append(
            "<line x1=\"\(c(x1))\" y1=\"\(c(y1))\" x2=\"\(c(x2))\" y2=\"\(c(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(c(width))\"\(dashed)/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil) {
        let outline = stroke.map { " stroke=\"\($0)\"" } ?? ""
        body.append("<rect x=\"\(c(x))\" y=\"\(c(y))\" width=\"\(c(w))\" height=\"\(c(h))\" fill=\"\(fill)\"\(outline)/>")
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String) {
        body.append("<circle cx=\"\(c(x))\" cy=\"\(c(y))\" r=\"\(c(r))\" fill=\"\(fill)\"/>")
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5) {
        let list = points.map { "\(c($0.0)),\(c($0.1))" }.joined(separator: " ")
        body.append(
            "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(c(width))\" stroke-linejoin=\"round\"/>")
    }

    mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double) {
        let list = points.map { "\(c($0.0)),\(c($0.1))" }.joined(separator: " ")
        body.append("<polygon points=\"\(list)\" fill=\"\(fill)\" fill-opacity=\"\(c(opacity))\" stroke=\"none\"/>")
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(
        _ x: Double, _ y: Double, _ content: String, anchor: Anchor = .start, size: Double = 11, bold: Bool = false,
        fill: String = "#222222", rotate: Bool = false
    ) {
        var attributes = "x=\"\(c(x))\" y=\"\(c(y))\" font-size=\"\(c(size))\" fill=\"\(fill)\""
        if anchor != .start { attributes += " text-anchor=\"\(anchor.rawValue)\"" }
        if bold { attributes += " font-weight=\"bold\"" }
        if rotate { attributes += " transform=\"rotate(-90 \(c(x)) \(c(y)))\"" }
        body.append("<text \(attributes)>\(escape(content))</text>")
    }

    /// A tooltip-free title for screen readers and file browsers.
    mutating func title(_ content: String) {
        body.insert("<title>\(escape(content))</title>", at: 0)
    }

    var rendered: String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(c(width))\" height=\"\(c(height))\" "
        out += "viewBox=\"0 0 \(c(width)) \(c(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        out += body.joined(separator: "\n")
        out += "\n</svg>\n"
        return out
    }

    private func c(_ value: Double) -> String { Format.coordinate(value) }
}

/// Escapes text for XML.
func escape(_ text: String) -> String {
    var out = ""
    for ch in text {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(ch)
        }
    }
    return out
}

/// Series colours (Tableau 10): distinct at a glance, in a fixed order.
let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

/// The viridis colour map at `t` in [0, 1] (perceptually even, readable in grey and by most
/// colour-blind readers), as "#rrggbb".
func viridis(_ t: Double) -> String {
    let stops: [(Double, Double, Double)] = [
        (68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
        (31, 158, 137), (53, 183, 121), (110, 206, 88), (181, 222, 43), (253, 231, 37),
    ]
    let x = min(max(t.isNaN ? 0 : t, 0), 1) * Double(stops.count - 1)
    let i = min(Int(x), stops.count - 2)
    let f = x - Double(i)
    let (a, b) = (stops[i], stops[i + 1])
    func channel(_ p: Double, _ q: Double) -> String {
        let v = Int((p + (q - p) * f).rounded())
        let hex = String(v, radix: 16)
        return hex.count == 1 ? "0" + hex : hex
    }
    return "#" + channel(a.0, b.0) + channel(a.1, b.1) + channel(a.2, b.2)
}

/// Axis ticks at "nice" values (1, 2 or 5 × 10ᵏ apart) covering [lo, hi].
///
/// Labels share one format: fixed decimals when the values are neither tiny nor huge, else the
/// values are shown scaled by a common power of ten that the axis title names (`multiplier`).
struct Ticks {
    var values: [Double]
    /// The axis range, widened to whole ticks.
    var lo: Double
    var hi: Double
    /// The power of ten of the tick spacing.
    var exponent: Int
    /// The power of ten that labels are divided by (0 when they are printed as they are).
    var power: Int

    /// - Parameter integer: Ticks at whole numbers only (steps).
    init(_ low: Double, _ high: Double, count: Int = 5, integer: Bool = false) {
        var (l, h) = (low, high)
        if !(l.isFinite && h.isFinite) { (l, h) = (0, 1) }
        if l == h {
            let pad = l == 0 ? 1 : abs(l) * 0.1
            (l, h) = (l - pad, h + pad)
        }
        let raw = (h - l) / Double(max(count, 1))
        var exponent = Int(floor(log10(raw)))
        let normalized = raw / pow(10, Double(exponent))
        var nice: Double = normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10
        if nice == 10 {
            nice = 1
            exponent += 1
        }
        if integer && exponent < 0 {
            (nice, exponent) = (1, 0)
        }
        let step = nice * pow(10, Double(exponent))
        self.exponent = exponent
        let first = floor(l / step + 1e-9)
        let last = ceil(h / step - 1e-9)
        lo = first * step
        hi = last * step
        values = stride(from: first, through: last, by: 1).map { $0 * step }
        let largest = values.map(abs).max() ?? 0
        if exponent >= -3 && largest < 1e5 {
            power = 0
        } else {
            power = Int(floor(log10(largest)))
        }
    }

    /// A tick's label, in the common format of this axis.
    func label(_ value: Double) -> String {
        let scaled = value / pow(10, Double(power))
        return Format.fixed(scaled, max(0, power - exponent))
    }

    /// The axis title with the labels' multiplier, e.g. "learning rate (×10⁻³)".
    func title(_ base: String) -> String {
        guard power != 0 else { return base }
        let superscripts: [Character: Character] = [
            "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹",
        ]
        return "\(base) (×10\(String(String(power).map { superscripts[$0]! })))"
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
