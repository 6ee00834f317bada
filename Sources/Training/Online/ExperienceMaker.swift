import Alignment
import Datasets
import Distributed
import Foundation
import Generation
import Models
import Tensors
import Tokenizers

// Experience making, as OpenRLHF v0.7.0's `RemoteExperienceMaker`: prompts expanded to
// `nSamplesPerPrompt` contiguous copies and rolled out; then, `microRolloutBatchSize` samples at a
// time and without gradients, the actor's log-probs recomputed by the training forward at the
// sampling temperature, the reference's log-probs, the critic's values and the rewards; then the
// rollout's advantages and returns (`computeAdvantagesAndReturns` in Alignment).
//
// Layout of a batch of sequences: each row is `prompt + response`, right-padded to L tokens.
// Shapes: B = rows, L = tokens per row, A = the longest response (action positions), V = vocabulary.
// Action j of row i is token `p_i + j` (p_i = its prompt length), predicted from position
// `p_i − 1 + j`: its log-prob and its state value are read there.

/// One sampled response and what experience making derived from it.
public struct RolloutExperience: Sendable {
    /// The prompt's index in the prompt list.
    public var promptIndex: Int
    public var prompt: PromptExample
    /// Generated tokens (the stop token included).
    public var responseIDs: [Int]
    /// The response as the reward function reads it (stop token removed, special tokens skipped).
    public var responseText: String
    public var finishReason: FinishReason
    /// The sampler's log-probability of each token (from the KV-cache decode), [A_i]; the loss
    /// uses `actionLogProbs`, recomputed by the training forward, as OpenRLHF does.
    public var samplingLogProbs: [Float] = []
    /// log π_old(a_t) from the training forward at the sampling temperature, [A_i].
    public var actionLogProbs: [Float] = []
    /// log π_ref(a_t), [A_i]; empty without a reference model.
    public var baseActionLogProbs: [Float] = []
    /// V_old(s_t), [A_i]; empty without a critic.
    public var values: [Float] = []
    /// The per-token KL that enters the reward, [A_i]; zeros when there is no reference or the KL
    /// is a loss term (`useKLLoss`).
    public var kl: [Float] = []
    /// The scalar reward, before the group baseline and clipping (the overlong penalty included).
    public var reward: Double = 0
    /// DAPO's soft overlong penalty that `reward` includes (0 without `overlongBufferLen`).
    public var overlongPenalty: Double = 0
    /// What the reward function returned, before any shaping (OpenRLHF's `scores`, which dynamic
    /// filtering reads).
    public var score: Double = 0
    /// The named parts of the reward, when the reward function returns components (else empty).
    public var rewardComponents: [String: Double] = [:]
    /// Whether the loss leaves this sample out (`maskTruncatedCompletions` and it was truncated).
    public var lossMasked: Bool = false
    /// The critic's targets (GAE) or the discounted returns, [A_i].
    public var returns: [Float] = []
    /// The advantages the policy loss uses (after the buffer's normalisation where it applies), [A_i].
    public var advantages: [Float] = []
    /// Σ of the token rewards (OpenRLHF's logged "return").
    public var totalReturn: Double = 0

    /// Prompt and response token ids.
    public var ids: [Int] { prompt.ids + responseIDs }
}

/// Means over a rollout, for the run file.
public struct RolloutStatistics: Sendable, Equatable {
    /// Mean scalar reward (before shaping).
    public var reward: Double
    /// Mean of each response's Σ token rewards.
    public var totalReturn: Double
    /// Mean KL per valid token, Σ_t kl·mask / Σ mask over the rollout (0 without a reference).
    public var kl: Double
    /// Mean response length in tokens.
    public var responseLength: Double
    /// Mean prompt + response length.
    public var totalLength: Double
    /// Mean and standard deviation of the advantages the loss uses, over valid tokens.
    public var advantageMean: Double
    public var advantageStd: Double
    /// Fraction of responses that stopped on their own (EOS or a stop sequence).
    public var finishedFraction: Double
    /// The largest and the mean |sampler log-prob − training-forward log-prob| over the rollout's
    /// valid tokens: how far the KV-cache decode is from the forward the loss uses (0: on-policy).
    public var logprobsDiffMax: Double
    public var logprobsDiffMean: Double
    /// Fraction of responses the overlong penalty lowered (0 without `overlongBufferLen`).
    public var overlongPenalized: Double
    /// Generated tokens.
    public var tokens: Int
}

/// The models and reward of experience making; see the file comment.
public struct ExperienceMaker {
    public let actor: CausalLM
    public let reference: CausalLM?
    public let critic: ScalarModel?
    public let reward: RewardSource
    public let tokenizer: any TextTokenizer
    public let options: PPOOptions

    public init(
        actor: CausalLM, reference: CausalLM?, critic: ScalarModel?, reward: RewardSource,
        tokenizer: any TextTokenizer, options: PPOOptions
    ) {
        self.actor = actor
        self.reference = reference
        self.critic = critic
        self.reward = reward
        self.tokenizer = tokenizer
        self.options = options
    }

    /// The token that pads rows (never read: padding sits after every real token).
    var padTokenID: Int { tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0 }

    /// Tokens that end a response: the tokenizer's EOS and the model's.
    var stopTokenIDs: [Int] {
        var ids = actor.config.eosTokenIDs
        if let eos = tokenizer.eosTokenID, !ids.contains(eos) { ids.insert(eos, at: 0) }
        return ids
    }

    /// Rollout sampling parameters (`temperature`, `topP`, `generateMaxLen`, stop on EOS).
    func samplingParams(temperature: Double) -> SamplingParams {
        SamplingParams(
            temperature: Float(temperature), topP: Float(options.topP), maxNewTokens: options.generateMaxLen,
            stopTokenIDs: stopTokenIDs, greedy: temperature == 0)
    }

    /// A prompt's ids cut to `promptMaxLen` (its last tokens, as the prompt loader cuts).
    func promptIDs(_ prompt: PromptExample) -> [Int] {
        prompt.ids.count > options.promptMaxLen ? Array(prompt.ids.suffix(options.promptMaxLen)) : prompt.ids
    }

    /// The response text handed to reward functions.
    func responseText(_ completion: Completion) -> String {
        var tokens = completion.tokens
        if completion.finishReason == .eos, let last = tokens.last, stopTokenIDs.contains(last) { tokens.removeLast() }
        return tokenizer.decode(tokens, skipSpecialTokens: true)
    }

    /// Step 1: samples `n` responses for every prompt, `n` contiguous copies per prompt; response
    /// `k` of the batch draws from `rng.fork(k)`.
    ///
    /// - Parameter prompts: Each prompt with its index in the prompt list.
    public func generate(
        _ prompts: [(index: Int, example: PromptExample)], n: Int, temperature: Double, rng: RNG, world: World = World()
    ) throws -> [RolloutExperience] {
        var expanded: [(index: Int, example: PromptExample)] = []
        for p in prompts {
            var example = p.example
            example.ids = promptIDs(example)
            guard !example.ids.isEmpty else {
                throw TrainingError.invalidData(
                    "prompt \(p.index) (\(example.text.debugDescription)) has no tokens; every prompt needs at least one")
            }
            expanded += [(index: Int, example: PromptExample)](repeating: (p.index, example), count: n)
        }
        // Sample i is drawn by rank i mod N from its own stream, so it is the same whichever rank drew it.
        let mine = Array(stride(from: world.rank, to: expanded.count, by: world.size))
        let drawn = try Generation.generate(
            model: actor, prompts: mine.map { expanded[$0].example.ids },
            params: samplingParams(temperature: temperature),
            streams: mine.map { rng.fork($0) })
        let byRank = try world.allGather(drawn)
        let completions = expanded.indices.map { byRank[$0 % world.size][$0 / world.size] }
        return zip(expanded, completions).map { p, c in
            RolloutExperience(
                promptIndex: p.index, prompt: p.example, responseIDs: c.tokens, responseText: responseText(c),
                finishReason: c.finishReason, samplingLogProbs: c.logProbs)
        }
    }

    /// Step 2: fills in log-probs, reference log-probs, values, the per-token KL and the rewards,
    /// `microRolloutBatchSize` samples at a time, without gradients.
    ///
    /// - Parameter what: Names the batch in errors ("rollout 3").
    /// - Throws: ``TrainingError/invalidData(_:)`` naming the sample when a reward fails.
    public func score(_ samples: inout [RolloutExperience], what: String) throws {
        let micro = options.microRolloutBatchSize
        try Tensor.withNoGrad {
            for start in stride(from: 0, to: samples.count, by: micro) {
                let range = start..<min(start + micro, samples.count)
                let batch = ActionBatch(samples[range].map { (prompt: $0.prompt.ids, response: $0.responseIDs) }, padTokenID: padTokenID)
                let temperature = Float(options.temperature)
                let logProbs = try batch.actionLogProbs(actor, temperature: temperature).logProbs
                let baseLogProbs = try reference.map { try batch.actionLogProbs($0, temperature: temperature).logProbs }
                let values = try critic.map { try batch.values($0) }
                var kl: Tensor? = nil
                if let baseLogProbs, !options.useKLLoss {
                    kl = try computeApproxKL(
                        logProbs: logProbs, logProbsBase: baseLogProbs, estimator: options.klEstimator,
                        actionMask: batch.actionMask)
                }
                for (row, i) in range.enumerated() {
                    samples[i].actionLogProbs = batch.row(logProbs, row)
                    samples[i].baseActionLogProbs = baseLogProbs.map { batch.row($0, row) } ?? []
                    samples[i].values = values.map { batch.row($0, row) } ?? []
                    samples[i].kl = kl.map { batch.row($0, row) } ?? [Float](repeating: 0, count: samples[i].responseIDs.count)
                }
            }
        }
        let queries = samples.enumerated().map { i, s in
            RewardQuery(
                index: i, prompt: s.prompt.text, response: s.responseText, label: s.prompt.label.isEmpty ? nil : s.prompt.label,
                ids: s.ids)
        }
        let (rewards, components) = try reward.scored(queries, microBatchSize: micro, padTokenID: padTokenID, what: what)
        for i in samples.indices {
            samples[i].rewardComponents = components[i]
            if let buffer = options.overlongBufferLen {
                samples[i].overlongPenalty = try overlongPenalty(
                    responseLength: samples[i].responseIDs.count, maxNewTokens: options.generateMaxLen, overlongBufferLen: buffer,
                    overlongPenaltyFactor: options.overlongPenaltyFactor)
            }
            samples[i].score = rewards[i]
            samples[i].reward = rewards[i] + samples[i].overlongPenalty
        }
    }

    /// Step 3: advantages and returns of the whole rollout (the group baselines need every sample
    /// of a prompt, the buffer normalisation every sample of the rollout), with β = `klCoef`.
    ///
    /// - Returns: The rollout's statistics.
    public func computeAdvantages(_ samples: inout [RolloutExperience], klCoef: Double) throws -> RolloutStatistics {
        let n = samples.count, a = samples.map(\.responseIDs.count).max() ?? 0
        func padded(_ rows: (RolloutExperience) -> [Float]) -> Tensor {
            var data = [Float](repeating: 0, count: n * a)
            for (i, s) in samples.enumerated() {
                for (j, v) in rows(s).enumerated() { data[i * a + j] = v }
            }
            return Tensor(shape: [n, a], data: data)
        }
        let mask = padded { [Float](repeating: 1, count: $0.responseIDs.count) }
        let kl = padded(\.kl)
        let out = try computeAdvantagesAndReturns(
            estimator: options.advantageEstimator, rewards: Tensor(shape: [n], data: samples.map { Float($0.reward) }), kl: kl,
            actionMask: mask, values: critic == nil ? nil : padded(\.values), klCoef: Float(klCoef),
            rewardClipRange: options.rewardClipRange.map { Float($0.lowerBound)...Float($0.upperBound) },
            gamma: Float(options.gamma), lambd: Float(options.lambd), nSamplesPerPrompt: options.nSamplesPerPrompt,
            divideByStd: !options.noAdvantageStdNorm)
        var klSum = 0.0, tokens = 0, advSum = 0.0, diffSum = 0.0, diffMax = 0.0
        for i in 0..<n {
            let length = samples[i].responseIDs.count
            samples[i].returns = Array(out.returns.data[(i * a)..<(i * a + length)])
            samples[i].advantages = Array(out.normalizedAdvantages.data[(i * a)..<(i * a + length)])
            samples[i].totalReturn = Double(out.infoReturn.data[i])
            for v in samples[i].kl { klSum += Double(v) }
            for v in samples[i].advantages { advSum += Double(v) }
            for (p, q) in zip(samples[i].samplingLogProbs, samples[i].actionLogProbs) {
                let d = abs(Double(p) - Double(q))
                diffSum += d
                diffMax = max(diffMax, d)
            }
            tokens += length
        }
        let advMean = advSum / Double(max(tokens, 1))
        var advSquares = 0.0
        for s in samples { for v in s.advantages { advSquares += (Double(v) - advMean) * (Double(v) - advMean) } }
        let count = Double(max(n, 1))
        return RolloutStatistics(
            reward: samples.reduce(0) { $0 + $1.reward } / count,
            totalReturn: samples.reduce(0) { $0 + $1.totalReturn } / count,
            kl: klSum / Double(max(tokens, 1)),
            responseLength: Double(tokens) / count,
            totalLength: Double(samples.reduce(0) { $0 + $1.prompt.ids.count + $1.responseIDs.count }) / count,
            advantageMean: advMean,
            advantageStd: (advSquares / Double(max(tokens, 1))).squareRoot(),
            finishedFraction: Double(samples.filter { $0.finishReason != .length }.count) / count,
            logprobsDiffMax: diffMax,
            logprobsDiffMean: diffSum / Double(max(tokens, 1)),
            overlongPenalized: Double(samples.filter { $0.overlongPenalty < 0 }.count) / count,
            tokens: tokens)
    }
}

/// Rows of `prompt + response`, right-padded, with the action positions of every row.
struct ActionBatch {
    /// B, L, A.
    let batch: Int, length: Int, actions: Int
    /// B·L token ids.
    let ids: [Int]
    /// B·L next-token labels: the action token where position t predicts one, else −1.
    let labels: [Int]
    /// B·A flat positions into [B, L] where each action is predicted; padding slots point at a
    /// position whose label is −1 (log-prob 0).
    let actionIndices: [Int]
    /// [B, A], 1 on actions.
    let actionMask: Tensor
    let responseLengths: [Int]
    /// Rows whose actions the mask leaves out (a truncated response under `maskTruncatedCompletions`).
    let maskedRows: [Bool]

    /// - Parameter maskedRows: Rows whose action mask is all 0 (their log-probs are still computed).
    init(_ rows: [(prompt: [Int], response: [Int])], padTokenID: Int, maskedRows: [Bool]? = nil) {
        let maskedRows = maskedRows ?? [Bool](repeating: false, count: rows.count)
        batch = rows.count
        length = rows.map { $0.prompt.count + $0.response.count }.max() ?? 1
        actions = rows.map(\.response.count).max() ?? 0
        var ids: [Int] = [], labels = [Int](repeating: -1, count: batch * length)
        var indices = [Int](repeating: 0, count: batch * actions), mask = [Float](repeating: 0, count: batch * actions)
        for (i, row) in rows.enumerated() {
            let sequence = row.prompt + row.response
            ids += sequence + [Int](repeating: padTokenID, count: length - sequence.count)
            for j in 0..<actions {
                if j < row.response.count {
                    let t = row.prompt.count - 1 + j
                    labels[i * length + t] = row.response[j]
                    indices[i * actions + j] = i * length + t
                    mask[i * actions + j] = maskedRows[i] ? 0 : 1
                } else {
                    indices[i * actions + j] = i * length + length - 1
                }
            }
        }
        self.ids = ids
        self.labels = labels
        actionIndices = indices
        actionMask = Tensor(shape: [batch, actions], data: mask)
        responseLengths = rows.map(\.response.count)
        self.maskedRows = maskedRows
    }

    /// Valid action tokens (those of masked rows not counted).
    var tokenCount: Int { zip(responseLengths, maskedRows).reduce(0) { $0 + ($1.1 ? 0 : $1.0) } }

    /// Rows the mask keeps.
    var unmaskedRows: Int { maskedRows.filter { !$0 }.count }

    /// log softmax(logits / temperature) of each action, [B, A], and the logits [B, L, V].
    func actionLogProbs(_ model: CausalLM, temperature: Float) throws -> (logProbs: Tensor, logits: Tensor) {
        let logits = try model.logits(ids: ids, batch: batch, length: length)
        let perPosition = try logProbs(logits, labels: labels, temperature: temperature)
        return (try gatherActions(perPosition), logits)
    }

    /// The critic's value of the state before each action, [B, A].
    func values(_ critic: ScalarModel) throws -> Tensor {
        try gatherActions(critic.values(ids: ids, batch: batch, length: length))
    }

    /// Per-position values [B, L] → per-action values [B, A].
    func gatherActions(_ perPosition: Tensor) throws -> Tensor {
        try gather(perPosition.reshaped([batch * length]), axis: 0, index: actionIndices).reshaped([batch, actions])
    }

    /// Row `i` of a [B, A] tensor, cut to the row's response length.
    func row(_ t: Tensor, _ i: Int) -> [Float] {
        Array(t.data[(i * actions)..<(i * actions + responseLengths[i])])
    }

    /// [B, A] from one array per row (padding 0).
    func padded(_ rows: [[Float]]) -> Tensor {
        var data = [Float](repeating: 0, count: batch * actions)
        for (i, row) in rows.enumerated() {
            for (j, v) in row.prefix(actions).enumerated() { data[i * actions + j] = v }
        }
        return Tensor(shape: [batch, actions], data: data)
    }

    /// Σ over valid actions of the entropy of softmax(logits / temperature), in Double; for logging.
    func entropySum(logits: Tensor, temperature: Float) -> Double {
        let v = logits.shape.last ?? 1
        var total = 0.0
        logits.data.withUnsafeBufferPointer { x in
            for (k, position) in actionIndices.enumerated() where actionMask.data[k] != 0 {
                let row = x.baseAddress! + position * v
                var maxValue = -Double.infinity
                for c in 0..<v { maxValue = max(maxValue, Double(row[c]) / Double(temperature)) }
                var z = 0.0, weighted = 0.0
                for c in 0..<v {
                    let s = Double(row[c]) / Double(temperature) - maxValue
                    let e = Foundation.exp(s)
                    z += e
                    weighted += e * s
                }
                total += Foundation.log(z) - weighted / z
            }
        }
        return total
    }

    /// The entropy of softmax(logits / temperature) at each action, [B, A], differentiable.
    func entropy(logits: Tensor, temperature: Float) throws -> Tensor {
        let logp = try logSoftmax(logits * (1 / temperature))
        let perPosition = try -((logp.exp() * logp).sum(axis: -1))
        return try gatherActions(perPosition)
    }
}
