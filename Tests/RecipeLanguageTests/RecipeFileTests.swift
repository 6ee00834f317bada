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
}
