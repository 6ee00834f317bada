import ArgumentParser
import Foundation
import Recipes

/// `rlhf docs`: writes what is generated from the builtin registry — the recipe reference
/// (docs/recipes.md) and the compiled Swift API of `import Recipes`.
struct DocsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docs",
        abstract: "Write the recipe reference (docs/recipes.md) and the generated Swift API from the builtin registry.")

    @Option(help: "The repository to write into.")
    var root: String = "."

    @Flag(help: "Fail if a file differs from the registry instead of writing it.")
    var check = false

    func run() throws {
        let files = [("docs/recipes.md", Reference.markdown(.recipes)), (SwiftAPI.path, SwiftAPI.source())]
        var stale: [String] = []
        for (path, text) in files {
            let url = URL(fileURLWithPath: root).appendingPathComponent(path)
            if check {
                if (try? String(contentsOf: url, encoding: .utf8)) != text { stale.append(path) }
                continue
            }
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            print("wrote \(path)")
        }
        if check {
            guard stale.isEmpty else {
                FileHandle.standardError.write(Data("\(stale.joined(separator: ", ")) out of date: run `swift run rlhf docs`\n".utf8))
                throw ExitCode.failure
            }
            print("\(files.map(\.0).joined(separator: ", ")) up to date")
        }
    }
}
