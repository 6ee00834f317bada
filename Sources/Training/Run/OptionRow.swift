import Recording

/// One option of a trainer, declared once: its name (OpenRLHF's flag in Swift case), a one-line
/// doc, its type and its validity check. The options type holds the value and its default.
///
/// Everything else is read off the table of these rows: a trainer's `validate()`, the run file's
/// `/config` (under `flag`, OpenRLHF's snake_case spelling), the recipe builtins' parameters and
/// defaults, REPL completion, `:help`, `docs/recipes.md` and the generated Swift API of `Recipes`.
///
/// ```swift
/// extension DPOOptions: DeclaredOptions {
///     public static let options: [OptionRow<DPOOptions>] = [
///         .double("beta", \.beta, "β of the implicit reward.", check: positive),
///     ]
/// }
/// ```
public struct OptionRow<Options>: @unchecked Sendable {
    /// The name a recipe and the Swift API use: `initKLCoef`.
    public let name: String
    /// The name in the run file's `/config`, as OpenRLHF spells the flag: `init_kl_coef`.
    public let flag: String
    public let doc: String
    public let type: OptionType
    private let read: (Options) -> OptionValue
    private let write: (inout Options, OptionValue) -> Bool
    private let check: (Options) -> String?

    /// A row over any stored value: how to read it as an `OptionValue`, write one back (false
    /// when the value has the wrong type), and check it (nil when valid, else the problem).
    public init(
        _ name: String, flag: String? = nil, _ doc: String, type: OptionType,
        read: @escaping (Options) -> OptionValue, write: @escaping (inout Options, OptionValue) -> Bool,
        check: @escaping (Options) -> String? = { _ in nil }
    ) {
        self.name = name
        self.flag = flag ?? snakeCase(name)
        self.doc = doc
        self.type = type
        self.read = read
        self.write = write
        self.check = check
    }

    /// The value of this option in `options`.
    public func value(in options: Options) -> OptionValue { read(options) }

    /// Sets this option in `options`; throws when `value` is not of the option's type.
    public func set(_ value: OptionValue, in options: inout Options) throws {
        guard write(&options, value) else {
            throw TrainingError.invalidOption(name, "takes \(type.swiftName), got \(value)")
        }
    }

    /// The same row with a further check (run when its own passes).
    public func checking(_ extra: @escaping (Options) -> String?) -> OptionRow {
        let check = self.check
        return OptionRow(name, flag: flag, doc, type: type, read: read, write: write, check: { check($0) ?? extra($0) })
    }

    /// What is wrong with this option's value in `options`, or nil.
    public func problem(in options: Options) -> String? { check(options) }

    /// The same row over a type that holds `Options` at `path` (PPO's options hold the shared
    /// training options).
    public func lifted<Outer>(_ path: WritableKeyPath<Outer, Options>, flag: String? = nil) -> OptionRow<Outer> {
        let read = self.read, write = self.write, check = self.check
        return OptionRow<Outer>(
            name, flag: flag ?? self.flag, doc, type: type,
            read: { read($0[keyPath: path]) },
            write: { outer, value in write(&outer[keyPath: path], value) },
            check: { check($0[keyPath: path]) })
    }
}

/// The type of an option's value.
public indirect enum OptionType: Equatable, Sendable {
    case int, double, bool, string
    /// A list of numbers (`adamBetas: [0.9, 0.95]`).
    case doubles
    /// One of a closed set, by Swift case name (`klEstimator: .k3`).
    case choice(OptionChoices)
    /// The type, or nil.
    case optional(OptionType)

    /// As Swift writes it: `Int`, `Double?`, `KLEstimator`.
    public var swiftName: String {
        switch self {
        case .int: return "Int"
        case .double: return "Double"
        case .bool: return "Bool"
        case .string: return "String"
        case .doubles: return "[Double]"
        case .choice(let choices): return choices.typeName
        case .optional(let wrapped): return wrapped.swiftName + "?"
        }
    }
}

/// The cases of a closed set of values: the Swift type's name and each case's name and doc.
public struct OptionChoices: Equatable, Sendable {
    public let typeName: String
    /// The Swift type with its module: `Alignment.KLEstimator`.
    public let qualifiedName: String
    public let cases: [(name: String, doc: String)]
    /// Each case's OpenRLHF spelling, by Swift case name.
    public let rawValues: [String: String]

    public init<E: OptionChoice>(_ type: E.Type) {
        typeName = E.typeName
        qualifiedName = String(reflecting: E.self)
        cases = E.allCases.map { (String(describing: $0), $0.doc) }
        rawValues = Dictionary(uniqueKeysWithValues: E.allCases.map { (String(describing: $0), $0.rawValue) })
    }

    public static func == (a: OptionChoices, b: OptionChoices) -> Bool {
        a.typeName == b.typeName && a.cases.map(\.name) == b.cases.map(\.name)
    }
}

/// An enum a recipe picks a case of: its Swift case names are what recipes write, its raw values
/// are OpenRLHF's spelling, recorded in the run file.
public protocol OptionChoice: CaseIterable, RawRepresentable, Sendable where RawValue == String {
    /// One line on what the case means.
    var doc: String { get }
    /// The name recipes know the type by (by default the Swift type's own).
    static var typeName: String { get }
}

extension OptionChoice {
    public static var typeName: String { String(describing: Self.self) }

    /// The Swift case name: `groupNorm` (the raw value is OpenRLHF's `group_norm`).
    public var caseName: String { String(describing: self) }

    /// The case named `name` in Swift (`groupNorm`), or nil.
    public init?(caseName: String) {
        guard let found = Self.allCases.first(where: { String(describing: $0) == caseName }) else { return nil }
        self = found
    }
}

/// An option's value, as the tables pass it between the options types and their callers.
public enum OptionValue: Equatable, Sendable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)
    case doubles([Double])
    /// A case of a closed set, by its Swift name.
    case choice(String)
    /// An optional option left unset.
    case none

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return v.debugDescription
        case .doubles(let v): return "[" + v.map { String($0) }.joined(separator: ", ") + "]"
        case .choice(let v): return "." + v
        case .none: return "nil"
        }
    }
}

// MARK: - Rows over stored properties

extension OptionRow {
    public static func int(
        _ name: String, _ path: WritableKeyPath<Options, Int>, flag: String? = nil, _ doc: String,
        check: @escaping (Int, Options) -> String? = { _, _ in nil }
    ) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .int, read: { .int($0[keyPath: path]) },
            write: { o, v in
                guard case .int(let x) = v else { return false }; o[keyPath: path] = x; return true
            },
            check: { check($0[keyPath: path], $0) })
    }

    public static func int(
        _ name: String, _ path: WritableKeyPath<Options, Int?>, flag: String? = nil, _ doc: String,
        check: @escaping (Int, Options) -> String? = { _, _ in nil }
    ) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .optional(.int), read: { $0[keyPath: path].map(OptionValue.int) ?? .none },
            write: { o, v in
                switch v {
                case .int(let x): o[keyPath: path] = x
                case .none: o[keyPath: path] = nil
                default: return false
                }
                return true
            },
            check: { o in o[keyPath: path].flatMap { check($0, o) } })
    }

    public static func double(
        _ name: String, _ path: WritableKeyPath<Options, Double>, flag: String? = nil, _ doc: String,
        check: @escaping (Double, Options) -> String? = finite
    ) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .double, read: { .double($0[keyPath: path]) },
            write: { o, v in
                switch v {
                case .double(let x): o[keyPath: path] = x
                case .int(let x): o[keyPath: path] = Double(x)
                default: return false
                }
                return true
            },
            check: { check($0[keyPath: path], $0) })
    }

    public static func double(
        _ name: String, _ path: WritableKeyPath<Options, Double?>, flag: String? = nil, _ doc: String,
        check: @escaping (Double, Options) -> String? = finite
    ) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .optional(.double), read: { $0[keyPath: path].map(OptionValue.double) ?? .none },
            write: { o, v in
                switch v {
                case .double(let x): o[keyPath: path] = x
                case .int(let x): o[keyPath: path] = Double(x)
                case .none: o[keyPath: path] = nil
                default: return false
                }
                return true
            },
            check: { o in o[keyPath: path].flatMap { check($0, o) } })
    }

    public static func bool(_ name: String, _ path: WritableKeyPath<Options, Bool>, flag: String? = nil, _ doc: String) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .bool, read: { .bool($0[keyPath: path]) },
            write: { o, v in
                guard case .bool(let x) = v else { return false }; o[keyPath: path] = x; return true
            })
    }

    /// A switch that is left out of the run file's `/config` while unset (nil: off), so adding one
    /// changes no earlier run's file.
    public static func bool(_ name: String, _ path: WritableKeyPath<Options, Bool?>, flag: String? = nil, _ doc: String) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .optional(.bool), read: { $0[keyPath: path].map(OptionValue.bool) ?? .none },
            write: { o, v in
                switch v {
                case .bool(let x): o[keyPath: path] = x
                case .none: o[keyPath: path] = nil
                default: return false
                }
                return true
            })
    }

    public static func string(
        _ name: String, _ path: WritableKeyPath<Options, String>, flag: String? = nil, _ doc: String,
        check: @escaping (String, Options) -> String? = { _, _ in nil }
    ) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .string, read: { .string($0[keyPath: path]) },
            write: { o, v in
                guard case .string(let x) = v else { return false }; o[keyPath: path] = x; return true
            },
            check: { check($0[keyPath: path], $0) })
    }

    public static func string(
        _ name: String, _ path: WritableKeyPath<Options, String?>, flag: String? = nil, _ doc: String,
        check: @escaping (String?, Options) -> String? = { _, _ in nil }
    ) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .optional(.string), read: { $0[keyPath: path].map(OptionValue.string) ?? .none },
            write: { o, v in
                switch v {
                case .string(let x): o[keyPath: path] = x
                case .none: o[keyPath: path] = nil
                default: return false
                }
                return true
            },
            check: { check($0[keyPath: path], $0) })
    }

    public static func doubles(
        _ name: String, _ path: WritableKeyPath<Options, [Double]>, flag: String? = nil, _ doc: String,
        check: @escaping ([Double], Options) -> String? = { _, _ in nil }
    ) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .doubles, read: { .doubles($0[keyPath: path]) },
            write: { o, v in
                switch v {
                case .doubles(let x): o[keyPath: path] = x
                default: return false
                }
                return true
            },
            check: { check($0[keyPath: path], $0) })
    }

    public static func doubles(
        _ name: String, _ path: WritableKeyPath<Options, [Double]?>, flag: String? = nil, _ doc: String,
        check: @escaping ([Double], Options) -> String? = { _, _ in nil }
    ) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .optional(.doubles), read: { $0[keyPath: path].map(OptionValue.doubles) ?? .none },
            write: { o, v in
                switch v {
                case .doubles(let x): o[keyPath: path] = x
                case .none: o[keyPath: path] = nil
                default: return false
                }
                return true
            },
            check: { o in o[keyPath: path].flatMap { check($0, o) } })
    }

    public static func choice<E: OptionChoice>(
        _ name: String, _ path: WritableKeyPath<Options, E>, flag: String? = nil,
        _ doc: String, check: @escaping (E, Options) -> String? = { _, _ in nil }
    ) -> OptionRow {
        OptionRow(
            name, flag: flag, doc, type: .choice(OptionChoices(E.self)), read: { .choice($0[keyPath: path].caseName) },
            write: { o, v in
                guard case .choice(let x) = v, let e = E(caseName: x) else { return false }
                o[keyPath: path] = e
                return true
            },
            check: { check($0[keyPath: path], $0) })
    }
}

// MARK: - Checks

/// The check of most numbers: finite.
public func finite<O>(_ x: Double, _: O) -> String? { x.isFinite ? nil : "must be finite, got \(x)" }
/// `> 0` and finite.
public func positive<O>(_ x: Double, _: O) -> String? { x > 0 && x.isFinite ? nil : "must be > 0, got \(x)" }
/// `≥ 0` and finite.
public func nonNegative<O>(_ x: Double, _: O) -> String? { x >= 0 && x.isFinite ? nil : "must be ≥ 0, got \(x)" }
/// In [0, 1].
public func unitInterval<O>(_ x: Double, _: O) -> String? { (0...1).contains(x) ? nil : "must be in [0, 1], got \(x)" }
/// An integer at least `low`.
public func atLeast<O>(_ low: Int) -> (Int, O) -> String? {
    { x, _ in x >= low ? nil : "must be ≥ \(low), got \(x)" }
}

/// An integer in `low...high`: the upper bound keeps counts and sizes from overflowing a product
/// or asking for more memory than any machine has.
public func between<O>(_ low: Int, _ high: Int) -> (Int, O) -> String? {
    { x, _ in (low...high).contains(x) ? nil : "must be between \(low) and \(high), got \(x)" }
}

// MARK: - A type with a table

/// An options type whose every option is a row of `options`.
public protocol DeclaredOptions {
    static var options: [OptionRow<Self>] { get }
    /// Stored properties that are deliberately not options (set by the trainer or the caller,
    /// never by a recipe), each with why.
    static var internalFields: [String: String] { get }
}

extension DeclaredOptions {
    public static var internalFields: [String: String] { [:] }

    /// Checks every option, naming the first that is wrong and how.
    public func validate() throws {
        for row in Self.options {
            if let problem = row.problem(in: self) { throw TrainingError.invalidOption(row.name, problem) }
        }
    }

    /// Every option under its OpenRLHF flag, for the stage's `/config` in the run file (unset
    /// optional options are left out).
    public var configValues: [String: ConfigValue] {
        var values: [String: ConfigValue] = [:]
        for row in Self.options {
            switch row.value(in: self) {
            case .int(let v): values[row.flag] = .int(v)
            case .double(let v): values[row.flag] = .double(v)
            case .bool(let v): values[row.flag] = .bool(v)
            case .string(let v): values[row.flag] = .string(v)
            case .doubles(let v): values[row.flag] = .doubles(v)
            case .choice: values[row.flag] = .string(row.type.rawValue(of: row.value(in: self)) ?? "")
            case .none: break
            }
        }
        return values
    }

    /// The row named `name`, or nil.
    public static func option(named name: String) -> OptionRow<Self>? { options.first { $0.name == name } }
}

extension OptionType {
    /// The OpenRLHF spelling (raw value) of a choice's case; nil for other types.
    func rawValue(of value: OptionValue) -> String? {
        guard case .choice(let name) = value else { return nil }
        switch self {
        case .choice(let choices): return choices.rawValues[name]
        case .optional(let wrapped): return wrapped.rawValue(of: value)
        default: return nil
        }
    }
}

/// `initKLCoef` → `init_kl_coef`, `useKLLoss` → `use_kl_loss`, `topP` → `top_p`: a run of capitals
/// is one word, whose last capital starts the next word when a lower-case letter follows.
public func snakeCase(_ name: String) -> String {
    let chars = Array(name)
    var out = ""
    for (i, c) in chars.enumerated() {
        if c.isUppercase && i > 0 {
            let previousLower = chars[i - 1].isLowercase || chars[i - 1].isNumber
            let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
            if previousLower || (chars[i - 1].isUppercase && nextLower) { out += "_" }
        }
        out += c.lowercased()
    }
    return out
}
