// Core builtins: printing, conversions and sequences.

extension BuiltinArea {
    static let core = BuiltinArea(
        "Core", doc: "Printing, conversions between numbers and text, and sequences.",
        builtins: [
            Builtin(
                "print", doc: "Writes the items, separated by spaces, and a newline.",
                parameters: [
                    .variadic("items", .any, doc: "The values to print."),
                    .labeled("separator", .string, default: " ", doc: "Written between items."),
                    .labeled("terminator", .string, default: "\n", doc: "Written after the last item."),
                ]
            ) { args, host in
                let items = try args.array("items").map(\.description)
                host.write(items.joined(separator: try args.string("separator")) + (try args.string("terminator")))
                return .void
            },
            Builtin(
                "Int", doc: "Converts a number (truncating) or parses text; `Int(\"x\")` is nil.",
                parameters: [.positional("value", .any, doc: "A Double, Int or String.")], returns: .optional(.int)
            ) { args, _ in
                switch args["value"] {
                case .int(let v): return .int(v)
                case .double(let v):
                    guard v.isFinite, v > -9.223372036854775808e18, v < 9.223372036854775808e18 else {
                        throw RecipeError(.runtime, "\(v) cannot be converted to Int")
                    }
                    return .int(Int(v))
                case .string(let s): return Int(s).map(Value.int) ?? .none
                case .bool(let b): return .int(b ? 1 : 0)
                case let other: throw RecipeError.typeMismatch(expected: "a number or a String", found: other)
                }
            },
            Builtin(
                "Double", doc: "Converts an Int or parses text; `Double(\"x\")` is nil.",
                parameters: [.positional("value", .any, doc: "An Int, Double or String.")], returns: .optional(.double)
            ) { args, _ in
                switch args["value"] {
                case .int(let v): return .double(Double(v))
                case .double(let v): return .double(v)
                case .string(let s): return Double(s).map(Value.double) ?? .none
                case let other: throw RecipeError.typeMismatch(expected: "a number or a String", found: other)
                }
            },
            Builtin(
                "String", doc: "The text `print` would write for a value.",
                parameters: [.positional("value", .any, doc: "Any value.")], returns: .string
            ) { args, _ in
                .string(args["value"].description)
            },
            Builtin(
                "String", doc: "Text repeated `count` times.",
                parameters: [
                    .labeled("repeating", .string, doc: "The text to repeat."),
                    .labeled("count", .int, doc: "How many times."),
                ], returns: .string
            ) { args, _ in
                let text = try args.string("repeating"), count = try args.int("count")
                guard count >= 0 else { throw RecipeError(.runtime, "`count` must not be negative, found \(count)") }
                guard text.count.multipliedReportingOverflow(by: count).partialValue <= Limits.collectionCount,
                    !text.count.multipliedReportingOverflow(by: count).overflow
                else { throw RecipeError.tooLarge("string") }
                try Limits.charge(bytes: text.utf8.count * count, for: "String(repeating:count:)")
                return .string(String(repeating: text, count: count))
            },
            Builtin(
                "Array", doc: "The elements of a range, an array, or the characters of a string.",
                parameters: [.positional("elements", .any, doc: "A range, an array or a string.")], returns: .array(.any)
            ) { args, _ in
                if case .string(let s) = args["elements"] { return .array(s.map { .string(String($0)) }) }
                return .array(try args["elements"].asArray())
            },
            Builtin(
                "Array", doc: "An array holding `count` copies of a value.",
                parameters: [
                    .labeled("repeating", .any, doc: "The element."),
                    .labeled("count", .int, doc: "How many copies."),
                ], returns: .array(.any)
            ) { args, _ in
                let count = try args.int("count")
                guard count >= 0 else { throw RecipeError(.runtime, "`count` must not be negative, found \(count)") }
                guard count <= Limits.collectionCount else { throw RecipeError.tooLarge("array") }
                try Limits.charge(elements: count, for: "Array(repeating:count:)")
                return .array(Array(repeating: args["repeating"], count: count))
            },
            Builtin(
                "stride", doc: "The numbers from `from` up to, not including, `to`, in steps of `by`.",
                parameters: [
                    .labeled("from", .any, doc: "The first number."),
                    .labeled("to", .any, doc: "The end, excluded."),
                    .labeled("by", .any, doc: "The step; negative counts down."),
                ], returns: .array(.any)
            ) { args, _ in
                try strideValues(args["from"], args["to"], args["by"], inclusive: false)
            },
            Builtin(
                "stride", doc: "The numbers from `from` up to and including `through`, in steps of `by`.",
                parameters: [
                    .labeled("from", .any, doc: "The first number."),
                    .labeled("through", .any, doc: "The end, included when reached."),
                    .labeled("by", .any, doc: "The step; negative counts down."),
                ], returns: .array(.any)
            ) { args, _ in
                try strideValues(args["from"], args["through"], args["by"], inclusive: true)
            },
            Builtin(
                "zip", doc: "Pairs of elements at the same positions, as many as the shorter sequence has.",
                parameters: [
                    .positional("first", .any, doc: "An array or range."),
                    .positional("second", .any, doc: "An array or range."),
                ], returns: .array(.tuple([.any, .any]))
            ) { args, _ in
                let a = try args["first"].asArray(), b = try args["second"].asArray()
                return .array(zip(a, b).map { .tuple([$0, $1]) })
            },
        ])
}

/// `stride(from:to:by:)` and `stride(from:through:by:)` over Ints or Doubles, as an array.
private func strideValues(_ from: Value, _ end: Value, _ step: Value, inclusive: Bool) throws -> Value {
    switch (from, end, step) {
    case (.int(let a), .int(let b), .int(let s)):
        guard s != 0 else { throw RecipeError(.runtime, "`stride` needs a non-zero step") }
        let count = (Double(b) - Double(a)) / Double(s)
        guard count <= Double(Limits.collectionCount) else { throw RecipeError.tooLarge("stride") }
        return .array(inclusive ? stride(from: a, through: b, by: s).map(Value.int) : stride(from: a, to: b, by: s).map(Value.int))
    default:
        let a = try from.asDouble(), b = try end.asDouble(), s = try step.asDouble()
        guard s != 0, s.isFinite, a.isFinite, b.isFinite else {
            throw RecipeError(.runtime, "`stride` needs finite bounds and a non-zero step")
        }
        guard (b - a) / s <= Double(Limits.collectionCount) else { throw RecipeError.tooLarge("stride") }
        return .array(inclusive ? stride(from: a, through: b, by: s).map(Value.double) : stride(from: a, to: b, by: s).map(Value.double))
    }
}
