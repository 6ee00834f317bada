import RecipeLanguage
import Training

// Builtin parameters read off Training's option tables: each row becomes one labeled parameter
// with the row's doc, its type, and the trainer's default, and each argument is written back into
// the options through the same row. No option is listed here by name.

extension Builtin.Parameter {
    /// The parameter of `row`, defaulting to its value in `defaults`.
    static func option<O>(_ row: OptionRow<O>, defaults: O) -> Builtin.Parameter {
        .labeled(row.name, ValueType(row.type), default: Value(row.value(in: defaults), type: row.type), doc: row.doc)
    }
}

/// The parameters of every option of `O` (but those in `except`), with the defaults of `defaults`.
func optionParameters<O: DeclaredOptions>(_ defaults: O, except: Set<String> = []) -> [Builtin.Parameter] {
    O.options.filter { !except.contains($0.name) }.map { .option($0, defaults: defaults) }
}

/// `defaults` with every option of `O` that the call's builtin declares set from its argument.
func readOptions<O: DeclaredOptions>(_ defaults: O, _ args: Arguments) throws -> O {
    var options = defaults
    let declared = Set(args.builtin.parameters.map(\.name))
    for row in O.options where declared.contains(row.name) {
        // A non-optional option left out (a parameter whose default comes from elsewhere) stays as it is.
        if args[row.name].isNone && !row.type.isOptional { continue }
        try row.set(try OptionValue(args[row.name], type: row.type, name: row.name), in: &options)
    }
    return options
}

/// The types of every option recipes reach.
let optionTypes: [(type: OptionType, doc: String)] =
    TrainingOptions.options.map { ($0.type, $0.doc) } + PPOOptions.options.map { ($0.type, $0.doc) }
    + RewardModelOptions.options.map { ($0.type, $0.doc) } + DataOptions.options.map { ($0.type, $0.doc) }

/// The closed sets among the options, each once (`KLEstimator`, `LRScheduler`, ...), with the doc
/// of the first option that takes it.
let optionChoices: [(choices: OptionChoices, doc: String)] = {
    var seen: Set<String> = []
    return optionTypes.compactMap { option in
        guard let choices = option.type.choices, seen.insert(choices.typeName).inserted else { return nil }
        return (choices, option.doc)
    }
}()

/// The enum-like recipe types of the closed sets among the options.
var optionChoiceTypes: [RecipeType] {
    optionChoices.map { .enumeration($0.choices.typeName, doc: $0.doc, cases: $0.choices.cases) }
}

/// The options of a trainer that has none of its own.
struct NoOptions: DeclaredOptions {
    static let options: [OptionRow<NoOptions>] = []
}

extension OptionType {
    var isOptional: Bool {
        if case .optional = self { return true }
        return false
    }

    /// The closed set of a choice (also behind an optional).
    var choices: OptionChoices? {
        switch self {
        case .choice(let c): return c
        case .optional(let wrapped): return wrapped.choices
        default: return nil
        }
    }
}

extension ValueType {
    init(_ type: OptionType) {
        switch type {
        case .int: self = .int
        case .double: self = .double
        case .bool: self = .bool
        case .string: self = .string
        case .doubles: self = .array(.double)
        case .choice(let choices): self = .named(choices.typeName)
        case .optional(let wrapped): self = .optional(ValueType(wrapped))
        }
    }
}

extension Value {
    /// An option's value as a recipe value of `type`.
    init(_ value: OptionValue, type: OptionType) {
        switch value {
        case .int(let v): self = .int(v)
        case .double(let v): self = .double(v)
        case .bool(let v): self = .bool(v)
        case .string(let v): self = .string(v)
        case .doubles(let v): self = .array(v.map(Value.double))
        case .choice(let name): self = .enumCase(type: type.choices?.typeName ?? "", name: name)
        case .none: self = .none
        }
    }
}

extension OptionValue {
    /// A recipe argument as the value of an option of `type` (the interpreter has checked its type).
    init(_ value: Value, type: OptionType, name: String) throws {
        if value.isNone {
            self = .none
            return
        }
        switch type {
        case .int: self = .int(try value.asInt())
        case .double: self = .double(try value.asDouble())
        case .bool: self = .bool(try value.asBool())
        case .string: self = .string(try value.asString())
        case .doubles: self = .doubles(try value.asDoubles())
        case .choice(let choices): self = .choice(try value.asEnumCase(of: choices.typeName))
        case .optional(let wrapped): try self.init(value, type: wrapped, name: name)
        }
    }
}
