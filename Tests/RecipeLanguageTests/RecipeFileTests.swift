import Foundation
import Testing
@testable import RecipeLanguage

/// Recipe files: `--set` overrides and what a recipe may read and write.
@Suite struct RecipeFileTests {
    func run(_ recipe: Recipe) throws -> String {
        let h = Harness()
        try h.interpreter.run(recipe)
        return h.output
    }

    @Test func overridesReplaceTopLevelLets() throws {
        var recipe = Recipe(
            text: """
                let steps = 3
                let learningRate = 1e-3
                let name = "base"
                let sizes = [1, 2]
                print(steps, learningRate, name, sizes)
                """, fileName: "sweep.swift")
        try recipe.override("steps", with: "5")
        try recipe.override(assignment: "learningRate=1")
        try recipe.override(assignment: "name=tuned")
        try recipe.override(assignment: "sizes=[4, 8]")
        #expect(try run(recipe) == "5 1.0 tuned [4, 8]\n")
        #expect(recipe.overrides.map(\.name) == ["steps", "learningRate", "name", "sizes"])
    }

    @Test func overrideOfAnUnknownNameIsAnError() {
        var recipe = Recipe(text: "let steps = 3\nlet beta = 0.1", fileName: "a.swift")
        #expect(throws: RecipeError.self) { try recipe.override("stpes", with: "1") }
        do {
            try recipe.override("stpes", with: "1")
        } catch {
            #expect("\(error)" == "--set stpes: the recipe has no top-level `let stpes`; did you mean `steps`?")
        }
        do {
            try recipe.override("gamma", with: "1")
        } catch {
            #expect("\(error)" == "--set gamma: the recipe has no top-level `let gamma`; its top-level lets are `steps`, `beta`")
        }
        do {
            try recipe.override("beta", with: "not a number")
        } catch {
            #expect("\(error)".hasPrefix("--set beta=not a number: the value must be a literal"))
        }
    }

    @Test func overriddenValueErrorsPointIntoTheRecipe() {
        var recipe = Recipe(text: "let steps = 3\nprint(sqrt(steps))", fileName: "a.swift")
        try? recipe.override("steps", with: "\"many\"")
        let h = Harness()
        #expect(throws: RecipeError.self) { try h.interpreter.run(recipe) }
    }

    @Test func writesStayInsideTheOutputFolder() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("safety-\(UUID())")
        var sandbox = FileSandbox(outputDirectory: out)
        #expect(try sandbox.writableURL("charts/a.svg").path == out.appendingPathComponent("charts/a.svg").resolvedForChecking.path)
        #expect(throws: RecipeError.self) { try sandbox.writableURL("../escape.txt") }
        #expect(throws: RecipeError.self) { try sandbox.writableURL("/etc/passwd") }
        #expect(throws: RecipeError.self) { try sandbox.readableURL("/etc/passwd") }
        sandbox.readableRoots = [URL(fileURLWithPath: "/etc")]
        #expect(try sandbox.readableURL("/etc/passwd").path == "/etc/passwd")
        // A link inside the output folder cannot lead a write outside it.
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent("link"), withDestinationURL: URL(fileURLWithPath: "/tmp"))
        #expect(throws: RecipeError.self) { try sandbox.writableURL("link/file.txt") }
    }

    /// A scratch folder with `out/` (the output folder) and `outside/` beside it.
    private func scratch() throws -> (out: URL, outside: URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("links-\(UUID())")
        let out = root.appendingPathComponent("out"), outside = root.appendingPathComponent("outside")
        for folder in [out, outside] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        return (out, outside)
    }

    @Test func aDanglingLinkIsNotAWayOut() throws {
        let (out, outside) = try scratch()
        try FileManager.default.createSymbolicLink(
            atPath: out.appendingPathComponent("dangle.jsonl").path, withDestinationPath: "../outside/created.jsonl")
        let sandbox = FileSandbox(outputDirectory: out)
        let message = "\(try #require(throws: RecipeError.self) { try sandbox.writableURL("dangle.jsonl") })"
        #expect(message.contains("symbolic link"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: outside.appendingPathComponent("created.jsonl").path))
        // Reading through it is refused too, as is a path through a dangling folder link.
        #expect(throws: RecipeError.self) { try sandbox.readableURL(out.appendingPathComponent("dangle.jsonl").path) }
        try FileManager.default.createSymbolicLink(atPath: out.appendingPathComponent("gone").path, withDestinationPath: "../nowhere")
        #expect(throws: RecipeError.self) { try sandbox.writableURL("gone/file.txt") }
    }

    @Test func aLinkAtTheDestinationIsRefusedEvenWhenItStaysInside() throws {
        let (out, outside) = try scratch()
        let target = outside.appendingPathComponent("bashrc")
        try "keep".write(to: target, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent("run.h5"), withDestinationURL: target)
        try "inside".write(to: out.appendingPathComponent("real.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            at: out.appendingPathComponent("alias.txt"), withDestinationURL: out.appendingPathComponent("real.txt"))
        let sandbox = FileSandbox(outputDirectory: out)
        #expect(throws: RecipeError.self) { try sandbox.writableURL("run.h5") }
        #expect(throws: RecipeError.self) { try sandbox.writableURL("alias.txt") }
        // Reading follows a link that stays inside, and refuses one that leaves.
        #expect(try sandbox.readableURL(out.appendingPathComponent("alias.txt").path).lastPathComponent == "real.txt")
        #expect(throws: RecipeError.self) { try sandbox.readableURL(out.appendingPathComponent("run.h5").path) }
        #expect(try String(contentsOf: target, encoding: .utf8) == "keep")
    }

    @Test func aLinkedFolderMidPathIsFollowedAndChecked() throws {
        let (out, outside) = try scratch()
        try FileManager.default.createDirectory(at: out.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent("inner"), withDestinationURL: out.appendingPathComponent("data"))
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent("escape"), withDestinationURL: outside)
        let sandbox = FileSandbox(outputDirectory: out)
        // A folder link that stays inside leads to the real folder.
        #expect(try sandbox.writableURL("inner/new/file.txt").path == out.appendingPathComponent("data/new/file.txt").resolvedForChecking.path)
        // One that leaves is refused, however deep the rest of the path, and with `..` after it.
        for path in ["escape/file.txt", "escape/a/b/c.txt", "inner/../escape/x.txt"] {
            let message = "\(try #require(throws: RecipeError.self) { try sandbox.writableURL(path) })"
            #expect(message.contains("outside"), "\(path): \(message)")
        }
        #expect(throws: RecipeError.self) { try sandbox.readableURL(out.appendingPathComponent("escape/x").path) }
        // The output folder itself may be a link (a results folder on another disk): writes go to its target.
        let linkedOut = outside.deletingLastPathComponent().appendingPathComponent("linked-out")
        try FileManager.default.createSymbolicLink(at: linkedOut, withDestinationURL: out)
        #expect(try FileSandbox(outputDirectory: linkedOut).writableURL("a.txt").path == out.appendingPathComponent("a.txt").resolvedForChecking.path)
    }
}
