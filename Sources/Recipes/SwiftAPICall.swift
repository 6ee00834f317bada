import RecipeLanguage
import Foundation
import Training

// How the generated Swift API (Generated/API.swift) calls the builtins: Swift values become
// recipe values, the builtin runs in the current session, and its result comes back as the Swift
// type. An error ends the program with its message, as `rlhf run` ends a recipe.

/// The builtin `name` (a free function), or of `owner` (a static function).
func builtinNamed(_ name: String, of owner: String? = nil) -> Builtin {
    let found = owner.map { Registry.recipes.staticMembers(name, of: $0) } ?? Registry.recipes.functions[name] ?? []
    guard let builtin = found.first else { fatalError("no builtin \(owner.map { "\($0)." } ?? "")\(name): regenerate with `rlhf docs`") }
    return builtin
}

/// Calls `builtin` with `values` in its parameter order and returns its result as `T`.
func callBuiltin<T>(_ builtin: Builtin, _ values: [Any?]) -> T {
    orExit {
        let result = try builtin.implementation(Arguments(builtin, values.map(recipeValue)), Session.current)
        guard case .opaque(let object) = result, let typed = object as? T else {
            throw RecipeError(.runtime, "`\(builtin.name)` returned \(result.typeName), not \(T.self)")
        }
        return typed
    }
}

/// Calls the member `name` of a family of builtins that share one Swift declaration: `values`
/// follow the parameters of the family's widest member; a parameter the member lacks must be nil,
/// and nil takes the member's default.
func callFamilyBuiltin<T>(_ name: String, parametersOf widest: String, _ values: [Any?]) -> T {
    let builtin = builtinNamed(name)
    let given = Dictionary(uniqueKeysWithValues: zip(builtinNamed(widest).parameters.map(\.name), values))
    for (parameter, value) in given where value != nil && !builtin.parameters.contains(where: { $0.name == parameter }) {
        orExit { throw RecipeError(.runtime, "`\(name)` takes no `\(parameter):`") }
    }
    return callBuiltin(
        builtin,
        builtin.parameters.map { p in
            given[p.name].flatMap { $0 } ?? p.defaultValue.map { $0 as Any }
        })
}

/// A Swift value as the recipe value a builtin reads.
func recipeValue(_ value: Any?) -> Value {
    guard let value else { return .none }
    switch value {
    case let v as Value: return v
    case let v as Int: return .int(v)
    case let v as Double: return .double(v)
    case let v as Bool: return .bool(v)
    case let v as String: return .string(v)
    case let v as [Double]: return .array(v.map(Value.double))
    case let v as any RecipeObject: return .opaque(v)
    case let v as any OptionChoice: return .enumCase(type: type(of: v).typeName, name: v.caseName)
    case let v as DataKind: return .enumCase(type: "DataKind", name: v.rawValue)
    case let v as [String: Double]:
        return .dictionary((try? RecipeDictionary(v.keys.sorted().map { (.string($0), .double(v[$0]!)) })) ?? RecipeDictionary())
    case let f as (String, String) -> [String: Double]:
        return .function(
            Function(name: "closure", parameterCount: 2) { a in recipeValue(f(try a[0].asString(), try a[1].asString())) })
    case let f as (String, String) -> Double:
        return .function(Function(name: "closure", parameterCount: 2) { a in .double(f(try a[0].asString(), try a[1].asString())) })
    case let f as (String, String, String) -> Double:
        return .function(
            Function(name: "closure", parameterCount: 3) { a in
                .double(f(try a[0].asString(), try a[1].asString(), try a[2].asString()))
            })
    default:
        // Optionals arrive wrapped in `Any`: unwrap one level.
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional { return mirror.children.first.map { recipeValue($0.value) } ?? .none }
        fatalError("no recipe value for \(type(of: value))")
    }
}
