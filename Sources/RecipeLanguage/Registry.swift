/// A type recipes can name: a host type (`Model`) or an enum-like type with cases (`Tokenizer`).
public struct RecipeType {
    public var name: String
    public var doc: String
    /// For an enum-like type, its cases and their docs; a recipe writes `.bytes` or `Tokenizer.bytes`.
    public var cases: [(name: String, doc: String)]

    /// A host type whose values are `RecipeObject`s with this `recipeTypeName`.
    public static func host(_ name: String, doc: String) -> RecipeType {
        RecipeType(name: name, doc: doc, cases: [])
    }

    /// An enum-like type; each case becomes a static property giving `.enumCase(type:name:)`.
    public static func enumeration(_ name: String, doc: String, cases: [(name: String, doc: String)]) -> RecipeType {
        RecipeType(name: name, doc: doc, cases: cases)
    }
}

/// The builtins and types of one area (core, math, models, trainers ...), declared in one file
/// named `Builtins+Area.swift` as one literal.
///
/// To add an area, write `Builtins+Area.swift` in the module that owns it:
///
/// ```swift
/// extension BuiltinArea {
///     static let models = BuiltinArea(
///         "Models", doc: "Transformer policies, references and reward models.",
///         types: [.host("Model", doc: "A transformer with its tokenizer.")],
///         builtins: [
///             Builtin("llama", kind: .staticFunction("Model"), doc: "A Llama-family model.",
///                     parameters: [.labeled("hidden", .int, default: 64, doc: "Hidden size.")],
///                     returns: .named("Model")) { args, _ in
///                 .opaque(Model.llama(hidden: try args.int("hidden")))
///             },
///         ])
/// }
/// ```
///
/// then add `.models` to `Registry.languageAreas` (the language) or to the host's registry.
public struct BuiltinArea {
    public var name: String
    public var doc: String
    public var types: [RecipeType]
    public var builtins: [Builtin]

    public init(_ name: String, doc: String, types: [RecipeType] = [], builtins: [Builtin]) {
        self.name = name
        self.doc = doc
        self.types = types
        self.builtins = builtins
    }
}

/// The one table of builtins, read by the interpreter, argument checking, REPL completion,
/// `:help` and the generated reference.
///
/// The language's own areas are `Registry.languageAreas`; a host builds its registry from those and
/// its own areas (`Registry(areas: Registry.languageAreas + [.models])`) and hands it to the
/// interpreter through `RecipeHost.registry`.
public struct Registry {
    /// The areas of the language itself, in the order the reference lists them.
    public static let languageAreas: [BuiltinArea] = [.core, .math, .strings, .collections, .output]

    /// The registry of the language alone.
    public static let language = Registry(areas: languageAreas)

    /// Every area, in the order the reference lists them.
    public let areas: [BuiltinArea]

    /// Every builtin, with each enum case as a static property of its type.
    public let builtins: [Builtin]

    /// Every type recipes can name, by name; includes the language's own (`Int`, `String` ...).
    public let types: [String: RecipeType]

    /// Free functions by name (several when overloaded by labels, like `String(_:)` and
    /// `String(repeating:count:)`).
    public let functions: [String: [Builtin]]

    private let members: [String: [Builtin]]

    public init(areas: [BuiltinArea]) {
        self.areas = areas
        builtins = areas.flatMap { area in area.builtins + area.types.flatMap(Registry.enumCaseBuiltins) }
        var table: [String: RecipeType] = [:]
        for type in Registry.languageTypes + areas.flatMap(\.types) { table[type.name] = type }
        types = table
        functions = Dictionary(grouping: builtins.filter { $0.kind == .function }, by: \.name)
        members = Dictionary(grouping: builtins.filter { $0.kind != .function }, by: { Registry.memberKey($0) })
    }

    private static func memberKey(_ b: Builtin) -> String {
        switch b.kind {
        case .function: return b.name
        case .staticFunction(let t), .staticProperty(let t): return "static \(t).\(b.name)"
        case .method(let t), .property(let t): return "\(t).\(b.name)"
        }
    }

    /// The static members `type.name` (`Model.llama`, `Tokenizer.bytes`).
    public func staticMembers(_ name: String, of type: String) -> [Builtin] {
        members["static \(type).\(name)"] ?? []
    }

    /// The members `value.name` of values of `type` (`Model.frozen`, `Array.count`).
    public func instanceMembers(_ name: String, of type: String) -> [Builtin] {
        members["\(type).\(name)"] ?? []
    }

    /// All static member names of `type`, sorted.
    public func staticMemberNames(of type: String) -> [String] {
        Array(
            Set(
                builtins.filter { b in
                    switch b.kind {
                    case .staticFunction(let t), .staticProperty(let t): return t == type
                    default: return false
                    }
                }.map(\.name))
        ).sorted()
    }

    /// All instance member names of `type`, sorted.
    public func instanceMemberNames(of type: String) -> [String] {
        Array(
            Set(
                builtins.filter { b in
                    switch b.kind {
                    case .method(let t), .property(let t): return t == type
                    default: return false
                    }
                }.map(\.name))
        ).sorted()
    }

    /// Every name a recipe can use without a prefix: free functions and type names.
    public var globalNames: [String] {
        Array(Set(functions.keys).union(types.keys)).sorted()
    }

    /// The types Swift itself provides that recipes can name in annotations and static calls.
    static let languageTypes: [RecipeType] = [
        .host("Int", doc: "A whole number (64-bit)."),
        .host("Double", doc: "A floating-point number (64-bit)."),
        .host("String", doc: "Text."),
        .host("Bool", doc: "`true` or `false`."),
        .host("Array", doc: "An ordered collection: `[1, 2, 3]`, `[String]`."),
        .host("Dictionary", doc: "Keys and values: `[\"a\": 1]`; iterates in insertion order."),
        .host("Range", doc: "The integers `a..<b` or `a...b`."),
    ]

    private static func enumCaseBuiltins(_ type: RecipeType) -> [Builtin] {
        type.cases.map { c in
            Builtin(c.name, kind: .staticProperty(type.name), doc: c.doc, returns: .named(type.name)) { _, _ in
                .enumCase(type: type.name, name: c.name)
            }
        }
    }
}
