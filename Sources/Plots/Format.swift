// Number formatting for reports, charts and recipes: C's printf in the "C" locale, so a number
// prints the same way on every machine and every regeneration.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Fixed, locale-free number formatting for reports, charts, `rlhf inspect` and recipes.
public enum Format {
    /// `value` with `digits` significant digits, as C's `%.<digits>g`; NaN is "NaN", infinities
    /// "inf" and "-inf", and negative zero "0".
    public static func g(_ value: Double, _ digits: Int = 4) -> String {
        if let special = special(value) { return special }
        return printf("%.\(digits)g", value == 0 ? 0 : value)
    }

    /// `value` with `decimals` digits after the point, as C's `%.<decimals>f`.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        if let special = special(value) { return special }
        let text = printf("%.\(decimals)f", value)
        // "-0.00" would differ from "0.00" only by the sign of a rounded zero.
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(text.dropFirst()) }
        return text
    }

    /// `value` in scientific notation with `decimals` digits after the point, as `%.<decimals>e`.
    public static func scientific(_ value: Double, _ decimals: Int) -> String {
        if let special = special(value) { return special }
        return printf("%.\(decimals)e", value == 0 ? 0 : value)
    }

    /// A coordinate in an SVG file: two decimals, no trailing zeros.
    static func coordinate(_ value: Double) -> String {
        var text = fixed(value, 2)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    /// An integer count with thousands separated by commas: 1709184 → "1,709,184".
    public static func count(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return value < 0 ? "-" + out : out
    }

    private static func special(_ value: Double) -> String? {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "inf" }
        if value == -.infinity { return "-inf" }
        return nil
    }

    private static func printf(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        return String(cString: buffer)
    }
}
