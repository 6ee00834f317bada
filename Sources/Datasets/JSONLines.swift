import Foundation

// Reading data files: JSONL (one object per line) and JSON arrays, each record tagged with its
// line so that errors point at it.

/// Reads the records of JSONL and JSON-array data files.
public enum JSONLines {
    /// The records of the file at `path`: JSON Lines, or a JSON array of objects (a file whose first
    /// non-blank character is `[`). Blank lines are skipped but counted.
    ///
    /// - Throws: ``DatasetError`` naming the file and line of an unreadable file, a malformed line
    ///   or element, or a record that is not an object.
    public static func read(_ path: String) throws -> [Record] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DatasetError.unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError.unreadableFile(path: path, reason: "not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// The records of `text` (JSONL or a JSON array); `file` names it in errors.
    public static func parse(_ text: String, file: String) throws -> [Record] {
        let bytes = Array(text.utf8)
        let first = bytes.firstIndex { !isSpace($0) }
        if let first, bytes[first] == UInt8(ascii: "[") {
            return try parseArray(bytes, file: file, start: first)
        }
        var records: [Record] = []
        var lineNumber = 0
        var lineStart = 0
        for end in 0...bytes.count where end == bytes.count || bytes[end] == UInt8(ascii: "\n") {
            lineNumber += 1
            let line = bytes[lineStart..<end]
            lineStart = end + 1
            if line.allSatisfy(isSpace) { continue }
            records.append(try record(Array(line), file: file, line: lineNumber))
        }
        return records
    }

    /// One record from the bytes of one JSON value.
    static func record(_ bytes: [UInt8], file: String, line: Int) throws -> Record {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            var excerpt = String(decoding: bytes.prefix(60), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if bytes.count > 60 { excerpt += "…" }
            throw DatasetError.malformedJSON(file: file, line: line, excerpt: excerpt)
        }
        guard case .object(let fields) = value else {
            throw DatasetError.notAnObject(file: file, line: line, found: value.kindDescription)
        }
        return Record(fields, file: file, line: line)
    }

    /// Splits a top-level JSON array into its elements (tracking strings and nesting), and parses
    /// each at the line where it starts.
    static func parseArray(_ bytes: [UInt8], file: String, start: Int) throws -> [Record] {
        var line = 1 + bytes[..<start].filter { $0 == UInt8(ascii: "\n") }.count
        var i = start + 1
        var records: [Record] = []
        var elementStart: Int? = nil
        var elementLine = line
        var depth = 0
        var inString = false
        var escaped = false
        func finishElement(at end: Int) throws {
            if let s = elementStart { records.append(try record(Array(bytes[s..<end]), file: file, line: elementLine)) }
            elementStart = nil
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\n") { line += 1 }
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
            } else if depth == 0 && (c == UInt8(ascii: ",") || c == UInt8(ascii: "]")) {
                if elementStart == nil && (c == UInt8(ascii: ",") || !records.isEmpty) {
                    throw DatasetError.malformedJSON(file: file, line: line, excerpt: "empty element in the JSON array")
                }
                try finishElement(at: i)
                if c == UInt8(ascii: "]") {
                    if let rest = bytes[(i + 1)...].firstIndex(where: { !isSpace($0) }) {
                        let restLine = line + bytes[(i + 1)..<rest].filter { $0 == UInt8(ascii: "\n") }.count
                        throw DatasetError.malformedJSON(
                            file: file, line: restLine,
                            excerpt: String(decoding: bytes[rest...].prefix(40), as: UTF8.self) + " (text after the array)")
                    }
                    return records
                }
            } else if !isSpace(c) {
                if elementStart == nil { elementStart = i; elementLine = line }
                if c == UInt8(ascii: "\"") {
                    inString = true
                } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                    depth += 1
                } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    depth -= 1
                }
            }
            i += 1
        }
        throw DatasetError.malformedJSON(
            file: file, line: elementStart == nil ? line : elementLine,
            excerpt: "the JSON array is not closed with ']'")
    }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r")
    }

    /// Writes `records` as JSON Lines (keys sorted, so the file is byte-stable).
    public static func write(_ records: [Record], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for r in records {
            out.append(try encoder.encode(JSONValue.object(r.fields)))
            out.append(UInt8(ascii: "\n"))
        }
        // To a temporary file renamed into place: a link at `path` is replaced, never written through.
        try out.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
