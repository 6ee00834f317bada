import FixtureSupport
import Foundation
import Testing

/// `rlhf run --resume` continues a run killed with SIGKILL: finished stages come back from their
/// final checkpoints, the interrupted one from its newest, and the run file equals an
/// uninterrupted run's (wall-clock timings aside).
@Suite(.serialized) struct ResumeTests {
    static let recipe = """
        import Recipes

        seed(5)
        let task = SyntheticTask.sortDigits(count: 256, evalCount: 16, digits: 3...4)
        let policy = Model.llama(hidden: 32, layers: 1, heads: 2)
        sft(policy, data: task.demonstrations, microTrainBatchSize: 16, trainBatchSize: 16, maxSteps: 8, saveSteps: 1)
        let reference = policy.frozen()
        dpo(policy, reference: reference, data: task.preferences, microTrainBatchSize: 16, trainBatchSize: 16, maxSteps: 6,
            saveSteps: 1)
        grpo(policy, reference: reference, prompts: task.prompts, nSamplesPerPrompt: 4, rolloutBatchSize: 4,
             microTrainBatchSize: 16, trainBatchSize: 16, generateMaxLen: 6, klEstimator: .k3, maxSteps: 6, saveSteps: 1)
        print(evaluate(policy, on: task.eval, maxNewTokens: 6))
        """
    static let steps = ["sft": 8, "dpo": 6, "grpo": 6]

    /// Starts `rlhf run` and kills it (SIGKILL) once `stage` has checkpointed step `step`.
    func runAndKill(_ recipe: URL, out: URL, stage: String, step: Int) throws {
        let process = Process()
        process.executableURL = RLHFCommand.executable
        process.arguments = ["run", recipe.path, "--out", out.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let marker = out.appendingPathComponent("checkpoints/\(stage)/step_\(step)")
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && !FileManager.default.fileExists(atPath: marker.path) && Date() < deadline {
            usleep(2_000)
        }
        let killed = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(killed, "the run ended before \(stage) reached step \(step)")
    }

    @Test(arguments: ["sft", "dpo", "grpo"])
    func killedRunResumesToTheSameRunFile(stage: String) throws {
        let dir = try RLHFCommand.temporaryDirectory("resume-\(stage)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("three.swift")
        try Self.recipe.write(to: recipe, atomically: true, encoding: .utf8)

        let whole = dir.appendingPathComponent("whole")
        let uninterrupted = try RLHFCommand.run(["run", recipe.path, "--out", whole.path], directory: dir)
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        let step = Int.random(in: 1..<Self.steps[stage]!)
        let out = dir.appendingPathComponent("killed")
        try runAndKill(recipe, out: out, stage: stage, step: step)
        let resumed = try RLHFCommand.run(["run", recipe.path, "--out", out.path, "--resume"], directory: dir)
        #expect(resumed.status == 0, "killed in \(stage) after step \(step): \(resumed.stderr)")
        #expect(resumed.stdout == uninterrupted.stdout)
        let differing = try differingRunFileDatasets(whole.appendingPathComponent("run.h5"), out.appendingPathComponent("run.h5"))
        #expect(differing.isEmpty, "killed in \(stage) after step \(step): \(differing.prefix(8))")
    }

    @Test func aChangedRecipeIsRefusedUnlessForced() throws {
        let dir = try RLHFCommand.temporaryDirectory("resume-changed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("three.swift")
        try Self.recipe.write(to: recipe, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("run")
        try runAndKill(recipe, out: out, stage: "dpo", step: 2)

        try Self.recipe.replacingOccurrences(of: "klEstimator: .k3", with: "klEstimator: .k2")
            .write(to: recipe, atomically: true, encoding: .utf8)
        let refused = try RLHFCommand.run(["run", recipe.path, "--out", out.path, "--resume"], directory: dir)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--force"), "\(refused.stderr)")

        let forced = try RLHFCommand.run(["run", recipe.path, "--out", out.path, "--resume", "--force"], directory: dir)
        #expect(forced.status == 0, "\(forced.stderr)")
        let alone = try RLHFCommand.run(["run", recipe.path, "--out", out.path, "--force"], directory: dir)
        #expect(alone.status != 0 && alone.stderr.contains("--force goes with --resume"), "\(alone.stderr)")
    }
}
