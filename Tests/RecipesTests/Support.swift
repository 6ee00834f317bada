import Foundation
@testable import RecipeLanguage
@testable import Recipes

/// A session whose output is captured, and an interpreter over it, for tests.
final class Harness {
    var output = ""
    var items: [OutputItem] = []
    let session: Session
    let interpreter: Interpreter

    init(stepLimit: Int? = 1_000_000) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recipes-test-\(UUID().uuidString)")
        var captured: ((OutputItem) -> Void)!
        session = Session(outputDirectory: directory, display: { captured($0) }, progressStyle: .silent)
        interpreter = Interpreter(host: session)
        interpreter.stepLimit = stepLimit
        captured = { [unowned self] item in
            self.items.append(item)
            self.output += item.plainText
        }
    }

    /// Runs `source` and returns what it printed.
    @discardableResult
    func run(_ source: String) throws -> String {
        output = ""
        try interpreter.evaluate(source)
        return output
    }

    /// The error `source` raises, as text; "no error" when it runs.
    func error(_ source: String) -> String {
        do {
            try interpreter.evaluate(source)
            return "no error"
        } catch {
            return "\(error)"
        }
    }
}

/// Runs `source` in a fresh session and returns what it printed.
func output(_ source: String) throws -> String {
    try Harness().run(source)
}

/// The error `source` raises in a fresh session.
func failure(_ source: String) -> String {
    Harness().error(source)
}
