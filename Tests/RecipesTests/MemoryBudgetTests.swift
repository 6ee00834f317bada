import FixtureSupport
import Foundation
import Testing

/// `--memory-limit` and `--threads` bound what `rlhf run` may take.
@Suite struct MemoryBudgetTests {
    func run(_ recipe: String, _ options: [String]) throws -> RLHFCommand.Output {
        let dir = try RLHFCommand.temporaryDirectory()
        try recipe.write(to: dir.appendingPathComponent("r.swift"), atomically: true, encoding: .utf8)
        return try RLHFCommand.run(["run", "r.swift", "--out", "out"] + options, directory: dir)
    }

    @Test func aModelBeyondTheLimitIsRefused() throws {
        let result = try run("let m = Model.llama(hidden: 256, layers: 4, heads: 4)\nprint(m.parameterCount)\n", ["--memory-limit", "1M"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("more than the memory budget of 1.0 MB"), "\(result.stderr)")
        #expect(result.stderr.contains("line 1"), "\(result.stderr)")
        let fits = try run("let m = Model.llama(hidden: 256, layers: 4, heads: 4)\nprint(m.parameterCount)\n", ["--memory-limit", "64M"])
        #expect(fits.status == 0, "\(fits.stderr)")
    }

    @Test func trainingBeyondTheLimitIsRefusedBeforeItStarts() throws {
        let recipe = """
            let task = SyntheticTask.sortDigits(count: 64, evalCount: 8)
            let policy = Model.llama(hidden: 64, layers: 2, heads: 4)
            sft(policy, data: task.demonstrations, microTrainBatchSize: 64, trainBatchSize: 64, maxLen: 4096)
            """
        let result = try run(recipe, ["--memory-limit", "64M"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("sft: training") && result.stderr.contains("memory budget"), "\(result.stderr)")
    }

    @Test func limitsAreValidated() throws {
        for (option, message) in [
            (["--threads", "1000000"], "--threads must be between 1 and 256"), (["--threads", "0"], "--threads must be between 1 and 256"),
            (["--memory-limit", "lots"], "--memory-limit takes a positive size"),
        ] {
            let result = try run("print(1)\n", option)
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(option): \(result.stderr)")
        }
    }
}
