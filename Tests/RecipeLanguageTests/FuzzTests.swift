import FixtureSupport
import Foundation
import Testing
@testable import RecipeLanguage

/// Random and mutated recipes never crash the process: every outcome is a value or a RecipeError.
@Suite(.serialized) struct FuzzTests {
    typealias Generator = SplitMix64

    static let vocabulary = [
        "let", "var", "func", "for", "in", "while", "if", "else", "return", "break", "continue", "guard", "repeat",
        "true", "false", "nil", "x", "y", "xs", "f", "$0", "$1", "_", "print", "seed", "min", "max", "sqrt", "pow",
        "stride", "Array", "String", "Int", "Double", "table", "chart", "formatted", "map", "filter", "reduce", "count",
        "append", "sorted", "pi", "Double.pi", "Int.max", "Int.min", "0", "1", "-1", "2.5", "1e308", "-0.0",
        "9223372036854775807", "100000000", "\"s\"", "\"\\(x)\"", "\"\"\"", "(", ")", "[", "]", "{", "}", ",", ":", ".",
        "..<", "...", "+", "-", "*", "/", "%", "==", "<", "&&", "||", "!", "?", "??", "=", "+=", "->", "\n", " ", ";",
        "{ $0 }", "in:", "by:", "to:", "from:", "count:", "repeating:", "separator:", ".whitespaces", "class", "struct",
        "switch", "case", "import", "Recipes", "#if", "@", "\\", "'", "`",
    ]

    /// Sources to mutate: every language and error test case, the example recipe and notebook cells.
    static var corpus: [String] {
        var sources = LanguageTests.cases.map(\.source) + ErrorTests.cases.map(\.source)
        if let hello = try? String(contentsOf: repository.appendingPathComponent("recipes/hello.swift"), encoding: .utf8) {
            sources.append(hello)
        }
        if let notebook = try? String(contentsOf: repository.appendingPathComponent("notebooks/quickstart.md"), encoding: .utf8) {
            for case .cell(let code, _) in Notebook(markdown: notebook).blocks { sources.append(code) }
        }
        return sources
    }

    /// Splits source into rough tokens: words, numbers, operator runs, single other characters.
    static func tokens(_ source: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var kind = 0
        for c in source {
            let k = c.isLetter || c.isNumber || c == "_" || c == "$" ? 1 : ("+-*/%=<>!&|?.".contains(c) ? 2 : 3)
            if k == kind && k != 3 {
                current.append(c)
            } else {
                if !current.isEmpty { tokens.append(current) }
                current = String(c)
                kind = k
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    static func mutate(_ source: String, _ g: inout Generator) -> String {
        switch g.below(4) {
        case 0, 1:
            var t = tokens(source)
            for _ in 0..<(1 + g.below(4)) where !t.isEmpty {
                let i = g.below(t.count)
                switch g.below(5) {
                case 0: t.remove(at: i)
                case 1: t.insert(t[i], at: i)
                case 2: t[i] = g.pick(vocabulary)
                case 3: t.insert(g.pick(vocabulary), at: i)
                default: t.swapAt(i, g.below(t.count))
                }
            }
            return t.joined()
        case 2:
            var bytes = Array(source.utf8)
            for _ in 0..<(1 + g.below(3)) where !bytes.isEmpty {
                let i = g.below(bytes.count)
                switch g.below(3) {
                case 0: bytes.remove(at: i)
                case 1: bytes.insert(UInt8(g.below(256)), at: i)
                default: bytes[i] = UInt8(32 + g.below(95))
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        default:
            // Splice two sources at random points.
            let other = g.pick(corpus)
            let a = source.prefix(g.below(source.count + 1)), b = other.suffix(g.below(other.count + 1))
            return String(a + b)
        }
    }

    static func randomProgram(_ g: inout Generator) -> String {
        (0..<(1 + g.below(40))).map { _ in g.pick(vocabulary) }.joined(separator: g.below(2) == 0 ? " " : "")
    }

    /// Evaluates a source with a small budget; only a `RecipeError` may come out.
    static func evaluate(_ source: String) -> Bool {
        let interpreter = Interpreter(host: TestHost())
        interpreter.stepLimit = 3_000
        interpreter.maximumCallDepth = 100
        do {
            _ = try interpreter.evaluate(source)
        } catch is RecipeError {
        } catch {
            return false
        }
        _ = Repl.isComplete(source)
        return true
    }

    @Test func mutatedAndRandomRecipesNeverCrash() {
        let saved = Limits.collectionCount
        Limits.collectionCount = 10_000
        defer { Limits.collectionCount = saved }
        var g = Generator(state: 20_260_101)
        let corpus = Self.corpus
        var failures: [String] = []
        let start = Date()
        var cases = 0
        // A few thousand cases; the time cap keeps a slow (debug) build under 20 seconds.
        while cases < 3_000 && Date().timeIntervalSince(start) < 17 {
            let source = cases % 5 == 4 ? Self.randomProgram(&g) : Self.mutate(g.pick(corpus), &g)
            if !Self.evaluate(source) { failures.append(source) }
            cases += 1
        }
        #expect(failures.isEmpty, "non-RecipeError failures: \(failures.prefix(3))")
        #expect(cases >= 500)
    }

    @Test func pathologicalInputs() {
        let inputs = [
            String(repeating: "(", count: 5_000),
            String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000),
            String(repeating: "{", count: 300),
            "let x = " + Array(repeating: "1", count: 2_000).joined(separator: " + "),
            String(repeating: "- ", count: 400) + "1",
            "var a = [0]\nwhile true { a = [a] }",
            "var s = \"x\"\nwhile true { s = s + s }",
            "func f() { f() }\nf()",
            "let c = { (n: Int) in n }\nprint(c(1, 2))",
            "print(\"\\(", "\"\"\"", "/*", "let x = 0x", "let 😀 = 1", "\u{0}", String(repeating: "a.", count: 3_000) + "b",
            "Array(repeating: 0, count: Int.max)", "String(repeating: \"ab\", count: 9223372036854775807)",
            "stride(from: 0.0, to: 1e308, by: 1e-308)", "Array(Int.min..<Int.max)", "print(-Int.min)",
            "print(Int(Double.nan) ?? 0)", "print(Int(1e300) ?? 0)", "sparkline([1e308, -1e308, 0])",
        ]
        for input in inputs { #expect(Self.evaluate(input), "\(input.prefix(60))") }
    }
}
