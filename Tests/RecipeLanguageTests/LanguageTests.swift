import Testing
@testable import RecipeLanguage

/// Every construct of the recipe language, parsed and evaluated, with what it prints.
@Suite struct LanguageTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var source: String
        var expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "let and var",
            source: """
                let a = 1
                var b = 2
                b = b + a
                print(a, b)
                """, expected: "1 3\n"),
        Case(
            name: "integer, float, string and bool literals",
            source: """
                print(42, -7, 0x10, 1_000, 2.5, 3e-4, "text", true, false)
                """, expected: "42 -7 16 1000 2.5 0.0003 text true false\n"),
        Case(
            name: "escapes and multi-line strings",
            source: #"""
                print("tab\tquote\" backslash\\ unicode \u{1F600}")
                let block = """
                    first
                      second
                    """
                print(block)
                """#, expected: "tab\tquote\" backslash\\ unicode 😀\nfirst\n  second\n"),
        Case(
            name: "arrays",
            source: """
                let xs = [3, 1, 2]
                print(xs, xs.count, xs[0], xs.isEmpty, xs.sorted(), xs.reversed())
                print([1.5, 2], ["a", "b"], xs[1..<3])
                """, expected: "[3, 1, 2] 3 3 false [1, 2, 3] [2, 1, 3]\n[1.5, 2.0] [\"a\", \"b\"] [1, 2]\n"),
        Case(
            name: "dictionaries keep insertion order",
            source: """
                var d = ["b": 2, "a": 1]
                d["c"] = 3
                d["b"] = nil
                print(d, d.count, d["a"] ?? 0, d["zz"] ?? -1, d.keys)
                var counts: [String: Int] = [:]
                for word in ["x", "y", "x"] { counts[word, default: 0] += 1 }
                print(counts)
                """, expected: "[\"a\": 1, \"c\": 3] 2 1 -1 [\"a\", \"c\"]\n[\"x\": 2, \"y\": 1]\n"),
        Case(
            name: "arithmetic follows Swift",
            source: """
                print(7 / 2, 7 % 3, -7 / 2, 7.0 / 2, 2 + 3 * 4, (2 + 3) * 4, 1 + 2.5)
                let lr = 0.001
                print(lr * 10, 10 * lr)
                """, expected: "3 1 -3 3.5 14 20 3.5\n0.01 0.01\n"),
        Case(
            name: "comparison and logic",
            source: """
                print(1 < 2, 2 <= 1, "a" < "b", 1 == 1, 1 != 1, true && false, true || false, !true)
                print(1 < 2 ? "yes" : "no")
                """, expected: "true false true true false false true false\nyes\n"),
        Case(
            name: "string interpolation",
            source: #"""
                let step = 3
                let loss = 0.25
                print("step \(step): loss \(loss), doubled \(loss * 2), list \([1, 2])")
                """#, expected: "step 3: loss 0.25, doubled 0.5, list [1, 2]\n"),
        Case(
            name: "if, else if, else",
            source: """
                for x in [1, 5, 10] {
                    if x < 3 {
                        print("small")
                    } else if x < 8 {
                        print("medium")
                    } else {
                        print("large")
                    }
                }
                """, expected: "small\nmedium\nlarge\n"),
        Case(
            name: "if let and guard",
            source: """
                let values: [Int] = []
                if let first = values.first { print(first) } else { print("empty") }
                func firstOrZero(_ xs: [Int]) -> Int {
                    guard let f = xs.first else { return 0 }
                    return f
                }
                print(firstOrZero([]), firstOrZero([9]))
                """, expected: "empty\n0 9\n"),
        Case(
            name: "for in ranges, arrays, dictionaries, with where",
            source: """
                var total = 0
                for i in 0..<5 { total += i }
                for i in 1...3 where i != 2 { total += 100 * i }
                print(total)
                for (i, x) in ["a", "b"].enumerated() { print(i, x) }
                for (k, v) in ["x": 1] { print(k, v) }
                """, expected: "410\n0 a\n1 b\nx 1\n"),
        Case(
            name: "while, repeat, break, continue",
            source: """
                var n = 0
                while true {
                    n += 1
                    if n % 2 == 0 { continue }
                    if n > 6 { break }
                    print(n)
                }
                repeat { n -= 3 } while n > 0
                print(n)
                """, expected: "1\n3\n5\n-2\n"),
        Case(
            name: "functions with labels and defaults",
            source: """
                func scale(_ x: Double, by factor: Double = 2, offset: Double = 0) -> Double {
                    return x * factor + offset
                }
                print(scale(1), scale(1, by: 3), scale(1, offset: 0.5), scale(1, by: 3, offset: 1))
                """, expected: "2.0 3.0 2.5 4.0\n"),
        Case(
            name: "recursion and functions used before they are declared",
            source: """
                print(fib(10))
                func fib(_ n: Int) -> Int { n < 2 ? n : fib(n - 1) + fib(n - 2) }
                """, expected: "55\n"),
        Case(
            name: "variadic parameters",
            source: """
                func sum(_ xs: Int...) -> Int { xs.reduce(0, +) }
                print(sum(), sum(1, 2, 3))
                """, expected: "0 6\n"),
        Case(
            name: "closures, trailing closures and $0",
            source: """
                let xs = [1, 2, 3, 4]
                print(xs.map { $0 * $0 }, xs.filter { $0 % 2 == 0 }, xs.reduce(0) { $0 + $1 })
                let add = { (a: Int, b: Int) -> Int in a + b }
                print(add(2, 3))
                print(xs.sorted { $0 > $1 }, xs.contains { $0 > 3 }, xs.first { $0 > 1 } ?? 0)
                """, expected: "[1, 4, 9, 16] [2, 4] 10\n5\n[4, 3, 2, 1] true 2\n"),
        Case(
            name: "reward-style closures with prompt, response and label",
            source: """
                func score(_ reward: (String, String, String) -> Double) -> Double {
                    reward("2+2", "4", "4") + reward("2+3", "6", "5")
                }
                print(score { prompt, response, label in response == label ? 1.0 : 0.0 })
                """, expected: "1.0\n"),
        Case(
            name: "closures capture variables",
            source: """
                var count = 0
                let bump = { count += 1 }
                bump()
                bump()
                print(count)
                func counter() -> () -> Int {
                    var n = 0
                    return { n += 1; return n }
                }
                let next = counter()
                _ = next()
                print(next())
                """, expected: "2\n2\n"),
        Case(
            name: "member access and enum-like cases",
            source: """
                print("Hello".uppercased(), "a,b".split(separator: ","), Double.pi > 3, Int.max > 0)
                print("  x ".trimmingCharacters(in: .whitespaces), "ab".hasPrefix("a"))
                """, expected: "HELLO [\"a\", \"b\"] true true\nx true\n"),
        Case(
            name: "mutating methods",
            source: """
                var xs = [1]
                xs.append(2)
                xs.append(contentsOf: [3, 4])
                xs.insert(0, at: 0)
                let last = xs.removeLast()
                print(xs, last)
                var grid = [[0, 0], [0, 0]]
                grid[1][0] = 5
                grid[0].append(7)
                print(grid)
                """, expected: "[0, 1, 2, 3] 4\n[[0, 0, 7], [5, 0]]\n"),
        Case(
            name: "tuples",
            source: """
                let pair = (1, "one")
                let (n, word) = pair
                print(pair.0, pair.1, n, word, pair)
                for (a, b) in zip([1, 2], ["x", "y"]) { print(a, b) }
                """, expected: "1 one 1 one (1, \"one\")\n1 x\n2 y\n"),
        Case(
            name: "optionals",
            source: """
                var best: Double? = nil
                print(best ?? -1.0)
                best = 0.5
                print(best!, Int("12") ?? 0, Int("x") ?? 0)
                """, expected: "-1.0\n0.5 12 0\n"),
        Case(
            name: "math builtins",
            source: """
                print(min(3, 1, 2), max(1.5, 2), abs(-3), sqrt(16), exp(0), log(1), pow(2, 10))
                print(Int(2.9), Double(3), String(42), floor(2.5), ceil(2.1), round(2.5))
                """, expected: "1 2.0 3 4.0 1.0 0.0 1024.0\n2 3.0 42 2.0 3.0 3.0\n"),
        Case(
            name: "print separator and terminator",
            source: """
                print(1, 2, 3, separator: ", ", terminator: ".\\n")
                print("a", terminator: "")
                print("b")
                """, expected: "1, 2, 3.\nab\n"),
        Case(name: "import Recipes does nothing", source: "import Recipes\nimport Foundation\nprint(1)", expected: "1\n"),
        Case(
            name: "if as an expression",
            source: """
                let size = 5
                let label = if size > 3 { "big" } else { "small" }
                print(label)
                """, expected: "big\n"),
        Case(
            name: "stride and Array",
            source: """
                print(stride(from: 0, to: 10, by: 3), stride(from: 1.0, through: 2.0, by: 0.5), Array(0..<3), Array(repeating: 0, count: 2))
                print((1...4).map { $0 * 10 }, Array("hey"))
                """, expected: "[0, 3, 6, 9] [1.0, 1.5, 2.0] [0, 1, 2] [0, 0]\n[10, 20, 30, 40] [\"h\", \"e\", \"y\"]\n"),
        Case(
            name: "string helpers",
            source: """
                print(formatted(0.123456, digits: 3), formatted(1234567.0), padded("ab", to: 4) + "|")
                print("a-b-c".components(separatedBy: "-"), "aXbX".replacingOccurrences(of: "X", with: "."), "hello".prefix(2))
                print(["x", "y"].joined(separator: "+"), "abc".count)
                """, expected: "0.123 1.235e+06 ab  |\n[\"a\", \"b\", \"c\"] a.b. he\nx+y 3\n"),
        Case(
            name: "comments are ignored",
            source: """
                // a comment
                /* a block
                   comment */
                print(1) // trailing
                """, expected: "1\n"),
    ]

    @Test(arguments: cases)
    func evaluates(_ c: Case) throws {
        #expect(try output(c.source) == c.expected)
    }

    @Test func lastExpressionIsTheValue() throws {
        let h = Harness()
        let value = try h.interpreter.evaluate("let x = 20\nx + 1")
        #expect(value.description == "21")
        #expect(try h.interpreter.evaluate("let y = 1").description == "()")
    }

    @Test func globalsPersistAcrossEvaluations() throws {
        let h = Harness()
        try h.run("var total = 1\nfunc twice(_ x: Int) -> Int { 2 * x }")
        #expect(try h.run("total = twice(total)\nprint(total)") == "2\n")
        #expect(h.interpreter.variables.map(\.name) == ["twice", "total"])
    }

    @Test func integerLiteralsAreDoublesWhereExpected() throws {
        #expect(try output("let x: Double = 1\nprint(x)") == "1.0\n")
        #expect(try output("var xs: [Double] = [1, 2]\nxs.append(3)\nprint(xs)") == "[1.0, 2.0, 3.0]\n")
        #expect(try output("func f(_ v: Double) -> Double { v }\nprint(f(2))") == "2.0\n")
        #expect(try output("func g() -> Double { 1 }\nprint(g())") == "1.0\n")
    }
}
