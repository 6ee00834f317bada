import Foundation

/// What is wrong with a data file or a dataset option, with the file, line and key to fix.
///
/// ```text
/// data/prefs.jsonl:17: key 'chosen' missing (found keys: prompt, rejected)
/// ```
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A line (JSONL) or an array element (JSON) that does not parse; `excerpt` is its start.
    case malformedJSON(file: String, line: Int, excerpt: String)
    /// A record that is not a JSON object (`found` names what it is).
    case notAnObject(file: String, line: Int, found: String)
    /// A required key is absent (or null); `found` lists the record's keys.
    case missingKey(file: String, line: Int, key: String, found: [String])
    /// A key holds a value of the wrong type.
    case wrongType(file: String, line: Int, key: String, expected: String, found: String)
    /// A key holds a value of the right type that cannot be used.
    case invalidValue(file: String, line: Int, key: String, reason: String)
    /// Options that cannot work together, or a tokenizer that lacks what the data needs.
    case invalidOption(String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "\(path): cannot read data file: \(reason)"
        case .malformedJSON(let file, let line, let excerpt):
            return "\(file):\(line): malformed JSON: \(excerpt) (a JSONL file holds one JSON object per line)"
        case .notAnObject(let file, let line, let found):
            return "\(file):\(line): expected a JSON object, found \(found)"
        case .missingKey(let file, let line, let key, let found):
            return "\(file):\(line): key '\(key)' missing (found keys: \(found.isEmpty ? "none" : found.joined(separator: ", ")))"
        case .wrongType(let file, let line, let key, let expected, let found):
            return "\(file):\(line): key '\(key)' should be \(expected), found \(found)"
        case .invalidValue(let file, let line, let key, let reason):
            return "\(file):\(line): key '\(key)': \(reason)"
        case .invalidOption(let message):
            return message
        }
    }
}
