import Foundation
import Plots

/// Something a recipe shows: printed text, a table, or a chart. The REPL and `rlhf run` write
/// them to the terminal; a notebook writes them into its result file.
public enum OutputItem: Equatable {
    /// Text exactly as printed, terminator included.
    case text(String)
    case table(Table)
    case chart(Chart)

    /// The item as terminal text.
    public var plainText: String {
        switch self {
        case .text(let text): return text
        case .table(let table): return table.plainText
        case .chart(let chart): return chart.plainText
        }
    }
}

/// A table of already formatted cells.
public struct Table: Equatable {
    public var columns: [String]
    public var rows: [[String]]

    public init(columns: [String], rows: [[String]]) {
        self.columns = columns
        self.rows = rows.map { row in
            Array((row + Array(repeating: "", count: max(0, columns.count - row.count))).prefix(columns.count))
        }
    }

    /// Columns padded to a common width, for terminals.
    public var plainText: String {
        let widths = columns.indices.map { c in
            ([columns[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces + "\n"
        }
        return line(columns) + line(widths.map { String(repeating: "-", count: $0) }) + rows.map(line).joined()
    }

    /// A GitHub-flavoured markdown table, for notebooks and reports.
    public var markdown: String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var text = "| " + columns.map(escape).joined(separator: " | ") + " |\n"
        text += "|" + columns.map { _ in "---|" }.joined() + "\n"
        for row in rows { text += "| " + row.map(escape).joined(separator: " | ") + " |\n" }
        return text
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

/// A sparkline of `values` in block characters: `▁▂▄▇█`, for a run's metrics in the REPL
/// (Plots' sparkline, with the width recipes default to).
public func sparkline(_ values: [Double], width: Int = 24) -> String {
    Plots.sparkline(values, width: width)
}

/// Shows output on a terminal: text as printed, tables as aligned columns, charts as sparklines
/// with the SVG written where the host lets a recipe write (`charts/chart-N.svg`).
public final class TerminalDisplay {
    private let host: RecipeHost
    private var charts = 0
    private let write: (String) -> Void

    public init(host: RecipeHost, write: @escaping (String) -> Void = writeToStandardOutput) {
        self.host = host
        self.write = write
    }

    public func show(_ item: OutputItem) {
        guard case .chart(let chart) = item else { return write(item.plainText) }
        write(chart.plainText)
        charts += 1
        do {
            let url = try host.writableURL("charts/chart-\(charts).svg")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try chart.svg.write(to: url, atomically: true, encoding: .utf8)
            write("  (chart written to \(url.relativeToWorkingDirectory))\n")
        } catch {
            write("  (chart not written: \(error))\n")
        }
    }
}

/// A block of per-metric lines, `name  ▇▅▃▂▁  last value`, for a run's description in the REPL.
public func metricsSummary(_ metrics: [(name: String, values: [Double])]) -> String {
    let width = metrics.map(\.name.count).max() ?? 0
    return metrics.map { m in
        let last = m.values.last.map { formatted($0, digits: 4) } ?? "-"
        return "  \(padded(m.name, to: width))  \(sparkline(m.values))  \(last)"
    }.joined(separator: "\n")
}

/// Writes to standard output through C stdio, the stream Swift's `print` writes to, so output from
/// `print` in a compiled recipe and from the builtins keeps its order.
public func writeToStandardOutput(_ text: String) {
    // Bytes with their length, not a C string: a NUL in the text is written, not an end.
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, stdout) }
    fflush(stdout)
}
