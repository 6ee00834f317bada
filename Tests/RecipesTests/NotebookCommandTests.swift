import FixtureSupport
import Foundation
import Testing
@testable import Recipes

/// Notebooks with the RLHF builtins, and `rlhf notebook` checking committed results.
@Suite struct NotebookCommandTests {
    static let repository = RegistryTests.repository

    @Test func rerunsGiveIdenticalBytes() throws {
        let markdown = try String(contentsOf: Self.repository.appendingPathComponent("notebooks/quickstart.md"), encoding: .utf8)
        let notebook = Notebook(markdown: markdown)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nb-\(UUID())")
        let first = notebook.run(name: "quickstart", source: "notebooks/quickstart.md", outputDirectory: directory)
        let second = notebook.run(name: "quickstart", source: "notebooks/quickstart.md", outputDirectory: directory)
        #expect(first.failedCells == 0)
        #expect(first.markdown == second.markdown)
        #expect(first.files.map(\.contents) == second.files.map(\.contents))
    }

    /// Every committed notebook result is what a fresh run writes (`rlhf notebook --check`).
    @Test func committedNotebooksAreUpToDate() throws {
        let folder = Self.repository.appendingPathComponent("notebooks")
        let notebooks = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".md") }.sorted()
        for name in ["quickstart.md", "length_bias.md", "reward_overoptimization.md", "dpo_frontier.md"] {
            #expect(notebooks.contains(name), "notebooks/\(name) is missing")
        }
        for name in notebooks {
            let result = try RLHFCommand.run(["notebook", "--check", "notebooks/\(name)"], directory: Self.repository)
            #expect(result.status == 0, "notebooks/\(name): \(result.stderr)")
        }
    }

    @Test func checkFailsWhenTheResultIsStale() throws {
        let dir = try RLHFCommand.temporaryDirectory()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("notebooks"), withIntermediateDirectories: true)
        try "```swift\nprint(1)\n```\n".write(to: dir.appendingPathComponent("notebooks/n.md"), atomically: true, encoding: .utf8)
        let write = try RLHFCommand.run(["notebook", "notebooks/n.md"], directory: dir)
        #expect(write.status == 0, "\(write.stderr)")
        #expect(try RLHFCommand.run(["notebook", "--check", "notebooks/n.md"], directory: dir).status == 0)
        try "```swift\nprint(2)\n```\n".write(to: dir.appendingPathComponent("notebooks/n.md"), atomically: true, encoding: .utf8)
        let check = try RLHFCommand.run(["notebook", "--check", "notebooks/n.md"], directory: dir)
        #expect(check.status != 0)
        #expect(check.stderr.contains("line 4:\n    committed: print(1)\n    now:       print(2)"))
    }
}
