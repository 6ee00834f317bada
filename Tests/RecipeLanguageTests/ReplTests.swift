import Foundation
import Testing
@testable import RecipeLanguage

/// The REPL's logic driven directly.
@Suite struct ReplTests {
    /// A REPL whose own output and the recipe's output land in one string.
    final class Driver {
        var text = ""
        let repl: Repl

        init() {
            var sink: ((String) -> Void)!
            repl = Repl(interpreter: Interpreter(host: TestHost(display: { sink($0.plainText) }))) { sink($0) }
            sink = { [unowned self] in self.text += $0 }
        }

        /// Submits each line; returns the output and the last outcome.
        @discardableResult
        func type(_ lines: String...) -> (String, Repl.Outcome) {
            text = ""
            var outcome = Repl.Outcome.done
            for line in lines { outcome = repl.submit(line) }
            return (text, outcome)
        }
    }

    @Test func completeInputNeedsClosedBracketsAndStrings() {
        #expect(Repl.isComplete("print(1)"))
        #expect(!Repl.isComplete("print(1,"))
        #expect(!Repl.isComplete("for i in 0..<3 {"))
        #expect(Repl.isComplete("for i in 0..<3 {\n  print(i)\n}"))
        #expect(!Repl.isComplete("let s = \"\"\"\nabc"))
        #expect(Repl.isComplete("let s = \"a (\""))
        #expect(Repl.isComplete("let s = \"\\(f(1))\""))
        #expect(!Repl.isComplete("let s = \"\\(f(1\""))
        #expect(Repl.isComplete("print(1) // (unclosed in a comment"))
        #expect(!Repl.isComplete("/* open comment"))
        #expect(Repl.isComplete("print(1))"))
    }

    @Test func multiLineInputWaitsForClosingBracket() {
        let d = Driver()
        #expect(d.type("func double(_ x: Int) -> Int {").1 == .needsMore)
        #expect(d.repl.prompt == "  ...  ")
        #expect(d.type("    return 2 * x").1 == .needsMore)
        #expect(d.type("}").1 == .done)
        #expect(d.repl.prompt == "rlhf> ")
        #expect(d.type("double(21)").0 == "42\n")
        #expect(d.type("print(1,", "  2)").0 == "1 2\n")
    }

    @Test func valuesAreShown() {
        let d = Driver()
        #expect(d.type("1 + 1").0 == "2\n")
        #expect(d.type("\"text\"").0 == "\"text\"\n")
        #expect(d.type("let x = 5").0 == "")
        #expect(d.type("Array(0..<100)").0.hasSuffix("… (100 elements)]\n"))
    }

    @Test func errorsDoNotEndTheSession() {
        let d = Driver()
        d.type("var total = 10")
        let (text, outcome) = d.type("total = total + missing")
        #expect(outcome == .done)
        #expect(
            text == """
                error: unknown name `missing` (line 1, column 17)
                    total = total + missing
                                    ^

                """)
        #expect(d.type("class A {}").0.contains("unsupported syntax: `class` declarations"))
        #expect(d.type("print(total)").0 == "10\n")
    }

    @Test func redeclaringALetReplacesIt() {
        let d = Driver()
        d.type("let beta = 0.1")
        d.type("let beta = 0.2")
        #expect(d.type("print(beta)").0 == "0.2\n")
    }

    @Test func helpCommands() {
        let d = Driver()
        let overview = d.type(":help").0
        #expect(overview.contains(":load"))
        #expect(overview.contains("print"))
        #expect(overview.contains("Math"))
        #expect(
            d.type(":help print").0.hasPrefix("print(_ items: Any..., separator: String = \" \", terminator: String = \"\\n\")\n    Writes the items")
        )
        #expect(d.type(":help Double.pi").0.hasPrefix("Double.pi: Double\n"))
        #expect(d.type(":help CharacterSet").0.contains("cases: .whitespaces, .whitespacesAndNewlines"))
        d.type("let xs = [1, 2]")
        #expect(d.type(":help xs").0.hasPrefix("let xs: [Int]\nmembers: "))
        #expect(d.type(":help language").0.contains("closures"))
        #expect(d.type(":hlep").0.hasPrefix("unknown command `:hlep`; did you mean `:help`?"))
    }

    @Test func varsResetLoadAndQuit() throws {
        let d = Driver()
        d.type("let steps = 3", "var names = [\"a\"]", "func f() {}")
        #expect(d.type(":vars").0 == "let steps: Int = 3\nvar names: [String] = [\"a\"]\nfunc f()\n")
        #expect(d.type(":reset").0 == "session reset\n")
        #expect(d.type(":vars").0 == "no variables yet\n")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("load-\(UUID()).swift")
        try "let loaded = 7\nprint(\"loaded\")".write(to: file, atomically: true, encoding: .utf8)
        #expect(d.type(":load \(file.path)").0 == "loaded\n")
        #expect(d.type("loaded * 2").0 == "14\n")
        #expect(d.type(":quit").1 == .quit)
    }

    @Test func completesBuiltinsVariablesLabelsAndMembers() {
        let d = Driver()
        d.type("let steps = 3", "let text = \"abc\"")
        let repl = d.repl
        #expect(repl.completions(in: "print(st").candidates.contains("steps"))
        #expect(repl.completions(in: "print(st").candidates.contains("stride"))
        #expect(repl.completions(in: "print(1, sep").candidates == ["separator:"])
        #expect(repl.completions(in: "print(1, separator: \",\", ").candidates.contains("terminator:"))
        #expect(!repl.completions(in: "print(1, separator: \",\", ").candidates.contains("separator:"))
        #expect(repl.completions(in: "text.upp") == (start: 5, candidates: ["uppercased"]))
        #expect(repl.completions(in: "Double.p").candidates == ["pi"])
        #expect(repl.completions(in: "x.trimmingCharacters(in: .wh").candidates == ["whitespaces", "whitespacesAndNewlines"])
        #expect(repl.completions(in: ":he") == (start: 0, candidates: [":help"]))
        #expect(repl.completions(in: ":help Double.p").candidates == ["Double.pi"])
        #expect(repl.completions(in: "for i in 0..<steps { pri").candidates == ["print"])
    }
}
