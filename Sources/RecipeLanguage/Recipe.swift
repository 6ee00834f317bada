import Foundation

/// A recipe's source text with the `--set name=value` overrides applied to its top-level `let`s.
///
/// The run file records `text` unchanged and `overrides` beside it, so a sweep's runs share one
/// recipe and differ only in their recorded overrides.
public struct Recipe {
    /// The recipe exactly as written.
    public let text: String
    /// The file name used in error locations (`recipes/quickstart.swift`), if any.
    public let fileName: String?
    /// `--set` overrides in the order given: the name of a top-level `let` and its new value's text.
    public private(set) var overrides: [(name: String, value: String)] = []

    public init(text: String, fileName: String? = nil) {
        self.text = text
        self.fileName = fileName
    }

    /// Reads a recipe file.
    public init(contentsOf url: URL, fileName: String? = nil) throws {
        do {
            self.init(text: try String(contentsOf: url, encoding: .utf8), fileName: fileName ?? url.path)
        } catch {
            throw RecipeError(.file, "cannot read the recipe \(url.path): \(error.localizedDescription)")
        }
    }

    /// Replaces the initializer of the top-level `let name = …` (or `var`) with `value`, a literal.
    ///
    /// A value that is not a Swift literal is taken as a string when the original is a string
    /// (`--set name=policy` for `let name = "base"`); an integer replacing a `Double` becomes a
    /// `Double`. An unknown name is an error that lists the top-level `let`s.
    public mutating func override(_ name: String, with value: String) throws {
        let candidate = self
        _ = try LargeStack.run { try candidate.apply(candidate.overrides + [(name, value)], registry: nil) }
        overrides.append((name, value))
    }

    /// Parses `name=value`, as `--set` writes it.
    public mutating func override(assignment: String) throws {
        guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
            throw RecipeError(.syntax, "`--set` expects name=value, found `\(assignment)`")
        }
        try override(
            String(assignment[..<eq]).trimmingCharacters(in: .whitespaces),
            with: String(assignment[assignment.index(after: eq)...]))
    }

    /// The names of the top-level `let` and `var` declarations, in order.
    public func topLevelNames() throws -> [String] {
        let (text, fileName) = (self.text, self.fileName)
        return try LargeStack.run { try Lowering.lower(text, fileName: fileName, registry: nil) }.flatMap { stmt -> [String] in
            if case .binding(let b) = stmt { return b.pattern.names }
            return []
        }
    }

    /// The lowered program with the overrides applied, its type annotations checked against `registry`.
    func program(registry: Registry) throws -> [Stmt] {
        try apply(overrides, registry: registry)
    }

    private func apply(_ overrides: [(name: String, value: String)], registry: Registry?) throws -> [Stmt] {
        var program = try Lowering.lower(text, fileName: fileName, registry: registry)
        for (name, text) in overrides {
            guard
                let index = program.firstIndex(where: { stmt in
                    if case .binding(let b) = stmt, case .name(name) = b.pattern, b.initializer != nil { return true }
                    return false
                }), case .binding(var binding) = program[index], let original = binding.initializer
            else {
                let names = program.compactMap { stmt -> String? in
                    if case .binding(let b) = stmt, case .name(let n) = b.pattern { return n }
                    return nil
                }
                var hint = Suggestions.didYouMean(name, in: names)
                if hint.isEmpty {
                    hint =
                        names.isEmpty
                        ? "; it has none"
                        : "; its top-level lets are " + names.map { "`\($0)`" }.joined(separator: ", ")
                }
                throw RecipeError(.unknownName, "--set \(name): the recipe has no top-level `let \(name)`\(hint)")
            }
            binding.initializer = try overrideValue(text, replacing: original, name: name)
            program[index] = .binding(binding)
        }
        return program
    }

    private func overrideValue(_ text: String, replacing original: Expr, name: String) throws -> Expr {
        let location = original.location
        if let parsed = Lowering.lowerExpression(text), parsed.isLiteral {
            switch (original, parsed) {
            case (.float, .integer(let v, _)): return .float(Double(v), location)
            case (.prefix(.negate, .float, _), .integer(let v, _)): return .float(Double(v), location)
            default: return relocated(parsed, to: location)
            }
        }
        switch original {
        case .string, .interpolation: return .string(text, location)
        default:
            throw RecipeError(.syntax, "--set \(name)=\(text): the value must be a literal such as 3, 0.1, true, \"text\" or [1, 2]")
        }
    }

    /// The literal placed at the overridden `let`, so errors point into the recipe.
    private func relocated(_ e: Expr, to location: RecipeLocation) -> Expr {
        switch e {
        case .integer(let v, _): return .integer(v, location)
        case .float(let v, _): return .float(v, location)
        case .string(let v, _): return .string(v, location)
        case .bool(let v, _): return .bool(v, location)
        case .nilLiteral: return .nilLiteral(location)
        case .prefix(let op, let inner, _): return .prefix(op, relocated(inner, to: location), location)
        case .array(let elements, _): return .array(elements.map { relocated($0, to: location) }, location)
        case .dictionary(let pairs, _):
            return .dictionary(pairs.map { (key: relocated($0.key, to: location), value: relocated($0.value, to: location)) }, location)
        case .member(nil, let name, _): return .member(nil, name, location)
        default: return e
        }
    }
}
