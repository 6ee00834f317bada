import FixtureSupport
import Foundation
import Recording
import Testing

/// recipes/on_policy_distillation.swift from its seed: the student's own samples, scored by the
/// teacher, raise its held-out accuracy; the run file logs its rollouts as RL's are logged, and the
/// teacher budget stays within kd's.
@Suite struct OnPolicyDistillationRecipeTests {
    @Test func onPolicyDistillationImprovesTheStudent() throws {
        let out = try RLHFCommand.temporaryDirectory("opd")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try RLHFCommand.run(
            ["run", "recipes/on_policy_distillation.swift", "--out", out.path], directory: RunCommandTests.repository)
        #expect(result.status == 0, "\(result.stderr)")
        /// `exact_match` and `sort_digits_pass1` of the line that starts with `label`.
        func scores(_ label: String) throws -> (exact: Double, pass1: Double) {
            let line = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix(label + " exact_match") })
            let words = line.split(separator: " ").map { String($0).trimmingCharacters(in: .punctuationCharacters) }
            let exact = try #require(Double(words[words.firstIndex(of: "exact_match")! + 1]))
            let pass1 = try #require(Double(words[words.firstIndex(of: "sort_digits_pass1")! + 1]))
            return (exact, pass1)
        }
        let start = try scores("student"), distilled = try scores("on-policy"), kd = try scores("kd")
        #expect(distilled.exact > start.exact + 0.1 && distilled.pass1 > start.pass1 + 0.02, "\(start) → \(distilled)")
        // At this seed it is ahead of kd on both (a margin within the evaluation's spread; see the recipe).
        #expect(distilled.exact > kd.exact && distilled.pass1 > kd.pass1, "on-policy \(distilled), kd \(kd)")
        let budget = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("teacher tokens") })
        #expect(Double(budget.split(separator: " ").last!)! <= 60 * 32 * 4.5)

        let stage = try RunReader(path: out.appendingPathComponent("run.h5").path).stage("on_policy_distillation")
        #expect(stage.committedSteps == 55)
        for name in ["loss", "reward", "response_length", "teacher_tokens", "grad_norm"] {
            #expect(stage.metricNames.contains(name), "metric \(name) missing")
        }
        let losses = try stage.metric("loss")
        #expect(losses.suffix(10).reduce(0, +) < losses.prefix(10).reduce(0, +), "the reverse KL did not fall: \(losses)")
        let sample = try #require(try stage.rollouts().first).sample
        #expect(sample.advantages.count == sample.responseIDs.count && sample.responseText != nil)
    }
}
