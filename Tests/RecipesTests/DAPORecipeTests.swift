import FixtureSupport
import Foundation
import Recording
import Testing

/// recipes/dapo.swift from its seed: dynamic sampling drops the groups whose rewards all agree
/// (and samples more to replace them), and held-out pass@1 rises.
@Suite struct DAPORecipeTests {
    @Test func dynamicSamplingRemovesZeroVarianceGroupsAndPassAt1Rises() throws {
        let out = try RLHFCommand.temporaryDirectory("dapo")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try RLHFCommand.run(["run", "recipes/dapo.swift", "--out", out.path], directory: RunCommandTests.repository)
        #expect(result.status == 0, "\(result.stderr)")
        let stage = try RunReader(path: out.appendingPathComponent("run.h5").path).stage("grpo")
        #expect(stage.config["dynamic_filtering_enable"]?.description == "true")

        // One row per optimizer step; two steps per rollout (64 samples, trainBatchSize 32).
        let generated = try stage.metric("zero_variance_groups"), trained = try stage.metric("trained_zero_variance_groups")
        let toppedUp = try stage.metric("topped_up_groups"), extra = try stage.metric("extra_samples")
        let rounds = try stage.metric("gen_batches")
        #expect(generated.contains { $0 > 0.2 }, "zero-variance groups were rare: \(generated)")
        #expect(extra.reduce(0, +) > 0 && rounds.contains { $0 > 1 }, "dynamic sampling never sampled more")
        for i in generated.indices where toppedUp[i] == 0 {
            #expect(trained[i] == 0, "step \(i + 1) trained on zero-variance groups without being topped up")
        }
        #expect(toppedUp.filter { $0 == 0 }.count > toppedUp.count / 2, "the round cap was reached most of the time: \(toppedUp)")

        let passAt1 = try stage.eval("sort_digits_pass1")
        let first = try #require(passAt1.first), last = try #require(passAt1.last)
        #expect(last > first + 0.1, "held-out pass@1 went from \(first) to \(last)")
    }
}
