/// A value a recipe computes with: a number, a string, a collection, a function, or a host object
/// (a model, a dataset, a task, a run) that the builtins created.
///
/// Values print as Swift prints the same values (`print([1.5, 2])` shows `[1.5, 2.0]`), so an
/// interpreted recipe and its compiled twin write the same text. Dictionaries keep insertion order,
/// which keeps every printout deterministic.
public enum Value {
    /// The result of a statement or a function that returns nothing, printed `()`.
    case void
    /// An absent optional value, printed `nil`.
    case none
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case array([Value])
    case dictionary(RecipeDictionary)
    case tuple([Value])
    /// A half-open integer range `lower..<upper` (`a...b` is stored as `a..<b+1`).
    case range(lower: Int, upper: Int)
    /// A closure, a `func`, or a builtin used as a value.
    case function(Function)
    /// A case of a registered enum-like type, such as `Tokenizer.bytes`.
    case enumCase(type: String, name: String)
    /// A host object created by a builtin: a model, a dataset, a task, a run.
    case opaque(any RecipeObject)
}

/// A host object that recipes can hold: a model, a dataset, a task, a run.
///
/// Conform a reference type to expose it to recipes; register its members (`policy.frozen()`,
/// `task.prompts`) in a builtin area under the same `recipeTypeName`.
///
/// ```swift
/// extension SyntheticTask: RecipeObject {
///     public static var recipeTypeName: String { "SyntheticTask" }
///     public func describe() -> String { "SyntheticTask \(name): \(count) examples" }
/// }
/// ```
public protocol RecipeObject: AnyObject {
    /// The type name recipes use (`Model`), under which the registry finds its members.
    static var recipeTypeName: String { get }
    /// A short, possibly multi-line description that `print`, the REPL and notebooks show.
    func describe() -> String
}

extension RecipeObject {
    /// The registry type name of this object's type.
    public var recipeTypeName: String { Self.recipeTypeName }
}

/// A dictionary that keeps its keys in insertion order.
public struct RecipeDictionary {
    public private(set) var keys: [Value] = []
    public private(set) var values: [Value] = []
    private var index: [DictionaryKey: Int] = [:]

    public init() {}

    /// Creates a dictionary from key-value pairs; a repeated key keeps its last value.
    public init(_ pairs: [(Value, Value)]) throws {
        for (key, value) in pairs { try set(key, value) }
    }

    public var count: Int { keys.count }

    public var entries: [(key: Value, value: Value)] { Array(zip(keys, values)).map { (key: $0.0, value: $0.1) } }

    public func value(for key: Value) throws -> Value? {
        guard let i = index[try DictionaryKey(key)] else { return nil }
        return values[i]
    }

    public mutating func set(_ key: Value, _ value: Value) throws {
        let k = try DictionaryKey(key)
        if let i = index[k] {
            values[i] = value
        } else {
            index[k] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    public mutating func remove(_ key: Value) throws {
        let k = try DictionaryKey(key)
        guard let i = index.removeValue(forKey: k) else { return }
        keys.remove(at: i)
        values.remove(at: i)
        for (other, j) in index where j > i { index[other] = j - 1 }
    }
}

/// The hashable form of a value used as a dictionary key.
enum DictionaryKey: Hashable {
    case int(Int), double(Double), string(String), bool(Bool), enumCase(String, String)

    init(_ value: Value) throws {
        switch value {
        case .int(let v): self = .int(v)
        case .double(let v): self = .double(v)
        case .string(let v): self = .string(v)
        case .bool(let v): self = .bool(v)
        case .enumCase(let t, let n): self = .enumCase(t, n)
        default:
            throw RecipeError(.type, "dictionary keys must be Int, Double, String or Bool, found \(value.typeName)")
        }
    }
}

/// A function value: a recipe `func`, a closure, a builtin, or a Swift closure.
///
/// Builtins call recipe closures with `call(_:)`, e.g. a reward function:
/// `try reward.call([.string(prompt), .string(response)]).asDouble()`.
///
/// Call a recipe closure on the thread that runs the builtin (the interpreter's thread), never
/// from worker threads: the interpreter evaluates one thing at a time. A closure's errors are
/// `RecipeError`s located in the recipe; let them propagate.
public final class Function {
    /// The name shown in messages (`closure` for anonymous closures).
    public let name: String
    /// How many positional arguments the function takes, when it is fixed.
    public let parameterCount: Int?
    let kind: Kind
    let invoke: ([Value]) throws -> Value

    enum Kind {
        case user(FunctionDecl)
        case closure(ClosureDecl)
        case builtin([Builtin], receiver: Value?)
        case native
    }

    init(name: String, parameterCount: Int?, kind: Kind, invoke: @escaping ([Value]) throws -> Value) {
        self.name = name
        self.parameterCount = parameterCount
        self.kind = kind
        self.invoke = invoke
    }

    /// Wraps a Swift closure taking positional arguments.
    public convenience init(name: String, parameterCount: Int?, _ body: @escaping ([Value]) throws -> Value) {
        self.init(name: name, parameterCount: parameterCount, kind: .native, invoke: body)
    }

    /// Calls the function with positional arguments.
    public func call(_ arguments: [Value]) throws -> Value {
        try invoke(arguments)
    }
}

// MARK: - Literals

extension Value: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .none }
}

// MARK: - Inspecting values

extension Value {
    /// The Swift-style name of the value's type: `Int`, `[Double]`, `Model`.
    public var typeName: String { valueType.description }

    /// The name under which the registry files this value's members: `Array`, `String`, `Model`.
    public var memberTypeName: String {
        switch self {
        case .void: return "Void"
        case .none: return "Optional"
        case .int: return "Int"
        case .double: return "Double"
        case .string: return "String"
        case .bool: return "Bool"
        case .array: return "Array"
        case .dictionary: return "Dictionary"
        case .tuple: return "Tuple"
        case .range: return "Range"
        case .function: return "Function"
        case .enumCase(let type, _): return type
        case .opaque(let object): return object.recipeTypeName
        }
    }

    /// The value's type, with element types taken from the first element of a collection.
    public var valueType: ValueType {
        switch self {
        case .void: return .void
        case .none: return .optional(.any)
        case .int: return .int
        case .double: return .double
        case .string: return .string
        case .bool: return .bool
        case .array(let elements): return .array(elements.first?.valueType ?? .any)
        case .dictionary(let d):
            return .dictionary(key: d.keys.first?.valueType ?? .any, value: d.values.first?.valueType ?? .any)
        case .tuple(let elements): return .tuple(elements.map(\.valueType))
        case .range: return .range
        case .function(let f):
            return .function(parameters: Array(repeating: .any, count: f.parameterCount ?? 0), returns: .any)
        case .enumCase(let type, _): return .named(type)
        case .opaque(let object): return .named(object.recipeTypeName)
        }
    }

    public var isNone: Bool { if case .none = self { return true } else { return false } }

    /// The value as an `Int`, or a type error.
    public func asInt() throws -> Int {
        if case .int(let v) = self { return v }
        throw RecipeError.typeMismatch(expected: "Int", found: self)
    }

    /// The value as a `Double`; an `Int` converts.
    public func asDouble() throws -> Double {
        switch self {
        case .double(let v): return v
        case .int(let v): return Double(v)
        default: throw RecipeError.typeMismatch(expected: "Double", found: self)
        }
    }

    public func asString() throws -> String {
        if case .string(let v) = self { return v }
        throw RecipeError.typeMismatch(expected: "String", found: self)
    }

    public func asBool() throws -> Bool {
        if case .bool(let v) = self { return v }
        throw RecipeError.typeMismatch(expected: "Bool", found: self)
    }

    /// The value as an array; a range gives its integers.
    public func asArray() throws -> [Value] {
        switch self {
        case .array(let v): return v
        case .range(let lo, let hi):
            let (count, overflow) = hi.subtractingReportingOverflow(lo)
            guard !overflow, count <= Limits.collectionCount else { throw RecipeError.tooLarge("range \(lo)..<\(hi)") }
            try Limits.charge(elements: count, for: "the range \(lo)..<\(hi) as an array")
            return (lo..<max(lo, hi)).map { .int($0) }
        default: throw RecipeError.typeMismatch(expected: "Array", found: self)
        }
    }

    public func asDoubles() throws -> [Double] { try asArray().map { try $0.asDouble() } }
    public func asStrings() throws -> [String] { try asArray().map { try $0.asString() } }
    public func asInts() throws -> [Int] { try asArray().map { try $0.asInt() } }

    public func asFunction() throws -> Function {
        if case .function(let f) = self { return f }
        throw RecipeError.typeMismatch(expected: "function", found: self)
    }

    /// The host object of type `T`, or a type error naming `T.recipeTypeName`.
    public func asObject<T: RecipeObject>(_ type: T.Type) throws -> T {
        if case .opaque(let object) = self, let typed = object as? T { return typed }
        throw RecipeError.typeMismatch(expected: T.recipeTypeName, found: self)
    }

    /// The name of an enum case of `type` (`"bytes"` for `Tokenizer.bytes`).
    public func asEnumCase(of type: String) throws -> String {
        if case .enumCase(let t, let name) = self, t == type { return name }
        throw RecipeError.typeMismatch(expected: type, found: self)
    }
}

// MARK: - Printing

extension Value: CustomStringConvertible, CustomDebugStringConvertible {
    /// The text `print` writes, as Swift's `String(describing:)` gives it.
    public var description: String {
        switch self {
        case .void: return "()"
        case .none: return "nil"
        case .int(let v): return String(v)
        case .double(let v): return String(describing: v)
        case .string(let v): return v
        case .bool(let v): return v ? "true" : "false"
        case .array(let elements): return "[" + elements.map(\.debugDescription).joined(separator: ", ") + "]"
        case .dictionary(let d):
            if d.count == 0 { return "[:]" }
            return "["
                + d.entries.map { "\($0.key.debugDescription): \($0.value.debugDescription)" }
                .joined(separator: ", ") + "]"
        case .tuple(let elements): return "(" + elements.map(\.debugDescription).joined(separator: ", ") + ")"
        case .range(let lo, let hi): return "\(lo)..<\(hi)"
        case .function: return "(Function)"
        case .enumCase(_, let name): return name
        case .opaque(let object): return object.describe()
        }
    }

    /// The text a value shows inside a collection: strings quoted, as Swift prints them.
    public var debugDescription: String {
        if case .string(let v) = self { return v.debugDescription }
        return description
    }
}

// MARK: - Equality

extension Value {
    /// Swift's `==` for the value kinds that have it; numbers of different types compare by value.
    public func isEqual(to other: Value) throws -> Bool {
        switch (self, other) {
        case (.void, .void), (.none, .none): return true
        case (.none, _), (_, .none): return false
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)): return Double(a) == b
        case (.double(let a), .int(let b)): return a == Double(b)
        case (.string(let a), .string(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.enumCase(let t1, let n1), .enumCase(let t2, let n2)): return t1 == t2 && n1 == n2
        case (.range(let a, let b), .range(let c, let d)): return a == c && b == d
        case (.array(let a), .array(let b)), (.tuple(let a), .tuple(let b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where try !x.isEqual(to: y) { return false }
            return true
        case (.dictionary(let a), .dictionary(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a.entries {
                guard let other = try b.value(for: key), try value.isEqual(to: other) else { return false }
            }
            return true
        case (.opaque(let a), .opaque(let b)): return a === b
        default:
            throw RecipeError(.type, "cannot compare \(typeName) with \(other.typeName)")
        }
    }

    /// How deeply collections nest inside this value (0 for a scalar).
    var nestingDepth: Int {
        switch self {
        case .array(let elements), .tuple(let elements):
            var deepest = 0
            for e in elements {
                switch e {
                case .array, .tuple, .dictionary: deepest = max(deepest, e.nestingDepth)
                default: continue
                }
            }
            return deepest + 1
        case .dictionary(let d):
            return (d.values.map(\.nestingDepth).max() ?? 0) + 1
        default: return 0
        }
    }
}

/// Limits that keep a runaway recipe from exhausting memory or the stack.
public enum Limits {
    /// The most elements a builtin creates in one collection or string (tests lower it).
    public nonisolated(unsafe) static var collectionCount = 10_000_000
    /// The deepest nesting of collections inside collections.
    public static let nestingDepth = 200
}
