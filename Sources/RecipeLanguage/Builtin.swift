/// One builtin of the recipe language: a function (`seed`), a static member of a type
/// (`Model.llama`, `Tokenizer.bytes`), or a member of a value (`policy.frozen()`, `task.prompts`).
///
/// A builtin is declared once, with its labels, types, defaults and a one-line doc. The
/// interpreter checks calls against it, the REPL completes from it, `:help` prints it and
/// `docs/recipes.md` is generated from it. Its implementation calls the public Swift API of the
/// same name, so a compiled program that imports `Recipes` does the same thing.
///
/// ```swift
/// Builtin("abs", doc: "The absolute value.",
///         parameters: [.positional("value", .double, doc: "A number.")], returns: .double) { args, _ in
///     .double(abs(try args.double("value")))
/// }
/// ```
public struct Builtin {
    /// Where a builtin lives.
    public enum Kind: Equatable {
        /// A free function: `seed(42)`.
        case function
        /// A static function of a type: `Model.llama(hidden: 64)`.
        case staticFunction(String)
        /// A static property of a type, such as an enum case: `Tokenizer.bytes`.
        case staticProperty(String)
        /// A method of a value of a type: `policy.frozen()`.
        case method(String)
        /// A property of a value of a type: `task.prompts`.
        case property(String)
    }

    /// One parameter, written as Swift writes it: `_ policy: Model` or `beta: Double = 0.1`.
    public struct Parameter {
        /// The argument label, or nil when the argument is passed without one (`_`).
        public var label: String?
        /// The name used in docs and to read the argument (`args.double("beta")`).
        public var name: String
        public var type: ValueType
        /// The value used when the argument is left out; nil makes the argument required
        /// (unless its type is optional, in which case it defaults to `nil`).
        public var defaultValue: Value?
        /// Takes any number of unlabeled arguments (`print(_ items: Any...)`).
        public var isVariadic: Bool
        public var doc: String
        /// The values an integer argument may take; the interpreter refuses any other before the
        /// builtin runs, so no size or count reaches an allocation unchecked.
        public var range: ClosedRange<Int>?

        public init(
            label: String?, name: String, type: ValueType, default defaultValue: Value? = nil,
            variadic: Bool = false, range: ClosedRange<Int>? = nil, doc: String = ""
        ) {
            self.label = label
            self.name = name
            self.type = type
            self.defaultValue = defaultValue
            self.isVariadic = variadic
            self.range = range
            self.doc = doc
        }

        /// A labeled parameter: `beta: Double = 0.1`.
        public static func labeled(
            _ label: String, _ type: ValueType, default defaultValue: Value? = nil,
            range: ClosedRange<Int>? = nil, doc: String = ""
        ) -> Parameter {
            Parameter(label: label, name: label, type: type, default: defaultValue, range: range, doc: doc)
        }

        /// The doc line with the allowed range, as `:help` and the reference show it.
        public var documentation: String {
            guard let range else { return doc }
            return doc + (doc.isEmpty ? "" : " ") + "\(range.lowerBound.grouped)…\(range.upperBound.grouped)."
        }

        /// Why `value` is not allowed for this parameter, or nil.
        func problem(with value: Value) -> String? {
            guard let range, case .int(let n) = value, !range.contains(n) else { return nil }
            return "`\(name)` must be between \(range.lowerBound.grouped) and \(range.upperBound.grouped), got \(n)"
        }

        /// A parameter passed without a label: `_ policy: Model`.
        public static func positional(
            _ name: String, _ type: ValueType, default defaultValue: Value? = nil,
            doc: String = ""
        ) -> Parameter {
            Parameter(label: nil, name: name, type: type, default: defaultValue, doc: doc)
        }

        /// A variadic unlabeled parameter: `_ items: Any...`.
        public static func variadic(_ name: String, _ type: ValueType, doc: String = "") -> Parameter {
            Parameter(label: nil, name: name, type: type, variadic: true, doc: doc)
        }

        /// Whether a call may leave the argument out.
        public var isOptional: Bool {
            if defaultValue != nil || isVariadic { return true }
            if case .optional = type { return true }
            return false
        }

        /// `beta: Double = 0.1` or `_ policy: Model`.
        public var signature: String {
            var text = label.map { $0 == name ? $0 : "\($0) \(name)" } ?? "_ \(name)"
            text += ": \(type)"
            if isVariadic { text += "..." }
            if let defaultValue {
                text += " = \(defaultValue.sourceText)"
            } else if case .optional = type {
                text += " = nil"
            }
            return text
        }
    }

    public var name: String
    public var kind: Kind
    public var doc: String
    public var parameters: [Parameter]
    public var returns: ValueType
    /// A method that changes its receiver (`array.append(x)`); the interpreter stores
    /// `arguments.receiver` back into the variable it came from.
    public var isMutating: Bool
    /// Runs the builtin; the host is the one running the recipe (`print` writes through it).
    public var implementation: (Arguments, RecipeHost) throws -> Value

    public init(
        _ name: String, kind: Kind = .function, doc: String, parameters: [Parameter] = [],
        returns: ValueType = .void, mutating: Bool = false,
        _ implementation: @escaping (Arguments, RecipeHost) throws -> Value
    ) {
        self.name = name
        self.kind = kind
        self.doc = doc
        self.parameters = parameters
        self.returns = returns
        self.isMutating = mutating
        self.implementation = implementation
    }

    /// The type this builtin belongs to, if any.
    public var owner: String? {
        switch kind {
        case .function: return nil
        case .staticFunction(let t), .staticProperty(let t), .method(let t), .property(let t): return t
        }
    }

    /// Whether it is used without parentheses (`task.prompts`, `Tokenizer.bytes`).
    public var isProperty: Bool {
        switch kind {
        case .staticProperty, .property: return true
        default: return false
        }
    }

    /// The name as a recipe writes it from outside: `seed`, `Model.llama`, `Model.frozen`.
    public var qualifiedName: String { owner.map { "\($0).\(name)" } ?? name }

    /// The declaration as Swift would write it, for `:help` and the reference.
    public var signature: String {
        var text: String
        switch kind {
        case .function: text = name
        case .staticFunction(let t), .staticProperty(let t): text = "\(t).\(name)"
        case .method(let t), .property(let t): text = "\(t.lowercasedFirst).\(name)"
        }
        if !isProperty { text += "(" + parameters.map(\.signature).joined(separator: ", ") + ")" }
        if returns != .void || isProperty { text += isProperty ? ": \(returns)" : " -> \(returns)" }
        return text
    }
}

/// The arguments of one builtin call, bound to parameter names and checked against their types.
public final class Arguments {
    public let builtin: Builtin
    /// The value a method or property is called on; a mutating method replaces it.
    public var receiver: Value?
    /// Where the call is, for errors the implementation raises.
    public let location: RecipeLocation?
    var values: [String: Value]

    init(builtin: Builtin, receiver: Value?, values: [String: Value], location: RecipeLocation?) {
        self.builtin = builtin
        self.receiver = receiver
        self.values = values
        self.location = location
    }

    /// Binds positional values to the builtin's parameters in order, for calls from Swift code.
    public convenience init(_ builtin: Builtin, receiver: Value? = nil, _ positional: [Value]) {
        var values: [String: Value] = [:]
        for (i, p) in builtin.parameters.enumerated() {
            if p.isVariadic {
                values[p.name] = .array(Array(positional.dropFirst(i)))
            } else {
                values[p.name] = i < positional.count ? positional[i] : (p.defaultValue ?? .none)
            }
        }
        self.init(builtin: builtin, receiver: receiver, values: values, location: nil)
    }

    /// The argument named `name`: the value passed, the default, or `.none`. A variadic
    /// parameter gives an array of the values passed.
    public subscript(_ name: String) -> Value {
        values[name] ?? .none
    }

    /// Whether the call passed a value for an optional parameter.
    public func has(_ name: String) -> Bool {
        guard let v = values[name] else { return false }
        return !v.isNone
    }

    public func int(_ name: String) throws -> Int { try checked(name) { try $0.asInt() } }
    public func double(_ name: String) throws -> Double { try checked(name) { try $0.asDouble() } }
    public func string(_ name: String) throws -> String { try checked(name) { try $0.asString() } }
    public func bool(_ name: String) throws -> Bool { try checked(name) { try $0.asBool() } }
    public func array(_ name: String) throws -> [Value] { try checked(name) { try $0.asArray() } }
    public func doubles(_ name: String) throws -> [Double] { try checked(name) { try $0.asDoubles() } }
    public func strings(_ name: String) throws -> [String] { try checked(name) { try $0.asStrings() } }
    public func function(_ name: String) throws -> Function { try checked(name) { try $0.asFunction() } }
    public func object<T: RecipeObject>(_ type: T.Type, _ name: String) throws -> T {
        try checked(name) { try $0.asObject(type) }
    }
    public func enumCase(_ name: String, of type: String) throws -> String {
        try checked(name) { try $0.asEnumCase(of: type) }
    }

    /// The receiver of a method or property.
    public func receiverValue() throws -> Value {
        guard let receiver else { throw RecipeError(.runtime, "`\(builtin.name)` needs a value to act on") }
        return receiver
    }

    /// The receiver as a host object of type `T`.
    public func receiver<T: RecipeObject>(_ type: T.Type) throws -> T {
        try receiverValue().asObject(type)
    }

    private func checked<T>(_ name: String, _ read: (Value) throws -> T) throws -> T {
        do {
            return try read(self[name])
        } catch var error as RecipeError {
            error.message = "`\(builtin.name)` argument `\(name)`: \(error.message)"
            throw error
        }
    }
}

extension Value {
    /// The value written as a Swift literal (`0.1`, `"text"`, `.bytes`), for signatures in docs.
    public var sourceText: String {
        switch self {
        case .none: return "nil"
        case .string(let s): return s.debugDescription
        case .enumCase(_, let name): return ".\(name)"
        case .array(let elements): return "[" + elements.map(\.sourceText).joined(separator: ", ") + "]"
        default: return description
        }
    }
}

extension Int {
    /// `1_000_000`, as Swift writes a large literal.
    var grouped: String {
        let digits = String(magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "_" }
            out.append(c)
        }
        return (self < 0 ? "-" : "") + out
    }
}

extension String {
    var lowercasedFirst: String { prefix(1).lowercased() + dropFirst() }
}
