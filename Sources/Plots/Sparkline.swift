// Sparklines: a series as one line of block characters, for terminals (`rlhf inspect`, the REPL,
// a recipe's `sparkline` and `chart`).

/// A unicode sparkline of `values` (▁ to █) at most `width` characters wide.
///
/// Longer series are averaged in equal buckets; the bars span the buckets' lowest to highest mean.
/// A bucket with no finite value is a space; a flat series is drawn at mid height (▄).
public func sparkline(_ values: [Double], width: Int = 48) -> String {
    let bars = Array("▁▂▃▄▅▆▇█")
    let n = values.count
    guard n > 0, width > 0 else { return "" }
    let columns = min(n, width)
    let buckets = (0..<columns).map { b -> Double in
        let finite = values[(b * n / columns)..<((b + 1) * n / columns)].filter(\.isFinite)
        return finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
    }
    let finite = buckets.filter(\.isFinite)
    guard let lo = finite.min(), let hi = finite.max() else { return String(repeating: " ", count: columns) }
    return String(
        buckets.map { v -> Character in
            guard v.isFinite else { return " " }
            guard hi > lo else { return bars[3] }
            // The span overflows to infinity for values near ±Double.greatestFiniteMagnitude.
            let ratio = min(1, max(0, (v - lo) / (hi - lo)))
            return ratio.isFinite ? bars[Int(ratio * Double(bars.count - 1) + 0.5)] : bars[0]
        })
}
