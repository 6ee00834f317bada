import Foundation

// Small markdown helpers: tables with escaped cells, fenced blocks that cannot be closed early;
// and CSV fields.

enum Markdown {
    /// A table with a header row; cells have `|` escaped and newlines flattened.
    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var out = "| " + header.map(cell).joined(separator: " | ") + " |\n"
        out += "|" + header.indices.map { rightAligned.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|\n"
        for row in rows { out += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
        return out
    }

    /// `text` in a fenced code block whose fence is longer than any backtick run inside it.
    static func fenced(_ text: String, language: String = "") -> String {
        var longest = 0, run = 0
        for ch in text {
            run = ch == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        let body = text.hasSuffix("\n") ? text : text + "\n"
        return "\(fence)\(language)\n\(body)\(fence)\n"
    }

    /// Inline code that survives backticks in `text`.
    static func code(_ text: String) -> String {
        let fence = text.contains("`") ? "``" : "`"
        let pad = text.hasPrefix("`") || text.hasSuffix("`") ? " " : ""
        return "\(fence)\(pad)\(text)\(pad)\(fence)"
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a newline.
func csvField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension String {
    /// A file-name-safe form: letters, digits, `-`, `_` and `.` kept, anything else `_`.
    var fileNameSafe: String {
        String(map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") ? $0 : "_" })
    }
}
