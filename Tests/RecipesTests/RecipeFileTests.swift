import FixtureSupport
import Foundation
import Testing
@testable import Recipes

/// Recipe files: `--set` overrides, `rlhf run`, what a recipe may read and write.
@Suite struct RecipeFileTests {
    static let repository = RegistryTests.repository

    func run(_ recipe: Recipe) throws -> String {
        let h = Harness()
        try h.interpreter.run(recipe)
        return h.output
    }

    @Test func overridesReplaceTopLevelLets() throws {
        var recipe = Recipe(text: """
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

    @Test func helloRecipeRuns() throws {
        let recipe = try Recipe(contentsOf: Self.repository.appendingPathComponent("recipes/hello.swift"), fileName: "recipes/hello.swift")
        let h = Harness()
        try h.interpreter.run(recipe)
        #expect(h.output.hasPrefix("final loss 0.221, best 0.221\nbelow 0.55 from step 4\n"))
        #expect(h.session.seed == 42)
        guard case .table(let table)? = h.items.last else {
            Issue.record("expected a table")
            return
        }
        #expect(table.columns == ["step", "loss"])
        #expect(table.rows.count == 10)
    }

    @Test func runCommandAppliesSetAndSeed() throws {
        let out = try RLHFCommand.temporaryDirectory()
        let result = try RLHFCommand.run(
            ["run", "recipes/hello.swift", "--set", "steps=3", "--set", "decay=0.5", "--seed", "7", "--out", out.path],
            directory: Self.repository)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("final loss 0.325, best 0.325\nbelow 0.55 from step 2\n"))
    }

    @Test func runCommandReportsErrorsWithTheSourceLine() throws {
        let dir = try RLHFCommand.temporaryDirectory()
        try "let steps = 3\nprint(stepz)\n".write(to: dir.appendingPathComponent("typo.swift"), atomically: true, encoding: .utf8)
        let result = try RLHFCommand.run(["run", "typo.swift", "--out", dir.appendingPathComponent("out").path], directory: dir)
        #expect(result.status != 0)
        #expect(result.stderr == """
            error: unknown name `stepz`; did you mean `steps`? (typo.swift, line 2, column 7)
                print(stepz)
                      ^

            """)
        let unknown = try RLHFCommand.run(["run", "typo.swift", "--set", "stepz=4"], directory: dir)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no top-level `let stepz`; did you mean `steps`?"))
    }

    @Test func writesStayInsideTheOutputFolder() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("safety-\(UUID())")
        let session = Session(outputDirectory: out, display: { _ in })
        #expect(try session.writableURL("charts/a.svg").path == out.appendingPathComponent("charts/a.svg").resolvedForChecking.path)
        #expect(throws: RecipeError.self) { try session.writableURL("../escape.txt") }
        #expect(throws: RecipeError.self) { try session.writableURL("/etc/passwd") }
        #expect(throws: RecipeError.self) { try session.readableURL("/etc/passwd") }
        session.readableRoots = [URL(fileURLWithPath: "/etc")]
        #expect(try session.readableURL("/etc/passwd").path == "/etc/passwd")
        // A link inside the output folder cannot lead a write outside it.
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent("link"), withDestinationURL: URL(fileURLWithPath: "/tmp"))
        #expect(throws: RecipeError.self) { try session.writableURL("link/file.txt") }
    }
}

import Recording

/// `rlhf run` leaves one run file with the recipe, the overrides and the seed in it.
@Suite struct RunFileTests {
    @Test func runFileHoldsRecipeOverridesAndSeed() throws {
        let out = try RLHFCommand.temporaryDirectory()
        let result = try RLHFCommand.run(["run", "recipes/hello.swift", "--set", "steps=3", "--out", out.path],
                                         directory: RecipeFileTests.repository)
        #expect(result.status == 0, "\(result.stderr)")
        let reader = try RunReader(url: out.appendingPathComponent("run.h5"))
        let text = try String(contentsOf: RecipeFileTests.repository.appendingPathComponent("recipes/hello.swift"), encoding: .utf8)
        #expect(reader.attributes["recipe"] == .string(text))
        #expect(reader.attributes["overrides"] == .strings(["steps=3"]))
        #expect(reader.attributes["seed"]?.intValue == 42)
        #expect(reader.status == "complete")
    }

    @Test func seedOptionWinsOverTheRecipe() throws {
        let out = try RLHFCommand.temporaryDirectory()
        let result = try RLHFCommand.run(["run", "recipes/hello.swift", "--seed", "7", "--out", out.path],
                                         directory: RecipeFileTests.repository)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try RunReader(url: out.appendingPathComponent("run.h5")).attributes["seed"]?.intValue == 7)
    }

    @Test func failedRunKeepsAReadableRunFile() throws {
        let dir = try RLHFCommand.temporaryDirectory()
        try "seed(3)\nprint([1][4])\n".write(to: dir.appendingPathComponent("fails.swift"), atomically: true, encoding: .utf8)
        let result = try RLHFCommand.run(["run", "fails.swift", "--out", "out"], directory: dir)
        #expect(result.status != 0)
        let reader = try RunReader(url: dir.appendingPathComponent("out/run.h5"))
        #expect(reader.status == "failed")
        #expect(reader.error?.message == "index 4 is out of range for an array of 1 elements (fails.swift, line 2, column 7)")
    }
}
