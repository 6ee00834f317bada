import Datasets
import Foundation
import Generation
import Models
import Tensors
import Tokenizers

// Offline loops over the rollout engine, as OpenRLHF v0.7.0's `cli/batch_inference.py` with its
// post-processors (`utils/processor.py`): best-of-n generation for a prompt set, scored by a
// reward model or function, then
//   rejection sampling  the best response of each prompt → SFT records {"input", "output", "reward"}
//   conditional SFT     every response, its prompt prefixed with its score → SFT records
//   iterative DPO       the best and the worst response of each prompt → preference records
//                       {"prompt", "chosen", "chosen_reward", "rejected", "rejected_reward"}
// Records are `Datasets.Record`s; `JSONLines.write` writes them as OpenRLHF's JSONL files, and the
// SFT and preference loaders read them back.
//
// Where v0.7.0 is broken or lossy this does it the working way: its `batch_generate` unpacks the
// prompt dataset's three fields into two and stops; its iterative-DPO processor emits a pair
// whose chosen and rejected are the same response when every sample of a prompt scores the same
// (here such prompts give no pair).

/// One scored sample of best-of-n.
public struct ScoredCompletion: Codable, Equatable, Sendable {
    /// The prompt text (template applied), as the records' `input` / `prompt`.
    public var prompt: String
    /// The response text (stop token removed, special tokens skipped).
    public var response: String
    public var reward: Double
    /// The generated token ids (stop token included).
    public var tokens: [Int]
    public var finishReason: FinishReason

    public init(prompt: String, response: String, reward: Double, tokens: [Int] = [], finishReason: FinishReason = .eos) {
        self.prompt = prompt
        self.response = response
        self.reward = reward
        self.tokens = tokens
        self.finishReason = finishReason
    }
}

extension ScoredCompletion {
    /// Whether the response has any text besides whitespace.
    var hasText: Bool { !response.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
}

/// Samples `n` responses per prompt and scores each: OpenRLHF's `--best_of_n` generation followed
/// by reward inference.
///
/// Response `k` of prompt `p` draws from `rng.fork(p * n + k)`. When `params.stopTokenIDs` is
/// empty, the tokenizer's EOS stops a response.
///
/// ```swift
/// let scored = try bestOfN(model: policy, prompts: prompts, n: 8,
///                          params: SamplingParams(temperature: 1, maxNewTokens: 16),
///                          reward: .function { p, r, _ in task.score(p, r) },
///                          tokenizer: tokenizer, rng: RNG(seed: 1))
/// try JSONLines.write(rejectionSampling(scored), to: "rs.jsonl")
/// ```
///
/// - Returns: For each prompt, its `n` scored responses in sampling order.
/// - Throws: Generation errors, and ``TrainingError/invalidData(_:)`` naming the sample when a
///   reward fails.
public func bestOfN(
    model: CausalLM, prompts: [PromptExample], n: Int, params: SamplingParams, reward: RewardSource,
    tokenizer: any TextTokenizer, microBatchSize: Int = 8, rng: RNG
) throws -> [[ScoredCompletion]] {
    guard n >= 1 else { throw TrainingError.invalidOption("bestOfN", "n must be ≥ 1, got \(n)") }
    try reward.validate(vocabularySize: model.config.vocabSize)
    var params = params
    if params.stopTokenIDs.isEmpty {
        params.stopTokenIDs = tokenizer.eosTokenID.map { [$0] } ?? model.config.eosTokenIDs
    }
    let expanded = prompts.flatMap { [PromptExample](repeating: $0, count: n) }
    let completions = try generate(
        model: model, prompts: expanded.map(\.ids), params: params,
        streams: expanded.indices.map { rng.fork($0) })
    var queries: [RewardQuery] = []
    for (i, (prompt, completion)) in zip(expanded, completions).enumerated() {
        var tokens = completion.tokens
        if completion.finishReason == .eos, let last = tokens.last, params.stopTokenIDs.contains(last) { tokens.removeLast() }
        queries.append(
            RewardQuery(
                index: i, prompt: prompt.text, response: tokenizer.decode(tokens, skipSpecialTokens: true),
                label: prompt.label.isEmpty ? nil : prompt.label, ids: prompt.ids + completion.tokens))
    }
    let rewards = try reward.rewards(
        queries, microBatchSize: microBatchSize,
        padTokenID: tokenizer.padTokenID ?? tokenizer.eosTokenID ?? 0, what: "best-of-\(n)")
    return prompts.indices.map { p in
        (0..<n).map { k in
            let i = p * n + k
            return ScoredCompletion(
                prompt: queries[i].prompt, response: queries[i].response, reward: rewards[i],
                tokens: completions[i].tokens, finishReason: completions[i].finishReason)
        }
    }
}

/// Rejection sampling (Llama 2, https://arxiv.org/abs/2307.09288): the best response of each prompt
/// as an SFT record `{"input", "output", "reward"}` (the first of equal best). Empty responses
/// (nothing but whitespace) are left out: the SFT loader cannot train them.
public func rejectionSampling(_ scored: [[ScoredCompletion]]) -> [Record] {
    var records: [Record] = []
    for group in scored {
        let candidates = group.filter(\.hasText)
        guard var best = candidates.first else { continue }
        for sample in candidates.dropFirst() where sample.reward > best.reward { best = sample }
        records.append(
            Record(
                ["input": .string(best.prompt), "output": .string(best.response), "reward": .number(best.reward)],
                file: "rejection_sampling", line: records.count + 1))
    }
    return records
}

/// Conditional SFT (https://arxiv.org/abs/2308.12050): every response as an SFT record whose input
/// carries its score, `rewardTemplate` with `{input}` and `{reward}` (2 decimals) filled in.
///
/// - Parameter normalizeReward: Standardise the rewards over all responses first (unbiased std).
/// - Throws: ``TrainingError/invalidOption(_:_:)`` when the template lacks `{input}` or `{reward}`.
public func conditionalSFT(
    _ scored: [[ScoredCompletion]], rewardTemplate: String = "{input} <rm_score>: {reward} ",
    normalizeReward: Bool = false
) throws -> [Record] {
    guard rewardTemplate.contains("{input}"), rewardTemplate.contains("{reward}") else {
        throw TrainingError.invalidOption("rewardTemplate", "must contain {input} and {reward}, got \(rewardTemplate.debugDescription)")
    }
    let all = scored.flatMap { $0 }
    var rewards = all.map(\.reward)
    if normalizeReward && rewards.count > 1 {
        let mean = rewards.reduce(0, +) / Double(rewards.count)
        let std = (rewards.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rewards.count - 1)).squareRoot()
        if std > 0 { rewards = rewards.map { ($0 - mean) / std } }
    }
    return zip(all, rewards).enumerated().map { line, pair in
        let (sample, reward) = pair
        let input = rewardTemplate.replacingOccurrences(of: "{reward}", with: String(format: "%.2f", reward))
            .replacingOccurrences(of: "{input}", with: sample.prompt)
        return Record(
            ["input": .string(input), "output": .string(sample.response), "reward": .number(reward)],
            file: "conditional_sft", line: line + 1)
    }
}

/// The prompts with the conditional-SFT score prompt appended, `text + csftPrompt + " "`, for
/// sampling from a model trained by ``conditionalSFT(_:rewardTemplate:normalizeReward:)``
/// (OpenRLHF `--enable_csft --csft_prompt`).
public func conditionalSFTPrompts(
    _ prompts: [PromptExample], csftPrompt: String = "<rm_score>: 5.00",
    tokenizer: any TextTokenizer
) -> [PromptExample] {
    prompts.map { p in
        var q = p
        q.text = p.text + csftPrompt.trimmingCharacters(in: .whitespacesAndNewlines) + " "
        q.ids = tokenizer.encode(q.text)
        return q
    }
}

/// Iterative DPO (RLHFlow's online loop): for each prompt the best and the worst response as a
/// preference record `{"prompt", "chosen", "chosen_reward", "rejected", "rejected_reward"}`
/// (first of equals); prompts whose responses all score the same give no pair. Empty responses
/// (nothing but whitespace) are left out: the preference loader cannot train them.
public func iterativeDPOPairs(_ scored: [[ScoredCompletion]]) -> [Record] {
    var records: [Record] = []
    for group in scored {
        let candidates = group.filter(\.hasText)
        guard var best = candidates.first else { continue }
        var worst = best
        for sample in candidates.dropFirst() {
            if sample.reward > best.reward { best = sample }
            if sample.reward < worst.reward { worst = sample }
        }
        guard best.reward > worst.reward else { continue }
        records.append(
            Record(
                [
                    "prompt": .string(best.prompt), "chosen": .string(best.response), "chosen_reward": .number(best.reward),
                    "rejected": .string(worst.response), "rejected_reward": .number(worst.reward),
                ],
                file: "iterative_dpo", line: records.count + 1))
    }
    return records
}
