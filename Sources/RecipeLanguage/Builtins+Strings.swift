import Foundation
import Plots

/// `value` with `digits` significant digits: `formatted(0.123456, digits: 3)` is `"0.123"`.
///
/// The text is the same on every platform and run (Plots' `Format.g`), so it is safe in notebooks
/// and reports.
public func formatted(_ value: Double, digits: Int = 4) -> String {
    Format.g(value, max(1, min(17, digits)))
}

/// `text` padded with spaces on the right to `width` characters (longer text is kept whole).
public func padded(_ text: String, to width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

extension BuiltinArea {
    static let strings = BuiltinArea(
        "Strings", doc: "Text: formatting numbers, case, prefixes, splitting and joining.",
        types: [characterSets],
        builtins: [
            Builtin(
                "formatted", doc: "A number as text with `digits` significant digits.",
                parameters: [
                    .positional("value", .double, doc: "The number."),
                    .labeled("digits", .int, default: 4, doc: "Significant digits, 1 to 17."),
                ], returns: .string
            ) { args, _ in
                .string(formatted(try args.double("value"), digits: try args.int("digits")))
            },
            Builtin(
                "padded", doc: "Text padded with spaces on the right to `to` characters.",
                parameters: [.positional("text", .string, doc: "The text."), .labeled("to", .int, doc: "The width.")],
                returns: .string
            ) { args, _ in
                let width = try args.int("to")
                guard width <= Limits.collectionCount else { throw RecipeError.tooLarge("string") }
                return .string(padded(try args.string("text"), to: width))
            },
            property("count", "The number of characters.", .int) { .int($0.count) },
            property("isEmpty", "Whether the text has no characters.", .bool) { .bool($0.isEmpty) },
            property("first", "The first character, or nil.", .optional(.string)) { $0.first.map { .string(String($0)) } ?? .none },
            property("last", "The last character, or nil.", .optional(.string)) { $0.last.map { .string(String($0)) } ?? .none },
            method("uppercased", "The text in upper case.", [], .string) { s, _ in .string(s.uppercased()) },
            method("lowercased", "The text in lower case.", [], .string) { s, _ in .string(s.lowercased()) },
            method("hasPrefix", "Whether the text starts with `prefix`.", [.positional("prefix", .string)], .bool) { s, a in
                .bool(s.hasPrefix(try a.string("prefix")))
            },
            method("hasSuffix", "Whether the text ends with `suffix`.", [.positional("suffix", .string)], .bool) { s, a in
                .bool(s.hasSuffix(try a.string("suffix")))
            },
            method("contains", "Whether `other` occurs in the text.", [.positional("other", .string)], .bool) { s, a in
                let other = try a.string("other")
                return .bool(other.isEmpty || s.range(of: other) != nil)
            },
            method(
                "split", "The pieces between occurrences of `separator` (a single character), empty pieces dropped.",
                [.labeled("separator", .string)], .array(.string)
            ) { s, a in
                let separator = try a.string("separator")
                guard separator.count == 1, let c = separator.first else {
                    throw RecipeError(.runtime, "`split(separator:)` takes one character; use `components(separatedBy:)` for longer text")
                }
                return .array(s.split(separator: c).map { .string(String($0)) })
            },
            method(
                "components", "The pieces between occurrences of `separatedBy`.", [.labeled("separatedBy", .string)],
                .array(.string)
            ) { s, a in
                let separator = try a.string("separatedBy")
                guard !separator.isEmpty else { throw RecipeError(.runtime, "the separator must not be empty") }
                return .array(s.components(separatedBy: separator).map(Value.string))
            },
            method(
                "replacingOccurrences", "The text with every `of` replaced by `with`.",
                [.labeled("of", .string), .labeled("with", .string)], .string
            ) { s, a in
                let target = try a.string("of"), replacement = try a.string("with")
                guard !target.isEmpty else { return .string(s) }
                let result = s.replacingOccurrences(of: target, with: replacement)
                guard result.count <= Limits.collectionCount else { throw RecipeError.tooLarge("string") }
                return .string(result)
            },
            method(
                "trimmingCharacters", "The text without leading and trailing white space (`in: .whitespaces`).",
                [.labeled("in", .named("CharacterSet"))], .string
            ) { s, a in
                switch try a.enumCase("in", of: "CharacterSet") {
                case "whitespacesAndNewlines": return .string(s.trimmingCharacters(in: .whitespacesAndNewlines))
                default: return .string(s.trimmingCharacters(in: .whitespaces))
                }
            },
            method("prefix", "The first `maxLength` characters.", [.positional("maxLength", .int)], .string) { s, a in
                .string(String(s.prefix(try nonNegative(a.int("maxLength")))))
            },
            method("suffix", "The last `maxLength` characters.", [.positional("maxLength", .int)], .string) { s, a in
                .string(String(s.suffix(try nonNegative(a.int("maxLength")))))
            },
            method("dropFirst", "The text without its first `k` characters.", [.positional("k", .int, default: 1)], .string) { s, a in
                .string(String(s.dropFirst(try nonNegative(a.int("k")))))
            },
            method("dropLast", "The text without its last `k` characters.", [.positional("k", .int, default: 1)], .string) { s, a in
                .string(String(s.dropLast(try nonNegative(a.int("k")))))
            },
        ])

    /// Character sets for `trimmingCharacters(in:)`.
    static let characterSets = RecipeType.enumeration(
        "CharacterSet", doc: "Which characters `trimmingCharacters(in:)` removes.",
        cases: [("whitespaces", "Spaces and tabs."), ("whitespacesAndNewlines", "Spaces, tabs and line breaks.")])

    private static func property(
        _ name: String, _ doc: String, _ returns: ValueType,
        _ body: @escaping (String) throws -> Value
    ) -> Builtin {
        Builtin(name, kind: .property("String"), doc: doc, returns: returns) { args, _ in
            try body(try args.receiverValue().asString())
        }
    }

    private static func method(
        _ name: String, _ doc: String, _ parameters: [Builtin.Parameter], _ returns: ValueType,
        _ body: @escaping (String, Arguments) throws -> Value
    ) -> Builtin {
        Builtin(name, kind: .method("String"), doc: doc, parameters: parameters, returns: returns) { args, _ in
            try body(try args.receiverValue().asString(), args)
        }
    }
}

func nonNegative(_ n: Int) throws -> Int {
    guard n >= 0 else { throw RecipeError(.runtime, "the count must not be negative, found \(n)") }
    return n
}
