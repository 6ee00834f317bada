import Foundation
@testable import RecipeLanguage

/// A host of the language alone: the language's builtins, what recipes show handed to `display`,
/// and files read and written inside a fresh scratch folder.
final class TestHost: RecipeHost {
    let registry = Registry.language
    var display: (OutputItem) -> Void
    let sandbox: FileSandbox

    init(display: @escaping (OutputItem) -> Void = { _ in }) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-language-\(UUID().uuidString)")
        sandbox = FileSandbox(outputDirectory: directory)
        self.display = display
    }

    func readableURL(_ path: String) throws -> URL { try sandbox.readableURL(path) }
    func writableURL(_ path: String) throws -> URL { try sandbox.writableURL(path) }
    /// The language keeps nothing outside the interpreter's variables.
    func reset() {}
}

/// A host whose output is captured, and an interpreter over it, for tests.
final class Harness {
    var output = ""
    var items: [OutputItem] = []
    let host: TestHost
    let interpreter: Interpreter

    init(stepLimit: Int? = 1_000_000) {
        var captured: ((OutputItem) -> Void)!
        host = TestHost(display: { captured($0) })
        interpreter = Interpreter(host: host)
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

/// The repository's root folder.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
