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

    /// Each string is under the element limit; together they would take 400 GB. They stop at the
    /// budget with a located error, not an abort; the joined string is refused too.
    @Test func theRecipesStringsCountAgainstOneTotal() throws {
        let many = try run(
            "var xs: [String] = []\nfor i in 0..<100000 { xs.append(String(repeating: \"x\", count: 4_000_000) + \"\\(i)\") }\n",
            ["--memory-limit", "250M"])
        #expect(many.status == 1, "\(many.status) \(many.stderr)")
        #expect(many.stderr.contains("line 2") && many.stderr.contains("past the memory budget of 250 MB"), "\(many.stderr)")
        let joined = try run(
            "let s = Array(repeating: String(repeating: \"x\", count: 9_000_000), count: 9_000_000).joined()\nprint(s.count)\n", [])
        #expect(joined.status == 1, "\(joined.status) \(joined.stderr)")
        #expect(joined.stderr.contains("line 1"), "\(joined.stderr)")
        let fits = try run(
            "var xs: [String] = []\nfor i in 0..<20 { xs.append(String(repeating: \"x\", count: 1_000_000)) }\nprint(xs.count)\n",
            ["--memory-limit", "250M"])
        #expect(fits.status == 0 && fits.stdout == "20\n", "\(fits.stderr)")
    }

    /// GRPO's estimate (policy, reference, optimizer state, rollout batch) is checked before it starts.
    @Test func onlineTrainingBeyondTheLimitIsRefusedBeforeItStarts() throws {
        let recipe = """
            let task = SyntheticTask.sortDigits(count: 4000, evalCount: 8)
            let policy = Model.llama(hidden: 64, layers: 2, heads: 4)
            grpo(policy, reference: policy.frozen(), prompts: task.prompts, reward: { p, r in task.score(p, r) },
                 nSamplesPerPrompt: 64, rolloutBatchSize: 4000, generateMaxLen: 512)
            """
        let result = try run(recipe, ["--memory-limit", "256M"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("grpo: the policy, reference, optimizer state and a rollout batch of rolloutBatchSize 4000")
                && result.stderr.contains("more than the memory budget of 256.0 MB"), "\(result.stderr)")
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
