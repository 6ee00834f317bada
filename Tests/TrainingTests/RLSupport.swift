// Shared fixtures of the online RL tests: a digit-sorting task, a tiny Llama over the byte
// tokenizer, a short supervised warm start that leaves the policy mediocre, and run-file helpers.

import Alignment
import Datasets
import Foundation
import Generation
import Models
import Recording
import Tensors
import Tokenizers
import Training

enum RLFixture {
    /// Sort 3 or 4 digits: the score gives partial credit per position.
    static let task = SyntheticTask.sortDigits(count: 3200, evalCount: 32, digits: 3...4, rng: RNG(seed: 11))
    static let tokenizer = ByteTokenizer()

    static let trainPrompts: [PromptExample] = try! PromptDataset.load(task.prompts, tokenizer: tokenizer).examples
    static let evalPrompts: [PromptExample] = try! PromptDataset.load(task.eval.prompts, tokenizer: tokenizer).examples

    /// The task's programmatic score as a reward function.
    static let reward = RewardSource.function { prompt, response, _ in task.score(prompt, response) }

    static let config = ModelConfig.llama(
        vocabSize: tokenizer.vocabularySize, hiddenSize: 64, intermediateSize: 128, layers: 2, heads: 4, kvHeads: 2,
        maxPositions: 64, eosTokenIDs: [tokenizer.eosTokenID!])

    /// A freshly initialised policy.
    static func untrained(seed: UInt64 = 1) -> CausalLM { CausalLM(config: config, rng: RNG(seed: seed)) }

    /// The warm-started policy (computed once; tests take copies).
    static let warmStart: CausalLM = {
        let model = untrained()
        try! supervisedWarmStart(model, steps: warmStartSteps)
        return model
    }()

    static let warmStartSteps = 40

    /// A copy of the warm-started policy for one test.
    static func policy() -> CausalLM { warmStart.copy() }

    /// A few plain optimizer steps of token-mean cross-entropy on SFT records (the task's
    /// demonstrations by default).
    static func supervisedWarmStart(
        _ model: CausalLM, steps: Int, batchSize: Int = 32, records: [Record]? = nil,
        learningRate: Double = 3e-3
    ) throws {
        let data = try SFTDataset.load(records ?? task.demonstrations, tokenizer: tokenizer, maxLen: task.maxLen)
        var options = TrainingOptions()
        options.learningRate = learningRate
        options.trainBatchSize = batchSize
        options.microTrainBatchSize = batchSize
        options.lrScheduler = .constant
        let context = RunContext(seed: 5)
        let stage = try context.beginStage("warm_start", config: [:])
        let loop = try OptimizerLoop(parameters: model.trainableParameters(), options: options, totalSteps: steps, stage: stage)
        var sampler = Sampler(count: data.count, rng: stage.rng.fork("sampler"))
        for _ in 0..<steps {
            let batch = data.batch(sampler.next(batchSize))
            try loop.step {
                let length = batch.map(\.ids.count).max()!
                var ids: [Int] = [], labels: [Int] = [], mask: [Float] = []
                for example in batch {
                    let pad = length - example.ids.count
                    ids += example.ids + [Int](repeating: 0, count: pad)
                    for t in 0..<length {
                        let next = t + 1
                        let trained = next < example.ids.count && example.lossMask[next] != 0
                        labels.append(trained ? example.ids[next] : -1)
                        mask.append(trained ? 1 : 0)
                    }
                }
                let logits = try model.logits(ids: ids, batch: batch.count, length: length)
                let lp = try logProbs(logits, labels: labels, temperature: 1)
                let tokens = mask.reduce(0, +)
                let loss = try -(lp * Tensor(shape: [batch.count, length], data: mask)).sum() / tokens
                try loss.backward()
                return OptimizerLoop.StepResult(loss: Double(try loss.item), tokens: Int(tokens))
            }
        }
    }

    /// GRPO-style options sized for a test.
    static func options(_ estimator: AdvantageEstimator, rollouts: Int = 10) -> PPOOptions {
        var options = PPOOptions()
        options.advantageEstimator = estimator
        options.nSamplesPerPrompt = 4
        options.rolloutBatchSize = 16
        options.microRolloutBatchSize = 32
        options.trainBatchSize = 64
        options.microTrainBatchSize = 32
        options.generateMaxLen = 8
        options.temperature = 1
        options.evalTemperature = 1
        options.evalNSamplesPerPrompt = 4
        options.evalSteps = rollouts
        options.actorLearningRate = 2e-3
        options.criticLearningRate = 2e-3
        options.initKLCoef = 0
        options.training.lrScheduler = .constant
        options.training.statsEvery = 1000
        return options
    }

    /// The first `rollouts × rolloutBatchSize` training prompts.
    static func prompts(for options: PPOOptions, rollouts: Int) -> [PromptExample] {
        Array(trainPrompts.prefix(rollouts * options.rolloutBatchSize))
    }
}

/// A fresh temporary folder for one test.
func rlTemporaryDirectory(_ label: String = #function) throws -> URL {
    let safe = label.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("swift-rlhf-rl-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A run file for a test.
func rlRunFile(_ url: URL, seed: UInt64) throws -> RunFile {
    try RunFile.create(
        at: url,
        attributes: RunAttributes(
            name: "rl-test", recipe: "", seed: seed, threads: 1, version: "test",
            created: "test"))
}

/// The exact KL(π ‖ π_ref) per response token, averaged over responses that `policy` samples for
/// `prompts` (greedy-free, temperature 1): at each response position Σ_v π(v)·(log π(v) − log π_ref(v)).
func measuredKL(policy: CausalLM, reference: CausalLM, prompts: [PromptExample], maxNewTokens: Int, seed: UInt64 = 99) throws -> Double {
    let eos = RLFixture.tokenizer.eosTokenID!
    let params = SamplingParams(temperature: 1, maxNewTokens: maxNewTokens, stopTokenIDs: [eos])
    let completions = try generate(model: policy, prompts: prompts.map(\.ids), params: params, rng: RNG(seed: seed))
    var total = 0.0, tokens = 0
    try Tensor.withNoGrad {
        for (prompt, completion) in zip(prompts, completions) {
            let ids = prompt.ids + completion.tokens
            let p = try logSoftmax(policy.logits(ids: ids, batch: 1, length: ids.count))
            let q = try logSoftmax(reference.logits(ids: ids, batch: 1, length: ids.count))
            let v = policy.config.vocabSize
            for j in 0..<completion.tokens.count {
                let row = (prompt.ids.count - 1 + j) * v
                var kl = 0.0
                for c in 0..<v {
                    let lp = Double(p.data[row + c]), lq = Double(q.data[row + c])
                    kl += Foundation.exp(lp) * (lp - lq)
                }
                total += kl
                tokens += 1
            }
        }
    }
    return total / Double(max(tokens, 1))
}

/// Every dataset of a run file except the wall-clock values (`/<stage>/timing`), as named rows of
/// bit patterns, so two runs compare exactly (NaN included).
struct RunDatasets: Equatable {
    /// "<stage>/<table>/<name>" → rows, each row the bit patterns of its values.
    var tables: [String: [[UInt64]]] = [:]

    init(path: String) throws {
        let reader = try RunReader(path: path)
        for stage in try reader.stages() {
            let prefix = stage.name
            tables["\(prefix)/metrics/step"] = stage.steps.map { [UInt64($0)] }
            for name in stage.metricNames {
                tables["\(prefix)/metrics/\(name)"] = try stage.metric(name).map { [$0.bitPattern] }
            }
            tables["\(prefix)/tensors/step"] = stage.tensorSteps.map { [UInt64($0)] }
            for name in stage.tensorNames {
                for kind in stage.tensorKinds(name) {
                    tables["\(prefix)/tensors/\(name)/\(kind.rawValue)"] = try stage.tensorStatistics(name, kind: kind).map {
                        $0.row.map(\.bitPattern)
                    }
                }
            }
            tables["\(prefix)/eval/step"] = stage.evalSteps.map { [UInt64($0)] }
            for name in stage.evalNames {
                tables["\(prefix)/eval/\(name)"] = try stage.eval(name).map { [$0.bitPattern] }
            }
            var rollouts: [[UInt64]] = []
            for r in try stage.rollouts() {
                let s = r.sample
                var row: [UInt64] = [UInt64(r.step), s.reward.bitPattern]
                row += s.promptIDs.map { UInt64(UInt32(bitPattern: $0)) } + [UInt64.max]
                row += s.responseIDs.map { UInt64(UInt32(bitPattern: $0)) } + [UInt64.max]
                row += s.advantages.map(\.bitPattern) + [UInt64.max] + s.logprobs.map(\.bitPattern)
                row += Array((s.promptText ?? "").utf8).map { UInt64($0) } + [UInt64.max] + Array((s.responseText ?? "").utf8).map { UInt64($0) }
                rollouts.append(row)
            }
            tables["\(prefix)/rollouts"] = rollouts
        }
    }

    /// The tables that differ, for a readable failure.
    func differences(from other: RunDatasets) -> [String] {
        Set(tables.keys).union(other.tables.keys).sorted().filter { tables[$0] != other.tables[$0] }
    }
}
