import Foundation
import Recording
import Tensors
import Testing
import Training

/// A sampled response holding byte 0 is stored exactly as the reward function scored it (it used
/// to be cut at the NUL: ids [182, 100, 0, 74] were logged as "\u{FFFD}d").
@Suite struct LosslessRolloutTextTests {
    @Test func aResponseWithByteZeroIsStoredAsScored() throws {
        final class Scored: @unchecked Sendable {
            let lock = NSLock()
            var responses: [String] = []
        }
        let scored = Scored()
        let reward = RewardSource.function { _, response, _ in
            scored.lock.withLock { scored.responses.append(response) }
            return Double(response.utf8.count % 3)
        }
        var options = RLFixture.options(.groupNorm, rollouts: 2)
        options.generateMaxLen = 16
        options.evalSteps = 0
        options.rolloutSamplesPerStep = options.rolloutSamples
        let url = try rlTemporaryDirectory().appendingPathComponent("grpo.h5")
        let run = try rlRunFile(url, seed: 7)
        // An untrained policy samples nearly uniformly over the 256 bytes, byte 0 among them.
        let summary = try trainPPO(
            actor: RLFixture.untrained(seed: 4), reference: nil, critic: nil, reward: reward,
            prompts: RLFixture.prompts(for: options, rollouts: 2), evalPrompts: [], tokenizer: RLFixture.tokenizer,
            options: options, context: RunContext(seed: 7, runFile: run))
        try run.close()

        let samples = try RunReader(path: url.path).stage(summary.stage).rollouts().map(\.sample)
        #expect(samples.count == 2 * options.rolloutBatchSize * options.nSamplesPerPrompt)
        let stored = samples.map { $0.responseText ?? "<none>" }
        #expect(stored.sorted() == scored.responses.sorted())
        let withNul = samples.filter { $0.responseIDs.contains(0) }
        #expect(!withNul.isEmpty, "no sampled response holds byte 0; pick another seed")
        for sample in withNul {
            #expect(sample.responseText?.utf8.contains(0) == true)
            #expect(sample.responseText == RLFixture.tokenizer.decode(sample.responseIDs.map(Int.init), skipSpecialTokens: true))
        }
    }
}
