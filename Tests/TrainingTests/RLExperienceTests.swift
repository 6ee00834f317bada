// Experience making piece by piece: the training forward reads the sampler's tokens at the right
// positions, rewards from every kind of source, the KL as a mean over valid tokens, and one exact
// token mean per optimizer step whatever the micro-batch size.

import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Testing
import Training

@Suite(.serialized) struct RLExperienceTests {
    func maker(
        _ policy: CausalLM, reference: CausalLM? = nil, critic: ScalarModel? = nil, reward: RewardSource = RLFixture.reward,
        configure: (inout PPOOptions) -> Void = { _ in }
    ) -> ExperienceMaker {
        var options = RLFixture.options(.groupNorm)
        options.microRolloutBatchSize = 5
        configure(&options)
        return ExperienceMaker(
            actor: policy, reference: reference, critic: critic, reward: reward, tokenizer: RLFixture.tokenizer,
            options: options)
    }

    func prompts(_ n: Int) -> [(index: Int, example: PromptExample)] {
        RLFixture.trainPrompts.prefix(n).enumerated().map { ($0.offset, $0.element) }
    }

    @Test func recomputedLogProbsAreTheSamplersAtEveryActionPosition() throws {
        let policy = RLFixture.policy()
        let m = maker(policy)
        var samples = try m.generate(prompts(6), n: 3, temperature: 1, rng: RNG(seed: 4))
        #expect(samples.count == 18)
        #expect(Set(samples.map(\.responseIDs.count)).count > 1, "want responses of several lengths in one micro-batch")
        try m.score(&samples, what: "test")
        for s in samples {
            #expect(s.actionLogProbs.count == s.responseIDs.count)
            let worst = zip(s.actionLogProbs, s.samplingLogProbs).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "training forward and sampler disagree by \(worst)")
            #expect(s.reward == RLFixture.task.score(s.prompt.text, s.responseText))
            #expect(s.kl.allSatisfy { $0 == 0 })
        }
        // The copies of one prompt are contiguous.
        #expect(samples.map(\.promptIndex) == (0..<6).flatMap { [Int](repeating: $0, count: 3) })
    }

    /// DAPO's overlong penalty lowers the reward of every response by its share of the buffer
    /// before any baseline, and the rollout statistics count them and measure sampler vs trainer.
    @Test func overlongPenaltyShapesTheRewardBeforeTheBaseline() throws {
        let policy = RLFixture.policy()
        let m = maker(policy) { o in
            o.overlongBufferLen = 8
            o.overlongPenaltyFactor = 0.5
        }
        var samples = try m.generate(prompts(4), n: 4, temperature: 1, rng: RNG(seed: 6))
        try m.score(&samples, what: "test")
        for s in samples {
            let penalty = -Double(s.responseIDs.count) / 8 * 0.5
            #expect(s.overlongPenalty == penalty)
            #expect(s.reward == RLFixture.task.score(s.prompt.text, s.responseText) + penalty)
        }
        let statistics = try m.computeAdvantages(&samples, klCoef: 0)
        #expect(statistics.overlongPenalized == 1)
        #expect(statistics.logprobsDiffMax < 1e-4 && statistics.logprobsDiffMean <= statistics.logprobsDiffMax)
        var worst = 0.0
        for s in samples { for (p, q) in zip(s.samplingLogProbs, s.actionLogProbs) { worst = max(worst, abs(Double(p) - Double(q))) } }
        #expect(statistics.logprobsDiffMax == worst)
    }

    @Test func weightedRewardsCombineAModelAndAFunction() throws {
        let policy = RLFixture.policy()
        let rewardModel = ScalarModel(kind: .reward, from: policy, rng: RNG(seed: 8))
        let normalization = RewardNormalization(mean: 0.25, std: 2)
        let source = RewardSource.weighted([(.model(rewardModel, normalization: normalization), 0.5), (RLFixture.reward, 2)])
        let m = maker(policy, reward: source)
        var samples = try m.generate(prompts(4), n: 2, temperature: 1, rng: RNG(seed: 5))
        try m.score(&samples, what: "test")
        for s in samples {
            let ids = s.ids
            let modelScore = try Tensor.withNoGrad { try rewardModel.rewards(ids: ids, batch: 1, length: ids.count) }.data[0]
            let expected = 0.5 * (Double(modelScore) - 0.25) / 2 + 2 * RLFixture.task.score(s.prompt.text, s.responseText)
            #expect(abs(s.reward - expected) < 1e-5, "\(s.reward) vs \(expected)")
        }
    }

    @Test func loggedKLIsAMeanOverValidTokens() throws {
        let policy = RLFixture.policy()
        let reference = RLFixture.untrained(seed: 9)
        let m = maker(policy, reference: reference) {
            $0.klEstimator = .k3; $0.initKLCoef = 0.1
        }
        var samples = try m.generate(prompts(8), n: 4, temperature: 1, rng: RNG(seed: 6))
        try m.score(&samples, what: "test")
        let statistics = try m.computeAdvantages(&samples, klCoef: 0.1)
        let tokens = samples.reduce(0) { $0 + $1.responseIDs.count }
        let total = samples.reduce(0.0) { $0 + $1.kl.reduce(0.0) { $0 + Double($1) } }
        #expect(abs(statistics.kl - total / Double(tokens)) < 1e-9)
        // OpenRLHF v0.7.0's value: the mean over the padded length, smaller when lengths differ.
        let longest = samples.map(\.responseIDs.count).max()!
        let padded = samples.reduce(0.0) { $0 + $1.kl.reduce(0.0) { $0 + Double($1) } / Double(longest) } / Double(samples.count)
        #expect(statistics.kl > padded && samples.allSatisfy { $0.kl.allSatisfy { $0 >= 0 } })
        // GRPO's advantages are the group-normalised rewards, the KL penalty on every token.
        let group = samples[0..<4].map(\.reward)
        let mean = group.reduce(0, +) / 4
        let std = (group.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 3).squareRoot()
        let first = samples[0]
        let expected = Float((first.reward - mean) / (std + 1e-9)) - 0.1 * first.kl[first.kl.count - 1]
        #expect(abs(first.advantages.last! - expected) < 1e-4)
    }

    @Test func stepLossIsOneTokenMeanWhateverTheMicroBatchSize() throws {
        func firstStep(micro: Int) throws -> [String: Double] {
            var options = RLFixture.options(.reinforce, rollouts: 1)
            options.microTrainBatchSize = micro
            var metrics: [String: Double] = [:]
            let context = RunContext(seed: 13)
            context.onProgress = { progress in
                if case .step(_, 1, _, let m, _) = progress { metrics = m }
                return .continue
            }
            _ = try trainPPO(
                actor: RLFixture.policy(), reference: nil, critic: nil, reward: RLFixture.reward,
                prompts: RLFixture.prompts(for: options, rollouts: 1), tokenizer: RLFixture.tokenizer, options: options,
                context: context)
            return metrics
        }
        let whole = try firstStep(micro: 64), split = try firstStep(micro: 8)
        for name in ["loss", "grad_norm", "entropy", "clipfrac"] {
            let a = try #require(whole[name]), b = try #require(split[name])
            #expect(abs(a - b) <= 1e-5 * max(1, abs(a)), "\(name): \(a) with one micro-batch, \(b) with eight")
        }
    }
}
