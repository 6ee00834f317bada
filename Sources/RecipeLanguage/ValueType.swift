/// The type of a builtin parameter, a return value or an annotated `let`, written as Swift writes it.
public indirect enum ValueType: Equatable, CustomStringConvertible {
    /// Anything (Swift's `Any`).
    case any
    case void
    case int
    case double
    case string
    case bool
    case array(ValueType)
    case dictionary(key: ValueType, value: ValueType)
    case tuple([ValueType])
    case optional(ValueType)
    /// `Range<Int>`, the type of `0..<n`.
    case range
    case function(parameters: [ValueType], returns: ValueType)
    /// A host type (`Model`, `Dataset`) or an enum-like type (`Tokenizer`) from the registry.
    case named(String)

    public var description: String {
        switch self {
        case .any: return "Any"
        case .void: return "Void"
        case .int: return "Int"
        case .double: return "Double"
        case .string: return "String"
        case .bool: return "Bool"
        case .array(let element): return "[\(element)]"
        case .dictionary(let key, let value): return "[\(key): \(value)]"
        case .tuple(let elements): return "(" + elements.map(\.description).joined(separator: ", ") + ")"
        case .optional(let wrapped):
            if case .function = wrapped { return "(\(wrapped))?" }
            return "\(wrapped)?"
        case .range: return "Range<Int>"
        case .function(let parameters, let returns):
            return "(" + parameters.map(\.description).joined(separator: ", ") + ") -> \(returns)"
        case .named(let name): return name
        }
    }

    /// Whether a value of this type is a function (so an unlabeled trailing closure can bind to it).
    var isFunction: Bool {
        switch self {
        case .function: return true
        case .optional(let wrapped): return wrapped.isFunction
        default: return false
        }
    }

    /// The registry type whose static members an implicit member expression (`.bytes`) refers to.
    var implicitMemberType: String? {
        switch self {
        case .named(let name): return name
        case .int: return "Int"
        case .double: return "Double"
        case .string: return "String"
        case .optional(let wrapped): return wrapped.implicitMemberType
        default: return nil
        }
    }

    /// Converts `value` to this type, or returns nil when it does not conform.
    ///
    /// An `Int` becomes a `Double` only when `integerLiteral` says the value was written as an
    /// integer literal, as Swift types `learningRate: 1` but rejects an `Int` variable.
    func coerce(_ value: Value, integerLiteral: Bool = false) -> Value? {
        switch (self, value) {
        case (.any, _): return value
        case (.void, .void): return value
        case (.int, .int), (.double, .double), (.string, .string), (.bool, .bool), (.range, .range):
            return value
        case (.double, .int(let v)): return integerLiteral ? .double(Double(v)) : nil
        case (.array(let element), .array(let elements)):
            var converted: [Value] = []
            converted.reserveCapacity(elements.count)
            for e in elements {
                guard let c = element.coerce(e, integerLiteral: integerLiteral) else { return nil }
                converted.append(c)
            }
            return .array(converted)
        case (.array(let element), .range):
            guard element == .int || element == .any, let items = try? value.asArray() else { return nil }
            return .array(items)
        case (.dictionary(let keyType, let valueType), .dictionary(let d)):
            var converted = RecipeDictionary()
            for (k, v) in d.entries {
                guard let ck = keyType.coerce(k, integerLiteral: integerLiteral),
                    let cv = valueType.coerce(v, integerLiteral: integerLiteral)
                else { return nil }
                try? converted.set(ck, cv)
            }
            return .dictionary(converted)
        case (.tuple(let types), .tuple(let elements)):
            guard types.count == elements.count else { return nil }
            var converted: [Value] = []
            for (t, e) in zip(types, elements) {
                guard let c = t.coerce(e, integerLiteral: integerLiteral) else { return nil }
                converted.append(c)
            }
            return .tuple(converted)
        case (.optional, .none): return value
        case (.optional(let wrapped), _): return wrapped.coerce(value, integerLiteral: integerLiteral)
        case (.function(let parameters, _), .function(let f)):
            if let n = f.parameterCount, n != parameters.count, !parameters.isEmpty { return nil }
            return value
        case (.named(let name), .opaque(let object)): return object.recipeTypeName == name ? value : nil
        case (.named(let name), .enumCase(let type, _)): return type == name ? value : nil
        default: return nil
        }
    }
}
