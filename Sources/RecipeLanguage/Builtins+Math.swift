import Foundation

// Math builtins: the Swift standard library's `min`, `max`, `abs` and Foundation's `sqrt`, `exp`,
// `log`, `pow`, `floor`, `ceil`, `round`, which a compiled recipe gets from `import Recipes`.

extension BuiltinArea {
    static let math = BuiltinArea(
        "Math", doc: "Numbers: the smallest and largest of several values, absolute value, roots, powers, logarithms.",
        builtins: [
            Builtin(
                "min", doc: "The smallest of two or more numbers or strings.",
                parameters: [
                    .positional("x", .any, doc: "A value."), .positional("y", .any, doc: "Another value."),
                    .variadic("rest", .any, doc: "More values."),
                ], returns: .any
            ) { args, _ in
                try extreme([args["x"], args["y"]] + args.array("rest"), smallest: true)
            },
            Builtin(
                "max", doc: "The largest of two or more numbers or strings.",
                parameters: [
                    .positional("x", .any, doc: "A value."), .positional("y", .any, doc: "Another value."),
                    .variadic("rest", .any, doc: "More values."),
                ], returns: .any
            ) { args, _ in
                try extreme([args["x"], args["y"]] + args.array("rest"), smallest: false)
            },
            Builtin(
                "abs", doc: "The absolute value of an Int or a Double.",
                parameters: [.positional("x", .any, doc: "A number.")], returns: .any
            ) { args, _ in
                switch args["x"] {
                case .int(let v):
                    guard v != .min else { throw RecipeError(.runtime, "abs(Int.min) overflows") }
                    return .int(abs(v))
                case .double(let v): return .double(abs(v))
                case let other: throw RecipeError.typeMismatch(expected: "a number", found: other)
                }
            },
            unary("sqrt", "The square root.", Foundation.sqrt),
            unary("exp", "e raised to the power `x`.", Foundation.exp),
            unary("log", "The natural logarithm.", Foundation.log),
            unary("floor", "The largest whole number not above `x`.", Foundation.floor),
            unary("ceil", "The smallest whole number not below `x`.", Foundation.ceil),
            unary("round", "`x` rounded to the nearest whole number, halves away from zero.", Foundation.round),
            Builtin(
                "pow", doc: "`x` raised to the power `y`.",
                parameters: [.positional("x", .double, doc: "The base."), .positional("y", .double, doc: "The exponent.")],
                returns: .double
            ) { args, _ in
                .double(Foundation.pow(try args.double("x"), try args.double("y")))
            },
            constant("pi", of: "Double", "π.", .double(Double.pi)),
            constant("infinity", of: "Double", "Positive infinity.", .double(Double.infinity)),
            constant("nan", of: "Double", "Not a number.", .double(Double.nan)),
            constant("max", of: "Int", "The largest Int.", .int(Int.max)),
            constant("min", of: "Int", "The smallest Int.", .int(Int.min)),
            Builtin(
                "isNaN", kind: .property("Double"), doc: "Whether the value is not a number.", returns: .bool
            ) { args, _ in
                .bool(try args.receiverValue().asDouble().isNaN)
            },
            Builtin(
                "isFinite", kind: .property("Double"), doc: "Whether the value is neither infinite nor NaN.", returns: .bool
            ) { args, _ in
                .bool(try args.receiverValue().asDouble().isFinite)
            },
            Builtin(
                "rounded", kind: .method("Double"), doc: "The value rounded to the nearest whole number.", returns: .double
            ) { args, _ in
                .double(try args.receiverValue().asDouble().rounded())
            },
            Builtin(
                "truncatingRemainder", kind: .method("Double"), doc: "The remainder of dividing by `dividingBy`, as `%` for Int.",
                parameters: [.labeled("dividingBy", .double, doc: "The divisor.")], returns: .double
            ) { args, _ in
                .double(try args.receiverValue().asDouble().truncatingRemainder(dividingBy: try args.double("dividingBy")))
            },
        ])

    private static func unary(_ name: String, _ doc: String, _ f: @escaping (Double) -> Double) -> Builtin {
        Builtin(name, doc: doc, parameters: [.positional("x", .double, doc: "A Double.")], returns: .double) { args, _ in
            .double(f(try args.double("x")))
        }
    }

    private static func constant(_ name: String, of type: String, _ doc: String, _ value: Value) -> Builtin {
        Builtin(name, kind: .staticProperty(type), doc: doc, returns: value.valueType) { _, _ in value }
    }
}

/// The smallest or largest value; Ints among Doubles compare as Doubles.
private func extreme(_ values: [Value], smallest: Bool) throws -> Value {
    let hasDouble = values.contains { if case .double = $0 { return true } else { return false } }
    var best: Value?
    for v in values {
        let candidate: Value = hasDouble ? .double(try v.asDouble()) : v
        guard let current = best else { best = candidate; continue }
        let op: BinaryOperator = smallest ? .less : .greater
        if case .bool(true) = try Operators.binary(op, candidate, current, promote: true).get() { best = candidate }
    }
    return best ?? .none
}
