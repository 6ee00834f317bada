/// Text generated from a registry: `:help` in the REPL and the `docs/recipes.md` reference.
public enum Reference {
    /// The constructs of the recipe language, for the reference and `:help`.
    static let language: [(construct: String, example: String)] = [
        ("constants and variables", "`let steps = 100`, `var best: Double? = nil`"),
        ("literals", "`42`, `3e-4`, `\"text\"`, `true`, `[1, 2]`, `[\"a\": 1]`, `nil`"),
        ("arithmetic and comparison", "`+ - * / %`, `== != < <= > >=`, `&& || !`, `??`, `a ? b : c`"),
        ("ranges", "`0..<n`, `1...n`"),
        ("string interpolation", "`\"step \\(i): \\(loss)\"`"),
        ("conditions", "`if`/`else if`/`else`, `if let x = optional`, `guard … else { return }`"),
        ("loops", "`for x in xs where …`, `for (i, x) in xs.enumerated()`, `while`, `repeat … while`, `break`, `continue`"),
        ("functions", "`func score(_ text: String, bonus: Double = 0) -> Double { … }`"),
        ("calls", "labels and defaults checked against the declaration; trailing closures"),
        ("closures", "`{ prompt, response in … }`, `{ $0 * 2 }`"),
        ("members", "`task.prompts`, `policy.frozen()`, `Model.llama(…)`, enum cases `.bytes`"),
        ("subscripts", "`xs[0]`, `xs[1..<3]`, `counts[key, default: 0] += 1`"),
        ("imports", "`import Recipes` (and `import Foundation`) are accepted and do nothing"),
    ]

    /// What is left out on purpose, so a compiled recipe and an interpreted one stay the same program.
    static let excluded =
        "types (`struct`, `class`, `enum`, `protocol`, `extension`), `switch`, `throw`/`do`/`catch`, "
        + "optional chaining `?.`, casts `as`/`is`, `inout`, generics, key paths, macros, `async`/`await`, and any "
        + "way to run a process. Each is reported as `unsupported syntax` at its line and column before the recipe runs."

    // MARK: - REPL help

    /// `:help` without an argument: the commands and every builtin by area.
    public static func overview(_ registry: Registry) -> String {
        var text = "Commands:\n"
        for c in Repl.commands { text += "  \(padded(c.name, to: 8)) \(c.doc)\n" }
        text += "\nBuiltins (`:help NAME` for one):\n"
        for area in registry.areas {
            let names = area.builtins.filter { $0.kind == .function || isStatic($0) }.map(\.qualifiedName)
            let types = area.types.map(\.name)
            let members = Set(
                area.builtins.compactMap { b -> String? in
                    if case .method(let t) = b.kind { return t }
                    if case .property(let t) = b.kind { return t }
                    return nil
                }
            ).sorted().map { "\($0) members" }
            let all = unique(names) + types + members
            if all.isEmpty { continue }
            text += "  \(padded(area.name, to: 12)) \(all.joined(separator: ", "))\n"
        }
        text += "\nThe language: Swift's let/var, literals, operators, if/for/while, func, closures; "
        text += "`:help language` for the list.\n"
        return text
    }

    /// `:help NAME`: a builtin (`dpo`, `Model.llama`, `count`), a type, or a variable.
    public static func help(
        for name: String, in registry: Registry,
        variables: [(name: String, value: Value, isConstant: Bool)] = []
    ) -> String {
        if name == "language" {
            var text = language.map { "  \(padded($0.construct, to: 26)) \($0.example.replacingOccurrences(of: "`", with: ""))\n" }.joined()
            text += "Not in the language: " + excluded.replacingOccurrences(of: "`", with: "") + "\n"
            return text
        }
        if let variable = variables.last(where: { $0.name == name }) {
            var text = "\(variable.isConstant ? "let" : "var") \(name): \(variable.value.typeName)\n"
            let members = registry.instanceMemberNames(of: variable.value.memberTypeName)
            if !members.isEmpty { text += "members: \(members.joined(separator: ", "))\n" }
            return text
        }
        if let type = registry.types[name] {
            var text = "\(type.name): \(type.doc)\n"
            if !type.cases.isEmpty {
                text += "cases: " + type.cases.map { ".\($0.name)" }.joined(separator: ", ") + "\n"
            }
            let statics = registry.staticMemberNames(of: name).filter { n in !type.cases.contains { $0.name == n } }
            if !statics.isEmpty { text += "static: " + statics.map { "\(name).\($0)" }.joined(separator: ", ") + "\n" }
            let members = registry.instanceMemberNames(of: name)
            if !members.isEmpty { text += "members: \(members.joined(separator: ", "))\n" }
            if let constructors = registry.functions[name] {
                text += constructors.map { "\($0.signature)\n    \($0.doc)\n" }.joined()
            }
            return text
        }
        let matches = builtins(named: name, in: registry)
        if !matches.isEmpty {
            return matches.map(plainHelp).joined(separator: "\n")
        }
        let candidates =
            registry.builtins.map(\.qualifiedName) + registry.builtins.map(\.name) + registry.types.keys
            + variables.map(\.name)
        return "no builtin, type or variable named `\(name)`\(Suggestions.didYouMean(name, in: candidates))\n"
    }

    /// Builtins named `name` or `Type.name`.
    static func builtins(named name: String, in registry: Registry) -> [Builtin] {
        let exact = registry.builtins.filter { $0.qualifiedName == name }
        if !exact.isEmpty { return exact }
        return registry.builtins.filter { $0.name == name }
    }

    private static func plainHelp(_ b: Builtin) -> String {
        var text = "\(b.signature)\n    \(b.doc)\n"
        for p in b.parameters {
            let label = p.label ?? "_ \(p.name)"
            let shownDefault = p.defaultValue.map { " = \($0.sourceText)" } ?? (p.isOptional && !p.isVariadic ? " = nil" : "")
            text += "    \(padded(label, to: 18)) \(p.type)\(shownDefault)"
            text += p.documentation.isEmpty ? "\n" : "  \(p.documentation)\n"
        }
        return text
    }

    // MARK: - docs/recipes.md

    /// The whole reference of `registry` as markdown, regenerated by `rlhf docs`.
    public static func markdown(_ registry: Registry) -> String {
        var md = """
            # Recipe reference

            <!-- Generated from the builtin registry by `swift run rlhf docs`. Do not edit by hand. -->

            A recipe is Swift source. `rlhf run`, `rlhf repl` and `rlhf notebook` parse it with swift-syntax and
            evaluate the subset below; a program that writes `import Recipes` can call every builtin under the
            same name, so the same text also builds with the Swift compiler.

            ## The language

            | construct | example |
            |---|---|

            """
        for row in language { md += "| \(row.construct) | \(row.example.replacingOccurrences(of: "|", with: "\\|")) |\n" }
        md += "\nNot in the language: \(excluded)\n\n"
        md += """
            Numbers follow Swift: an `Int` and a `Double` do not mix without `Double(n)`, but an integer literal
            is a `Double` where one is expected (`learningRate: 1`). Dictionaries iterate in insertion order.
            `rlhf run FILE --set name=value` replaces the value of a top-level `let` (`rlhf notebook NB.md --set`
            does the same for a notebook's cells). Training records a run file wherever it runs: `rlhf run`, a
            REPL session (its successful statements are the recorded recipe; `:save FILE` writes them) and a
            notebook (its cells); the Runs builtins read run files back.

            ## Builtins


            """
        for area in registry.areas {
            md += "- [\(area.name)](#\(area.name.lowercased().replacingOccurrences(of: " ", with: "-")))\n"
        }
        for area in registry.areas {
            md += "\n### \(area.name)\n\n\(area.doc)\n"
            for type in area.types {
                md += "\n#### `\(type.name)`\n\n\(type.doc)\n"
                if !type.cases.isEmpty {
                    md += "\n| case | |\n|---|---|\n"
                    for c in type.cases { md += "| `.\(c.name)` | \(c.doc) |\n" }
                }
            }
            for b in area.builtins {
                md += "\n#### `\(b.signature)`\n\n\(b.doc)\n"
                if !b.parameters.isEmpty {
                    md += "\n| parameter | type | default | |\n|---|---|---|---|\n"
                    for p in b.parameters {
                        let label = p.label.map { "`\($0):`" } ?? "`_ \(p.name)`"
                        let type = "`\(p.type)\(p.isVariadic ? "..." : "")`"
                        let value = p.defaultValue.map { "`\($0.sourceText)`" } ?? (p.isOptional && !p.isVariadic ? "`nil`" : "")
                        md += "| \(label) | \(type.replacingOccurrences(of: "|", with: "\\|")) | \(value) | \(p.documentation) |\n"
                    }
                }
            }
        }
        return md
    }

    private static func isStatic(_ b: Builtin) -> Bool {
        if case .staticFunction = b.kind { return true }
        return false
    }

    private static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
