import Foundation
import RecipeLanguage
import Recording

/// A `rlhf runs --where` filter: an expression in the recipe language over the dictionaries
/// `config` and `final` of each run, e.g. `config["beta"] == 0.1 && final["eval_pass1"] > 0.5`.
///
/// A key a run does not hold reads as `nil`, as in Swift: `config["beta"] == 0.1` is false there.
public final class RunFilter {
    public let expression: String
    private let interpreter: Interpreter

    /// Checks `expression` once, before any run is read.
    ///
    /// - Throws: `RecipeError` with the column of a syntax error or an unknown name.
    public init(_ expression: String) throws {
        self.expression = expression
        interpreter = Interpreter(host: FilterHost())
        interpreter.stepLimit = 100_000
        interpreter.define("config", .dictionary(RecipeDictionary()))
        interpreter.define("final", .dictionary(RecipeDictionary()))
        try interpreter.checkExpression(expression)
    }

    /// Whether a run with `config` and final values `final` passes the filter.
    ///
    /// - Throws: `RecipeError` when the expression fails for this run (comparing a missing value
    ///   with `<`, say) or gives something other than true or false.
    public func matches(config: [String: ConfigValue], final: [(key: String, value: Double)]) throws -> Bool {
        interpreter.define("config", .dictionary(try RecipeDictionary(config.keys.sorted().map { (.string($0), Self.value(config[$0]!)) })))
        interpreter.define("final", .dictionary(try RecipeDictionary(final.map { (.string($0.key), .double($0.value)) })))
        let result = try interpreter.evaluate(expression)
        guard case .bool(let passes) = result else {
            throw RecipeError(.type, "--where must give true or false, but gave \(result)", at: RecipeLocation(line: 1, column: 1))
        }
        return passes
    }

    /// A run-file value as the recipe language holds it.
    static func value(_ v: ConfigValue) -> Value {
        switch v {
        case .int(let i): return .int(i)
        case .uint(let u): return .int(Int(clamping: u))
        case .double(let d): return .double(d)
        case .bool(let b): return .bool(b)
        case .string(let s): return .string(s)
        case .ints(let a): return .array(a.map { .int($0) })
        case .doubles(let a): return .array(a.map { .double($0) })
        case .strings(let a): return .array(a.map { .string($0) })
        }
    }
}

/// The language's own builtins and nothing else: a filter prints nothing and touches no file.
private final class FilterHost: RecipeHost {
    let registry = Registry.language
    var display: (OutputItem) -> Void = { _ in }
    func readableURL(_ path: String) throws -> URL { throw RecipeError(.file, "a --where expression cannot read files") }
    func writableURL(_ path: String) throws -> URL { throw RecipeError(.file, "a --where expression cannot write files") }
    func reset() {}
}
