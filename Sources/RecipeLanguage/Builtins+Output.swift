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
public func chart(
    _ series: [Double]..., labels: [String] = [], title: String = "", xLabel: String = "step", yLabel: String = "", points: [Bool] = []
) {
    CurrentHost.show(lineChart(series, steps: [], labels: labels, title: title, xLabel: xLabel, yLabel: yLabel, points: points))
}

/// Shows a line chart of series built in a loop (one per run, say), each against its own steps
/// when `steps` gives one array per series, or against shared steps when it gives one array.
public func chart(
    _ series: [[Double]], steps: [[Double]] = [], labels: [String] = [], title: String = "", xLabel: String = "step",
    yLabel: String = "", points: [Bool] = []
) {
    CurrentHost.show(lineChart(series, steps: steps, labels: labels, title: title, xLabel: xLabel, yLabel: yLabel, points: points))
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
                "chart", doc: "Shows a line chart of one or more series of numbers against their steps (by default their index).",
                parameters: [
                    .variadic(
                        "series", .any,
                        doc: "One array of numbers per line, or an array of such arrays (one per run, built in a loop)."),
                    .labeled(
                        "steps", .array(.any), default: [],
                        doc: "The steps of the values: one array shared by every series, or one array per series."),
                    .labeled(
                        "labels", .array(.string), default: [],
                        doc: "A label per series; series with the same label share a colour and a legend entry (a method's seeds)."),
                    .labeled("title", .string, default: "", doc: "The chart's title."),
                    .labeled("xLabel", .string, default: "step", doc: "The label of the horizontal axis."),
                    .labeled("yLabel", .string, default: "", doc: "The label of the vertical axis (none by default)."),
                    .labeled(
                        "points", .array(.bool), default: [],
                        doc: "Per series, true draws one point per value instead of a line (scatter); missing entries are lines."),
                ]
            ) { args, host in
                let series = try numberArrays(try args.array("series"))
                guard !series.isEmpty else { throw RecipeError(.missingArgument, "`chart` needs at least one series") }
                let steps = try args.array("steps")
                let stepArrays = steps.isEmpty ? [] : try numberArrays([.array(steps)])
                if stepArrays.count > 1, stepArrays.count != series.count {
                    throw RecipeError(
                        .type, "`chart` got \(series.count) series but \(stepArrays.count) arrays of steps; give one per series, or one for all")
                }
                for (i, values) in series.enumerated() {
                    let count = stepArrays.count == 1 ? stepArrays[0].count : (i < stepArrays.count ? stepArrays[i].count : values.count)
                    if count != values.count {
                        throw RecipeError(.type, "`chart` series \(i + 1) has \(values.count) values but \(count) steps")
                    }
                }
                host.show(
                    lineChart(
                        series, steps: stepArrays, labels: try args.strings("labels"), title: try args.string("title"),
                        xLabel: try args.string("xLabel"), yLabel: try args.string("yLabel"),
                        points: try args.array("points").map { try $0.asBool() }))
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
/// `steps` is empty (each series against its index), one array shared by every series, or one
/// array per series.
private func lineChart(
    _ series: [[Double]], steps: [[Double]], labels: [String], title: String, xLabel: String, yLabel: String, points: [Bool]
) -> OutputItem {
    let named = series.enumerated().map { i, values in
        Chart.Series(
            label: i < labels.count ? labels[i] : (series.count == 1 ? "value" : "series \(i + 1)"), values: values,
            steps: steps.count == 1 ? steps[0] : (i < steps.count ? steps[i] : nil), points: i < points.count && points[i])
    }
    return .chart(Chart(title: title, series: named, xLabel: xLabel, yLabel: yLabel))
}

/// Arguments that are arrays of numbers, or arrays of such arrays (flattened one level), in order.
private func numberArrays(_ values: [Value]) throws -> [[Double]] {
    var arrays: [[Double]] = []
    for value in values {
        let elements = try value.asArray()
        if let first = elements.first, case .array = first {
            arrays += try elements.map { try $0.asDoubles() }
        } else {
            arrays.append(try elements.map { try $0.asDouble() })
        }
    }
    return arrays
}
