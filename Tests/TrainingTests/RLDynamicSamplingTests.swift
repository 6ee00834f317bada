// DAPO's dynamic sampling and overlong filtering in the online trainer.

import Alignment
import Datasets
import Foundation
import Testing
@testable import Training

extension RLTrainerTests {
    /// Dynamic sampling trains on groups whose rewards differ, samples replacements for the
    /// others, and logs how many it took; without it a rollout has one round and no such metrics.
    @Test func dynamicSamplingReplacesZeroVarianceGroups() throws {
        // DAPO's 0/1 reward: 1 for the exact answer.
        let exact = RewardSource.function { prompt, response, _ in RLFixture.task.score(prompt, response) == 1 ? 1 : 0 }
        let summary = try learn(.groupNorm, rollouts: 6, reward: exact) { o in
            o.dynamicFiltering = true
            o.maxNumGenBatches = 20
        }.summary
        let m = summary.lastRollout
        let zeroVariance = try #require(m["zero_variance_groups"]), filtered = try #require(m["filtered_groups"])
        // 0/1 scores: a group is filtered exactly when its scores all agree.
        #expect(filtered > 0 && zeroVariance == filtered, "filtered \(filtered), zero variance \(zeroVariance)")
        // Without reaching the cap every filtered group was replaced by exactly one new prompt.
        #expect(m["topped_up_groups"] == 0 && m["gen_batches"]! > 1)
        let extraGroups = m["extra_samples"]! / 4, generated = 16 + extraGroups
        #expect(abs(filtered * generated - extraGroups) < 1e-9, "\(extraGroups) extra groups for \(filtered * generated) filtered")
        let plain = try learn(.groupNorm, rollouts: 1).summary.lastRollout
        #expect(plain["zero_variance_groups"] == nil && plain["extra_samples"] == nil)
    }

    /// Overlong filtering in the trainer: with one token per response nearly every response is cut
    /// at generateMaxLen and counted as masked; the first step is on-policy, so the mean ratio over
    /// the tokens the loss keeps is 1 (it would not be if masked tokens entered the sum or the count).
    @Test func maskTruncatedCompletionsCountsWhatItMasks() throws {
        let masked = try learn(.groupNorm, rollouts: 1) { o in
            o.generateMaxLen = 1
            o.maskTruncatedCompletions = true
        }.summary.lastRollout
        let truncated = try #require(masked["truncated_masked"]), finished = try #require(masked["finished"])
        #expect(truncated > 0.5 && truncated == 1 - finished && finished > 0, "truncated \(truncated), finished \(finished)")
        #expect(abs(masked["ratio"]! - 1) < 1e-5)
        let unmasked = try learn(.groupNorm, rollouts: 1) { $0.generateMaxLen = 1 }.summary.lastRollout
        #expect(unmasked["truncated_masked"] == nil && unmasked["policy_loss"] != masked["policy_loss"])
    }
}

/// Overlong filtering where the loss reads it: a masked sample's actions leave the action mask and
/// the token count, while its log-probs are still laid out in the batch.
@Suite struct OverlongFilteringBatchTests {
    @Test func aMaskedSampleLeavesTheMaskAndTheCount() {
        func sample(_ response: [Int], masked: Bool) -> RolloutExperience {
            var s = RolloutExperience(
                promptIndex: 0, prompt: PromptExample(text: "p", ids: [5, 6]), responseIDs: response, responseText: "",
                finishReason: masked ? .length : .eos)
            s.actionLogProbs = response.map { _ in -1 }
            s.samplingLogProbs = s.actionLogProbs
            s.returns = s.actionLogProbs
            s.advantages = response.map { _ in 1 }
            s.lossMasked = masked
            return s
        }
        let buffer = ReplayBuffer([sample([1, 2, 3], masked: false), sample([4, 4], masked: true)])
        let batch = buffer.batch([0, 1], padTokenID: 0)
        #expect(batch.sequences.actionMask.data == [1, 1, 1, 0, 0, 0])
        #expect(batch.sequences.tokenCount == 3 && batch.sequences.unmaskedRows == 1)
        #expect(batch.oldLogProbs.data == [-1, -1, -1, -1, -1, 0])
    }
}
