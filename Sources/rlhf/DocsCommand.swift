import ArgumentParser
import Foundation
import Recipes

/// `rlhf docs`: writes the recipe reference, docs/recipes.md, from the builtin registry.
struct DocsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docs",
        abstract: "Write the recipe reference (docs/recipes.md) from the builtin registry.")

    @Option(help: "Where to write the reference.")
    var output: String = "docs/recipes.md"

    @Flag(help: "Fail if the file differs from the registry instead of writing it.")
    var check = false

    func run() throws {
        let text = Reference.markdown(.recipes)
        if check {
            guard (try? String(contentsOfFile: output, encoding: .utf8)) == text else {
                FileHandle.standardError.write(Data("\(output) is out of date: run `swift run rlhf docs`\n".utf8))
                throw ExitCode.failure
            }
            print("\(output) is up to date")
            return
        }
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: output).deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(toFile: output, atomically: true, encoding: .utf8)
        print("wrote \(output)")
    }
}
