import Foundation
import Testing
@testable import Recipes

/// The session builtins in recipes and in the REPL: `seed`, checked as every builtin call is.
@Suite struct SessionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var source: String
        var expected: String
        var testDescription: String { name }
    }

    static let errors: [Case] = [
        Case(
            name: "unknown builtin", source: "sed(3)",
            expected: "unknown name `sed`; did you mean `seed`? (line 1, column 1)"),
        Case(
            name: "extraneous label", source: "seed(value: 3)",
            expected: "`seed` has no argument `value`; it takes no labeled arguments (line 1, column 6)"),
        Case(
            name: "too many arguments", source: "seed(1, 2)",
            expected: "`seed` takes 1 argument but 2 were given (line 1, column 9)"),
        Case(
            name: "wrong argument type", source: "seed(\"forty-two\")",
            expected: "`seed` argument `value` expects Int, found String (line 1, column 6)"),
    ]

    @Test(arguments: errors)
    func reports(_ c: Case) {
        #expect(failure(c.source) == c.expected)
    }

    @Test func seedIsAccepted() throws {
        let h = Harness()
        #expect(try h.run("seed(7)\nprint(1)") == "1\n")
        #expect(h.session.seed == 7)
    }

    @Test func replHelpCompletionAndReset() {
        var text = ""
        let session = Session(
            outputDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("repl-\(UUID())"),
            display: { text += $0.plainText }, progressStyle: .silent)
        let repl = Repl(interpreter: Interpreter(host: session)) { text += $0 }
        _ = repl.submit(":help sede")
        #expect(text == "no builtin, type or variable named `sede`; did you mean `seed`?\n")
        #expect(repl.completions(in: "se").candidates == ["seed"])
        _ = repl.submit("seed(5)")
        #expect(session.seed == 5)
        text = ""
        _ = repl.submit(":reset")
        #expect(text == "session reset\n")
        #expect(session.seed == nil)
    }
}
