// `rlhf runs`: the run files under a folder, one row each, with the configuration keys that vary
// across them and their final metrics.

import Foundation
import Plots
import Recording

/// The run files under a folder, read for listing.
public struct RunList {
    /// One listed run.
    public struct Entry {
        /// The run file's path relative to the listed folder.
        public var path: String
        public var summary: RunSummary
        public var configuration: [String: ConfigValue]

        /// The recipe file the run recorded (`recipe_file`), or – .
        public var recipeFile: String { summary.run.attributes["recipe_file"]?.stringValue ?? "–" }
        public var seed: String { summary.run.attributes["seed"]?.description ?? "–" }
        public var status: String { summary.run.status }
    }

    public var entries: [Entry]
    /// Files ending in `.h5` that are not readable run files, with the reason.
    public var skipped: [(path: String, reason: String)]

    /// Reads every `*.h5` under `directory` (recursively, in path order), except the copies
    /// inside `checkpoints` folders.
    public init(under directory: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunFileError.fileNotFound(path: directory.path)
        }
        let base = directory.standardizedFileURL.path
        var paths: [String] = []
        if let walker = FileManager.default.enumerator(atPath: base) {
            for case let relative as String in walker where relative.hasSuffix(".h5") {
                // A checkpoint keeps a copy of its run file; the run is listed once, from its own file.
                if !relative.split(separator: "/").contains("checkpoints") { paths.append(relative) }
            }
        }
        entries = []
        skipped = []
        for relative in paths.sorted() {
            do {
                let summary = try RunSummary(try RunReader(path: base + "/" + relative))
                entries.append(Entry(path: relative, summary: summary, configuration: summary.configuration))
            } catch {
                skipped.append((relative, "\(error)"))
            }
        }
    }

    /// The configuration keys whose values differ across the entries (the recipe text, the raw
    /// override list and the seed aside: each has its own column or is expanded into keys).
    public var varyingKeys: [String] {
        differingKeys(entries.map(\.configuration)).filter { !["recipe", "overrides", "seed", "recipe_file", "threads"].contains($0) }
    }

    /// The unqualified final-value names (`loss`, `eval_pass1`) of any entry, in first-seen order.
    public var finalNames: [String] {
        var names: [String] = []
        for entry in entries {
            for (key, _) in entry.summary.finals where !key.contains("/") && !names.contains(key) { names.append(key) }
        }
        return names
    }

    /// Sorts by `key` — `path`, `recipe`, `seed`, `status`, a configuration key or a final name —
    /// ascending (`key:desc` descending); numbers by value, missing values last, ties by path.
    public mutating func sort(by key: String) {
        let descending = key.hasSuffix(":desc")
        let name = descending ? String(key.dropLast(5)) : key
        func sortValue(_ e: Entry) -> ConfigValue? {
            switch name {
            case "path": return .string(e.path)
            case "recipe": return .string(e.recipeFile)
            case "status": return .string(e.status)
            case "seed": return e.summary.run.attributes["seed"]
            default:
                if let v = e.configuration[name] { return v }
                return e.summary.finals.first { $0.key == name }.map { .double($0.value) }
            }
        }
        func less(_ a: ConfigValue, _ b: ConfigValue) -> Bool {
            if let x = a.doubleValue, let y = b.doubleValue { return x < y }
            return a.description < b.description
        }
        entries.sort { a, b in
            switch (sortValue(a), sortValue(b)) {
            case (let x?, let y?):
                if less(x, y) { return !descending }
                if less(y, x) { return descending }
                return a.path < b.path
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.path < b.path
            }
        }
    }

    /// The header and one row of cells per entry.
    public var rows: (header: [String], cells: [[String]]) {
        let keys = varyingKeys, finals = finalNames
        let header = ["run", "recipe", "seed", "status"] + keys + finals
        let cells = entries.map { e -> [String] in
            let values = Dictionary(e.summary.finals.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            return [e.path, e.recipeFile, e.seed, e.status] + keys.map { e.configuration[$0].map(Compare.shown) ?? "–" }
                + finals.map { values[$0].map { Format.g($0, 6) } ?? "–" }
        }
        return (header, cells)
    }

    /// The listing as a markdown table.
    public var table: String {
        let (header, cells) = rows
        return Markdown.table(header, cells, rightAligned: Set(4..<header.count))
    }

    /// The listing as CSV, numbers in full precision.
    public var csv: String {
        let keys = varyingKeys, finals = finalNames
        var out = (["run", "recipe", "seed", "status"] + keys + finals).map(csvField).joined(separator: ",") + "\n"
        for e in entries {
            let values = Dictionary(e.summary.finals.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            let cells =
                [e.path, e.recipeFile, e.seed, e.status] + keys.map { e.configuration[$0]?.description ?? "" }
                + finals.map { values[$0].map { Format.g($0, 17) } ?? "" }
            out += cells.map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }
}
