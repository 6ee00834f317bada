// Output builtins: tables and charts, which a notebook writes as markdown tables and SVG files.

/// Shows a table: one row per inner array, cells printed as `print` prints them.
///
/// In a notebook it becomes a markdown table; on a terminal, aligned columns.
public func table(columns: [String], rows: [[Any]]) {
    CurrentHost.show(.table(Table(columns: columns, rows: rows.map { $0.map { String(describing: $0) } })))
}

/// Shows a line chart of one or more series against their index.
///
/// In a notebook it becomes an SVG file beside the result; on a terminal, sparklines.
public func chart(_ series: [Double]..., labels: [String] = [], title: String = "", xLabel: String = "step") {
    CurrentHost.show(lineChart(series, labels: labels, title: title, xLabel: xLabel))
}

extension BuiltinArea {
    static let output = BuiltinArea(
        "Output", doc: "Tables and charts, written into notebooks as markdown tables and SVG files.",
        builtins: [
            Builtin(
                "table", doc: "Shows a table with the given column names, one row per inner array.",
                parameters: [
                    .labeled("columns", .array(.string), doc: "The column names."),
                    .labeled("rows", .array(.array(.any)), doc: "The rows; cells print as `print` prints them."),
                ]
            ) { args, host in
                let rows = try args.array("rows").map { try $0.asArray().map(\.description) }
                host.show(.table(Table(columns: try args.strings("columns"), rows: rows)))
                return .void
            },
            Builtin(
                "chart", doc: "Shows a line chart of one or more series of numbers against their index.",
                parameters: [
                    .variadic("series", .array(.double), doc: "One array of numbers per line."),
                    .labeled("labels", .array(.string), default: [], doc: "A label per series."),
                    .labeled("title", .string, default: "", doc: "The chart's title."),
                    .labeled("xLabel", .string, default: "step", doc: "The label of the horizontal axis."),
                ]
            ) { args, host in
                let series = try args.array("series").map { try $0.asDoubles() }
                guard !series.isEmpty else { throw RecipeError(.missingArgument, "`chart` needs at least one series") }
                host.show(
                    lineChart(
                        series, labels: try args.strings("labels"), title: try args.string("title"),
                        xLabel: try args.string("xLabel")))
                return .void
            },
            Builtin(
                "sparkline", doc: "A one-line picture of a series in block characters: ▁▂▄▇█.",
                parameters: [
                    .positional("values", .array(.double), doc: "The numbers."),
                    .labeled("width", .int, default: 24, doc: "The most characters to use."),
                ], returns: .string
            ) { args, _ in
                .string(sparkline(try args.doubles("values"), width: min(1000, try args.int("width"))))
            },
        ])
}

/// The chart `chart` shows, with the series as an array (a variadic cannot be forwarded in Swift).
private func lineChart(_ series: [[Double]], labels: [String], title: String, xLabel: String) -> OutputItem {
    let named = series.enumerated().map { i, values in
        Chart.Series(label: i < labels.count ? labels[i] : (series.count == 1 ? "value" : "series \(i + 1)"), values: values)
    }
    return .chart(Chart(title: title, series: named, xLabel: xLabel))
}
