import Foundation
import Tokenizers

/// A JSON value, as read from a data file (numbers and booleans kept apart).
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? container.decode(Double.self) {
            self = .number(n)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { try container.encode(Int64(n)) } else { try container.encode(n) }
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }

    /// How an error message names this value: `a string "high"`, `a number 3`, `a list`, ...
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "a boolean \(b)"
        case .number(let n): return "a number \(n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n))"
        case .string(let s): return "a string \(String(s.prefix(40)).debugDescription)"
        case .array(let a): return "a list of \(a.count)"
        case .object: return "an object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

/// One JSON object of a dataset and where it came from, with typed access that reports the file,
/// line and key of anything missing or mistyped.
///
/// ```swift
/// let record = Record(["prompt": "2+2=", "chosen": "4", "rejected": "5"])
/// try record.string("chosen")     // "4"
/// try record.string("margin")     // throws: <memory>:1: key 'margin' missing (found keys: chosen, prompt, rejected)
/// ```
public struct Record: Sendable, Hashable {
    /// The object's keys and values.
    public var fields: [String: JSONValue]
    /// The file (or in-memory source) the record came from, for error messages.
    public var file: String
    /// Its 1-based line in `file` (the line where a JSON array's element starts).
    public var line: Int

    public init(_ fields: [String: JSONValue], file: String = "<memory>", line: Int = 1) {
        self.fields = fields
        self.file = file
        self.line = line
    }

    /// The value under `key`; throws ``DatasetError/missingKey(file:line:key:found:)`` when it is
    /// absent, ``DatasetError/wrongType(file:line:key:expected:found:)`` when it is null.
    public func value(_ key: String) throws -> JSONValue {
        guard let value = fields[key] else {
            throw DatasetError.missingKey(file: file, line: line, key: key, found: fields.keys.sorted())
        }
        guard value != .null else { throw wrongType(key, expected: "a value", found: value) }
        return value
    }

    /// The value under `key`, or nil when it is absent or null (for optional keys such as `margin`).
    public func optionalValue(_ key: String) -> JSONValue? {
        guard let value = fields[key], value != .null else { return nil }
        return value
    }

    /// A string value.
    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard case .string(let s) = v else { throw wrongType(key, expected: "a string", found: v) }
        return s
    }

    /// A number value.
    public func number(_ key: String) throws -> Double {
        let v = try value(key)
        guard case .number(let n) = v else { throw wrongType(key, expected: "a number", found: v) }
        return n
    }

    /// A conversation: a list of `{"role": ..., "content": ...}` objects.
    public func messages(_ key: String) throws -> [ChatMessage] {
        let v = try value(key)
        return try messages(v, key: key)
    }

    /// A string (one message of `role`) or a list of messages, as OpenRLHF accepts either.
    public func conversation(_ key: String, role: String) throws -> [ChatMessage] {
        let v = try value(key)
        if case .string(let s) = v { return [ChatMessage(role: role, content: s)] }
        guard case .array = v else { throw wrongType(key, expected: "a string or a list of messages", found: v) }
        return try messages(v, key: key)
    }

    func messages(_ v: JSONValue, key: String) throws -> [ChatMessage] {
        guard case .array(let items) = v else { throw wrongType(key, expected: "a list of messages", found: v) }
        return try items.enumerated().map { index, item in
            guard case .object(let o) = item else {
                throw wrongType("\(key)[\(index)]", expected: "an object with 'role' and 'content'", found: item)
            }
            guard case .string(let role)? = o["role"] else {
                throw invalid("\(key)[\(index)]", "message needs a string 'role' (found keys: \(o.keys.sorted().joined(separator: ", ")))")
            }
            guard case .string(let content)? = o["content"] else {
                throw invalid("\(key)[\(index)]", "message needs a string 'content' (found keys: \(o.keys.sorted().joined(separator: ", ")))")
            }
            return ChatMessage(role: role, content: content)
        }
    }

    /// A ``DatasetError/wrongType(file:line:key:expected:found:)`` for this record.
    public func wrongType(_ key: String, expected: String, found: JSONValue) -> DatasetError {
        .wrongType(file: file, line: line, key: key, expected: expected, found: found.kindDescription)
    }

    /// A ``DatasetError/invalidValue(file:line:key:reason:)`` for this record.
    public func invalid(_ key: String, _ reason: String) -> DatasetError {
        .invalidValue(file: file, line: line, key: key, reason: reason)
    }
}
