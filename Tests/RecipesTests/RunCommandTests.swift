import FixtureSupport
import Foundation
import Recording
import Testing
@testable import Recipes

/// Recipe files with the RLHF builtins, and `rlhf run`.
@Suite struct RunCommandTests {
    static let repository = RegistryTests.repository

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
        #expect(
            result.stderr == """
                error: unknown name `stepz`; did you mean `steps`? (typo.swift, line 2, column 7)
                    print(stepz)
                          ^

                """)
        let unknown = try RLHFCommand.run(["run", "typo.swift", "--set", "stepz=4"], directory: dir)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no top-level `let stepz`; did you mean `steps`?"))
    }
}

/// `rlhf run` leaves one run file with the recipe, the overrides and the seed in it.
@Suite struct RunFileTests {
    @Test func runFileHoldsRecipeOverridesAndSeed() throws {
        let out = try RLHFCommand.temporaryDirectory()
        let result = try RLHFCommand.run(
            ["run", "recipes/hello.swift", "--set", "steps=3", "--out", out.path],
            directory: RunCommandTests.repository)
        #expect(result.status == 0, "\(result.stderr)")
        let reader = try RunReader(url: out.appendingPathComponent("run.h5"))
        let text = try String(contentsOf: RunCommandTests.repository.appendingPathComponent("recipes/hello.swift"), encoding: .utf8)
        #expect(reader.attributes["recipe"] == .string(text))
        #expect(reader.attributes["overrides"] == .strings(["steps=3"]))
        #expect(reader.attributes["seed"]?.intValue == 42)
        #expect(reader.status == "complete")
    }

    @Test func seedOptionWinsOverTheRecipe() throws {
        let out = try RLHFCommand.temporaryDirectory()
        let result = try RLHFCommand.run(
            ["run", "recipes/hello.swift", "--seed", "7", "--out", out.path],
            directory: RunCommandTests.repository)
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
