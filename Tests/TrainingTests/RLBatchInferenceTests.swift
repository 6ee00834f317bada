// Best-of-n over the rollout engine and the records it feeds: rejection sampling, conditional SFT
// and iterative-DPO pairs in OpenRLHF's JSONL formats, and one rejection-sampling round end to end.

import Datasets
import Foundation
import Generation
import Models
import Tensors
import Testing
import Training

@Suite(.serialized) struct RLBatchInferenceTests {
    let params = SamplingParams(temperature: 1, maxNewTokens: 8)

    @Test func bestOfNIsReproducibleAndScoresEverySample() throws {
        let policy = RLFixture.policy()
        let prompts = Array(RLFixture.evalPrompts.prefix(5))
        let a = try bestOfN(
            model: policy, prompts: prompts, n: 4, params: params, reward: RLFixture.reward,
            tokenizer: RLFixture.tokenizer, rng: RNG(seed: 3))
        let b = try bestOfN(
            model: policy, prompts: prompts, n: 4, params: params, reward: RLFixture.reward,
            tokenizer: RLFixture.tokenizer, rng: RNG(seed: 3))
        #expect(a == b)
        #expect(a.count == 5 && a.allSatisfy { $0.count == 4 })
        for (prompt, group) in zip(prompts, a) {
            for sample in group {
                #expect(sample.prompt == prompt.text)
                #expect(sample.reward == RLFixture.task.score(prompt.text, sample.response))
                #expect(sample.finishReason != .eos || sample.tokens.last == RLFixture.tokenizer.eosTokenID)
            }
        }
    }

    let scored: [[ScoredCompletion]] = [
        [
            ScoredCompletion(prompt: "3 1 2=", response: "132", reward: 1.0 / 3), ScoredCompletion(prompt: "3 1 2=", response: "123", reward: 1),
            ScoredCompletion(prompt: "3 1 2=", response: "12", reward: 2.0 / 3), ScoredCompletion(prompt: "3 1 2=", response: "123", reward: 1),
        ],
        [ScoredCompletion(prompt: "9 9 9=", response: "999", reward: 1), ScoredCompletion(prompt: "9 9 9=", response: "999", reward: 1)],
    ]

    @Test func rejectionSamplingKeepsTheBestResponseOfEachPrompt() throws {
        let records = rejectionSampling(scored)
        #expect(records.count == 2)
        #expect(try records[0].string("input") == "3 1 2=" && records[0].string("output") == "123" && records[0].number("reward") == 1)
        #expect(try records[1].string("output") == "999")
    }

    @Test func iterativeDPOPairsTheBestAndTheWorstAndSkipsTies() throws {
        let records = iterativeDPOPairs(scored)
        #expect(records.count == 1, "a prompt whose samples all score the same gives no pair")
        let r = try #require(records.first)
        #expect(try r.string("prompt") == "3 1 2=" && r.string("chosen") == "123" && r.string("rejected") == "132")
        #expect(try r.number("chosen_reward") == 1 && r.number("rejected_reward") == 1.0 / 3)
        // An empty response cannot be trained, so it is never picked.
        let withEmpty = scored[0] + [ScoredCompletion(prompt: "3 1 2=", response: " \n", reward: 0)]
        #expect(try iterativeDPOPairs([withEmpty])[0].string("rejected") == "132")
    }

    @Test func conditionalSFTPutsTheScoreInTheInput() throws {
        let records = try conditionalSFT(scored)
        #expect(records.count == 6)
        #expect(try records[0].string("input") == "3 1 2= <rm_score>: 0.33 " && records[0].string("output") == "132")
        let normalized = try conditionalSFT(scored, rewardTemplate: "[{reward}] {input}", normalizeReward: true)
        let rewards = try normalized.map { try $0.number("reward") }
        #expect(abs(rewards.reduce(0, +)) < 1e-9)
        #expect(try normalized[0].string("input").hasPrefix("[-"))
        #expect(throws: TrainingError.self) { try conditionalSFT(scored, rewardTemplate: "{input}") }
        let prompts = conditionalSFTPrompts([RLFixture.evalPrompts[0]], tokenizer: RLFixture.tokenizer)
        #expect(prompts[0].text == RLFixture.evalPrompts[0].text + "<rm_score>: 5.00 ")
        #expect(prompts[0].ids == RLFixture.tokenizer.encode(prompts[0].text))
    }

    @Test func recordsRoundTripThroughOpenRLHFJSONLAndTheLoaders() throws {
        let folder = try rlTemporaryDirectory()
        let sftPath = folder.appendingPathComponent("rs.jsonl").path, dpoPath = folder.appendingPathComponent("dpo.jsonl").path
        try JSONLines.write(rejectionSampling(scored), to: sftPath)
        try JSONLines.write(iterativeDPOPairs(scored), to: dpoPath)
        let firstLine = try String(contentsOfFile: sftPath, encoding: .utf8).split(separator: "\n").first.map(String.init)
        #expect(firstLine == #"{"input":"3 1 2=","output":"123","reward":1}"#)
        let sft = try SFTDataset.load(JSONLines.read(sftPath), tokenizer: RLFixture.tokenizer, maxLen: 32)
        #expect(sft.count == 2)
        let pairs = try PreferenceDataset.load(JSONLines.read(dpoPath), tokenizer: RLFixture.tokenizer, maxLen: 32)
        #expect(pairs.count == 1)
        #expect(pairs[0].chosenIDs.prefix(3) == RLFixture.tokenizer.encode("123")[...])
    }

    /// Held-out pass@1 at temperature 1 (4 samples per prompt, a fixed stream).
    func passAt1(_ policy: CausalLM) throws -> Double {
        try evaluatePassAtK(
            model: policy, prompts: RLFixture.evalPrompts, reward: RLFixture.reward, tokenizer: RLFixture.tokenizer,
            nSamplesPerPrompt: 4, temperature: 1, maxNewTokens: 8, rng: RNG(seed: 77)
        ).passAt1
    }

    /// 8 scored samples for each of the first 512 training prompts.
    func bestOf8(_ policy: CausalLM) throws -> [[ScoredCompletion]] {
        try bestOfN(
            model: policy, prompts: Array(RLFixture.trainPrompts.prefix(512)), n: 8, params: params,
            reward: RLFixture.reward, tokenizer: RLFixture.tokenizer, microBatchSize: 64, rng: RNG(seed: 12))
    }

    @Test func oneRejectionSamplingRoundRaisesPassAt1() throws {
        let policy = RLFixture.policy()
        let before = try passAt1(policy)
        let scored = try bestOf8(policy)
        let records = rejectionSampling(scored)
        let bestMean = try records.map { try $0.number("reward") }.reduce(0, +) / Double(records.count)
        #expect(bestMean > before, "best of 8 (\(bestMean)) should beat a single sample (\(before))")
        try RLFixture.supervisedWarmStart(policy, steps: 30, records: records, learningRate: 1e-3)
        let after = try passAt1(policy)
        #expect(after > before + 0.1, "rejection sampling moved eval pass@1 from \(before) to \(after)")
    }

    /// Best-of-8 → best/worst pairs in OpenRLHF's JSONL → the preference loader → DPO.
    @Test func oneIterativeDPORoundRaisesPassAt1() throws {
        let policy = RLFixture.policy()
        let before = try passAt1(policy)
        let scored = try bestOf8(policy)
        let path = try rlTemporaryDirectory().appendingPathComponent("iter_dpo.jsonl").path
        try JSONLines.write(iterativeDPOPairs(scored), to: path)
        let pairs = try PreferenceDataset.load(JSONLines.read(path), tokenizer: RLFixture.tokenizer, maxLen: RLFixture.task.maxLen)
        #expect(pairs.count > 400)
        var options = TrainingOptions()
        options.learningRate = 1e-3
        options.trainBatchSize = 32
        options.microTrainBatchSize = 32
        options.lrScheduler = .constant
        options.maxSteps = 60
        options.maxEpochs = 8
        _ = try trainDPO(policy, data: pairs.examples, options: options, dpo: DPOOptions(beta: 0.1), context: RunContext(seed: 4))
        let after = try passAt1(policy)
        #expect(after > before + 0.1, "iterative DPO moved eval pass@1 from \(before) to \(after)")
    }
}
