import Foundation
import Models
import Tensors

// Batched sampling with a KV cache.
//
// 1. Prefill: each distinct prompt runs alone (one row, its own length), into its own cache.
// 2. The rows are stacked left-padded into one cache (`KVCache.leftAligned`): padding columns are
//    masked, and each row's positions continue from its own prompt length.
// 3. Decode: one token per row per step. The decode kernels compute every row from that row
//    alone, and each sample draws from its own stream, so a sample's tokens depend only on its
//    prompt and its stream — not on its batch neighbours, their lengths or its place in the batch.
//    Finished rows leave the batch (the cache drops them) instead of being computed and masked.

/// Why a sample stopped.
public enum FinishReason: String, Codable, Sendable {
    /// It produced one of `stopTokenIDs` (EOS).
    case eos
    /// Its output ended with one of `stopSequences`.
    case stop
    /// It reached `maxNewTokens`.
    case length
}

/// One generated sample.
public struct Completion: Codable, Equatable, Sendable {
    /// The generated token ids (the stop token or sequence included).
    public var tokens: [Int]
    /// For each token, `log softmax(logits / temperature)[token]` (temperature 1 when greedy): the
    /// model's log-probability at the sampling temperature, before top-k / top-p truncation.
    public var logProbs: [Float]
    /// Why the sample stopped.
    public var finishReason: FinishReason

    /// A completion from its parts.
    public init(tokens: [Int] = [], logProbs: [Float] = [], finishReason: FinishReason = .length) {
        self.tokens = tokens
        self.logProbs = logProbs
        self.finishReason = finishReason
    }
}

/// Samples a completion for every prompt, sample `i` drawing from `rng.fork(i)`.
///
/// ```swift
/// let params = SamplingParams(temperature: 0.7, topP: 0.9, maxNewTokens: 64, stopTokenIDs: [eos])
/// let completions = try generate(model: policy, prompts: prompts, params: params, rng: rng.fork("rollout"))
/// ```
///
/// - Parameters:
///   - prompts: Token ids, each non-empty.
///   - onToken: Called with `(sample index, token)` as each token is chosen (for streaming).
public func generate(
    model: CausalLM, prompts: [[Int]], params: SamplingParams, rng: RNG,
    onToken: ((Int, Int) -> Void)? = nil
) throws -> [Completion] {
    try generate(model: model, prompts: prompts, params: params, streams: prompts.indices.map { rng.fork($0) }, onToken: onToken)
}

/// Samples a completion for every prompt, sample `i` drawing from `streams[i]`.
///
/// A sample's tokens depend only on its prompt and its stream: give each sample a stream named
/// by what it is (`rng.fork("prompt \(id) sample \(k)")`) and the samples do not change when the
/// batch is reordered, split or merged.
public func generate(
    model: CausalLM, prompts: [[Int]], params: SamplingParams, streams: [RNG],
    onToken: ((Int, Int) -> Void)? = nil
) throws -> [Completion] {
    try params.validate()
    guard streams.count == prompts.count else {
        throw GenerationError.invalidParameter("\(streams.count) random streams for \(prompts.count) prompts")
    }
    let vocab = model.config.vocabSize
    for (i, prompt) in prompts.enumerated() {
        guard !prompt.isEmpty else { throw GenerationError.invalidPrompt(index: i, message: "is empty; give at least one token (e.g. BOS)") }
        if let bad = prompt.first(where: { $0 < 0 || $0 >= vocab }) {
            throw GenerationError.invalidPrompt(index: i, message: "token \(bad) is outside the vocabulary (0..<\(vocab))")
        }
    }
    var results = [Completion](repeating: Completion(), count: prompts.count)
    guard !prompts.isEmpty, params.maxNewTokens > 0 else { return results }

    return try Tensor.withNoGrad {
        var streams = streams
        let longest = prompts.map(\.count).max()!
        // The last token is never fed back, so the cache needs maxNewTokens − 1 more columns.
        let capacity = longest + params.maxNewTokens - 1

        // 1. Prefill each distinct prompt alone.
        var prefilled: [[Int]: (cache: KVCache, logits: [Float])] = [:]
        for prompt in prompts where prefilled[prompt] == nil {
            let cache = model.makeCache(batch: 1, capacity: prompt.count)
            let hidden = try model.forward(ids: prompt, batch: 1, length: prompt.count, cache: cache)
            let last = try hidden.slice(axis: 1, (prompt.count - 1)..<prompt.count)
            prefilled[prompt] = (cache, try model.logits(last).data)
        }

        // Appends a token to sample `i`; returns whether the sample is finished.
        func take(_ i: Int, from logits: UnsafeBufferPointer<Float>) -> Bool {
            let (token, logProb) = TokenSampler.choose(logits, params: params, rng: &streams[i])
            results[i].tokens.append(token)
            results[i].logProbs.append(logProb)
            onToken?(i, token)
            if params.stopTokenIDs.contains(token) {
                results[i].finishReason = .eos
                return true
            }
            if params.stopSequences.contains(where: { results[i].tokens.count >= $0.count && results[i].tokens.suffix($0.count).elementsEqual($0) }) {
                results[i].finishReason = .stop
                return true
            }
            if results[i].tokens.count >= params.maxNewTokens {
                results[i].finishReason = .length
                return true
            }
            return false
        }

        var active: [Int] = []
        for i in prompts.indices {
            let done = prefilled[prompts[i]]!.logits.withUnsafeBufferPointer { take(i, from: $0) }
            if !done { active.append(i) }
        }
        guard !active.isEmpty else { return results }

        // 2. One left-padded cache for the rows still running.
        let cache = try KVCache.leftAligned(active.map { prefilled[prompts[$0]]!.cache }, capacity: capacity)
        prefilled = [:]

        // 3. Decode.
        while !active.isEmpty {
            let ids = active.map { results[$0].tokens.last! }
            let logits = try model.logits(model.forward(ids: ids, batch: active.count, length: 1, cache: cache))
            var keep: [Int] = []
            logits.data.withUnsafeBufferPointer { all in
                for (row, i) in active.enumerated() {
                    let slice = UnsafeBufferPointer(rebasing: all[(row * vocab)..<((row + 1) * vocab)])
                    if !take(i, from: slice) { keep.append(row) }
                }
            }
            if keep.count < active.count {
                active = keep.map { active[$0] }
                if !keep.isEmpty { try cache.keepRows(keep) }
            }
        }
        return results
    }
}
