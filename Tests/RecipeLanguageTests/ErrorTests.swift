import Testing
@testable import RecipeLanguage

/// Errors carry a message a person can act on and the line and column of the cause.
@Suite struct ErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var source: String
        var expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // Unknown names, with suggestions.
        Case(
            name: "unknown name", source: "let steps = 3\nprint(stpes)",
            expected: "unknown name `stpes`; did you mean `steps`? (line 2, column 7)"),
        Case(
            name: "unknown member", source: "let xs = [1]\nprint(xs.cout)",
            expected: "value of type `[Int]` has no member `cout`; did you mean `count`? (line 2, column 10)"),
        Case(
            name: "unknown static member", source: "print(Double.pii)",
            expected: "type `Double` has no member `pii`; did you mean `pi`? (line 1, column 14)"),
        Case(
            name: "unknown type", source: "let x: Strng = \"a\"",
            expected: "unknown type `Strng`; did you mean `String`? (line 1, column 8)"),
        // Labels.
        Case(
            name: "wrong label with suggestion", source: "print(1, separater: \", \")",
            expected: "`print` has no argument `separater`; did you mean `separator`? (line 1, column 10)"),
        Case(
            name: "wrong label on a recipe function", source: "func f(beta: Double) {}\nf(betta: 0.1)",
            expected: "`f` has no argument `betta`; did you mean `beta`? (line 2, column 3)"),
        Case(
            name: "missing label", source: "func f(beta: Double) {}\nf(0.1)",
            expected: "missing argument label `beta:` in call to `f` (line 2, column 3)"),
        Case(
            name: "missing argument", source: "func f(_ a: Int, b: Int) {}\nf(1)",
            expected: "`f` is missing its argument `b:` of type Int (line 2, column 1)"),
        Case(
            name: "labels out of order", source: "func f(a: Int = 0, b: Int = 0) {}\nf(b: 1, a: 2)",
            expected: "argument `a` must come before `b:` in `f` (line 2, column 9)"),
        // Types.
        Case(
            name: "Int variable where a Double is expected", source: "let n = 3\nprint(sqrt(n))",
            expected: "`sqrt` argument `x` expects Double, found Int (line 2, column 12)"),
        Case(
            name: "mixing Int and Double", source: "let n = 3\nlet x = 0.5\nprint(n * x)",
            expected: "binary operator `*` cannot be applied to Int and Double; convert one side with `Double(...)` or `Int(...)` (line 3, column 9)"),
        Case(
            name: "assigning to a let", source: "let a = 1\na = 2",
            expected: "cannot assign to `a`: it is a `let` constant; declare it with `var` (line 2, column 1)"),
        Case(
            name: "assigning another type", source: "var a = 1\na = \"x\"",
            expected: "cannot assign a value of type String to `a` of type Int (line 2, column 3)"),
        Case(
            name: "mutating a let", source: "let xs = [1]\nxs.append(2)",
            expected: "cannot use mutating member `append` on `xs`: it is a `let` constant; declare it with `var` (line 2, column 1)"),
        Case(
            name: "condition not Bool", source: "if 1 { print(1) }",
            expected: "a condition must be a Bool, found Int (line 1, column 4)"),
        Case(
            name: "empty collection without a type", source: "var xs = []",
            expected: "an empty collection needs a type, e.g. `let xs: [Double] = []` (line 1, column 10)"),
        Case(
            name: "function result of the wrong type", source: "func f() -> Int { return \"x\" }\nprint(f())",
            expected: "`f` must return Int, found String (line 1, column 1)"),
        // Runtime failures where Swift would trap.
        Case(
            name: "index out of range", source: "let xs = [1, 2]\nprint(xs[5])",
            expected: "index 5 is out of range for an array of 2 elements (line 2, column 7)"),
        Case(
            name: "division by zero", source: "let z = 0\nprint(1 / z)",
            expected: "division by zero (line 2, column 9)"),
        Case(
            name: "overflow", source: "print(Int.max + 1)",
            expected: "arithmetic overflow in `+` (line 1, column 15)"),
        Case(
            name: "bad range", source: "for i in 5..<1 { print(i) }",
            expected: "a range needs lower <= upper, found 5..<1 (line 1, column 11)"),
        Case(
            name: "force unwrap of nil", source: "let x: Int? = nil\nprint(x!)",
            expected: "found nil while unwrapping with `!` (line 2, column 8)"),
        Case(
            name: "runaway recursion", source: "func f(_ n: Int) -> Int { f(n + 1) }\nprint(f(0))",
            expected: "calls nest deeper than 400 levels (runaway recursion?) (line 1, column 1)"),
        // Unsupported syntax, reported before anything runs.
        Case(
            name: "class declaration", source: "print(1)\n\nclass Model {}",
            expected: "unsupported syntax: `class` declarations are not part of the recipe language (line 3, column 1)"),
        Case(
            name: "struct declaration", source: "struct S {}",
            expected: "unsupported syntax: `struct` declarations are not part of the recipe language (line 1, column 1)"),
        Case(
            name: "switch", source: "let x = 1\nswitch x { default: print(x) }",
            expected: "unsupported syntax: `switch` is not part of the recipe language (line 2, column 1)"),
        Case(
            name: "optional chaining", source: "let xs: [Int]? = nil\nprint(xs?.count)",
            expected: "unsupported syntax: optional chaining (`?.`) is not part of the recipe language (line 2, column 7)"),
        Case(
            name: "throw", source: "func f() {\n    throw 1\n}",
            expected: "unsupported syntax: `throw` is not part of the recipe language (line 2, column 5)"),
        Case(
            name: "casts", source: "let x = 1 as Double",
            expected: "unsupported syntax: casts (`as`) are not part of the recipe language (line 1, column 11)"),
        Case(
            name: "importing another module", source: "import Darwin",
            expected:
                "unsupported syntax: importing `Darwin` is not part of the recipe language; a recipe may import Recipes and Foundation (line 1, column 1)"
        ),
        Case(
            name: "bitwise operators", source: "let x = 1 << 2",
            expected: "unsupported syntax: the operator `<<` is not part of the recipe language (line 1, column 11)"),
        Case(
            name: "inout", source: "func f(_ x: inout Int) {}",
            expected: "unsupported syntax: `inout` parameters are not part of the recipe language (line 1, column 13)"),
        // Syntax errors.
        Case(
            name: "missing operand", source: "let x = 1 +",
            expected: "syntax error: expected an expression (line 1, column 12)"),
        Case(
            name: "unclosed call", source: "print(1\nprint(2)",
            expected: "syntax error: expected `)` (line 1, column 8)"),
        Case(
            name: "chained comparison", source: "print(1 < 2 < 3)",
            expected: "syntax error: `<` and `<` cannot be chained; add parentheses (line 1, column 13)"),
    ]

    @Test(arguments: cases)
    func reports(_ c: Case) {
        #expect(failure(c.source) == c.expected)
    }

    @Test func unsupportedSyntaxStopsBeforeAnythingRuns() {
        let h = Harness()
        #expect(h.error("print(\"started\")\nstruct S {}").hasPrefix("unsupported syntax"))
        #expect(h.output.isEmpty)
    }

    @Test func fileNamesAppearInLocations() {
        let h = Harness()
        do {
            try h.interpreter.evaluate("print(x)", fileName: "recipes/a.swift")
            Issue.record("expected an error")
        } catch let error as RecipeError {
            #expect(error.description == "unknown name `x` (recipes/a.swift, line 1, column 7)")
            #expect(
                error.rendered(source: "print(x)") == """
                    error: unknown name `x` (recipes/a.swift, line 1, column 7)
                        print(x)
                              ^
                    """)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func errorsLeaveTheSessionUsable() throws {
        let h = Harness()
        try h.run("var n = 1")
        #expect(h.error("n = n / 0") == "division by zero (line 1, column 7)")
        #expect(try h.run("print(n)") == "1\n")
    }

    @Test func stepBudgetEndsEndlessLoops() {
        let h = Harness(stepLimit: 10_000)
        #expect(h.error("while true {}").hasPrefix("the recipe took more than 10000 steps"))
    }

    @Test func interruptStopsALoop() throws {
        let h = Harness(stepLimit: nil)
        let done = DispatchSemaphore(value: 0)
        var message = ""
        Thread.detachNewThread {
            message = h.error("var i = 0\nwhile true { i += 1 }")
            done.signal()
        }
        // Keep asking until the loop sees it (the interpreter clears the request when it starts).
        while done.wait(timeout: .now() + 0.05) == .timedOut { h.interpreter.requestInterrupt() }
        #expect(message.hasPrefix("interrupted"))
        #expect(try h.run("print(i > 0)") == "true\n")
    }
}

import Foundation

/// Names and builtin labels are checked before a recipe runs.
@Suite struct CheckerTests {
    @Test func typoOnTheLastLineStopsTheRecipeBeforeItStarts() {
        let h = Harness()
        #expect(h.error("print(\"training\")\nlet steps = 3\nprint(stepz)") == "unknown name `stepz`; did you mean `steps`? (line 3, column 7)")
        #expect(h.output.isEmpty)
        #expect(h.error("print(\"training\")\nprint(1, separater: \"-\")").hasPrefix("`print` has no argument `separater`"))
        #expect(h.output.isEmpty)
        #expect(
            h.error("print(\"a\")\nlet x = Double.pi\nlet y = String(repeatin: \"a\", count: 2)")
                == "`String` has no argument `repeatin`; did you mean `repeating`? (`String` is called as `String(_ value: Any) -> String` or `String(repeating: String, count: Int) -> String`) (line 3, column 16)"
        )
        #expect(h.output.isEmpty)
    }

    @Test func scopesFollowSwift() throws {
        // A top-level function sees globals declared below it; a variable shadows a builtin.
        #expect(try output("func show() { print(limit) }\nlet limit = 2\nshow()") == "2\n")
        #expect(try output("let max = 3\nprint(max)") == "3\n")
        #expect(try output("func twice(_ f: (Int) -> Int, _ x: Int) -> Int { f(f(x)) }\nprint(twice({ $0 + 1 }, 0))") == "2\n")
        // Names from a block are gone after it; loop variables stay inside the loop.
        #expect(failure("if true { let inner = 1 }\nprint(inner)") == "unknown name `inner` (line 2, column 7)")
        #expect(failure("for i in 0..<2 {}\nprint(i)") == "unknown name `i` (line 2, column 7)")
        #expect(failure("print(later)\nlet later = 1") == "unknown name `later` (line 1, column 7)")
        #expect(failure("let f = { print(y) }\nlet y = 1") == "unknown name `y` (line 1, column 17)")
        #expect(try output("func first(_ xs: [Int]) -> Int {\n  guard let f = xs.first else { return 0 }\n  return f\n}\nprint(first([4]))") == "4\n")
    }

    @Test func earlierInputsOfASessionAreKnown() throws {
        let h = Harness()
        try h.run("let fromEarlier = 5")
        #expect(try h.run("print(fromEarlier)") == "5\n")
    }
}

/// Strings built from shared parts are sized before they are built.
@Suite struct MaterializationTests {
    @Test func joiningRepeatedLongStringsIsALimitNotACrash() {
        let error = failure("let s = Array(repeating: String(repeating: \"x\", count: 9_000_000), count: 9_000_000).joined()")
        #expect(error.contains("too large"), "\(error)")
    }
}
