import Foundation
import Tensors

// Choosing the next token from one row of logits. Order as transformers' `generate` applies its
// warpers: temperature, then top-k, then top-p (over the top-k set, renormalised). Every sum runs
// in index or rank order, in Double, so a row's choice depends on its logits and its stream only.

/// How to pick tokens and when to stop.
public struct SamplingParams: Codable, Equatable, Sendable {
    /// Divides the logits before sampling; 0 means greedy.
    public var temperature: Float
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches
    /// `topP` (1: keep all).
    public var topP: Float
    /// Keep only the `topK` most likely tokens (0: keep all).
    public var topK: Int
    /// Tokens to generate at most per sample.
    public var maxNewTokens: Int
    /// Tokens that end a sample (EOS, `<|im_end|>`); the stop token is kept in the output.
    public var stopTokenIDs: [Int]
    /// Token sequences that end a sample when its output ends with one (kept in the output).
    public var stopSequences: [[Int]]
    /// Always take the most likely token (ties: the lowest id).
    public var greedy: Bool

    /// Defaults: plain sampling at temperature 1, 128 new tokens, no stop tokens.
    public init(
        temperature: Float = 1, topP: Float = 1, topK: Int = 0, maxNewTokens: Int = 128,
        stopTokenIDs: [Int] = [], stopSequences: [[Int]] = [], greedy: Bool = false
    ) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.maxNewTokens = maxNewTokens
        self.stopTokenIDs = stopTokenIDs
        self.stopSequences = stopSequences
        self.greedy = greedy
    }

    /// Greedy decoding up to `maxNewTokens`, stopping at `stopTokenIDs`.
    public static func greedy(maxNewTokens: Int, stopTokenIDs: [Int] = []) -> SamplingParams {
        SamplingParams(temperature: 0, maxNewTokens: maxNewTokens, stopTokenIDs: stopTokenIDs, greedy: true)
    }

    /// Whether tokens are chosen by argmax.
    public var isGreedy: Bool { greedy || temperature == 0 }

    /// Checks the ranges; errors say which value is wrong.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw GenerationError.invalidParameter("temperature must be ≥ 0, got \(temperature)") }
        guard topP > 0, topP <= 1 else { throw GenerationError.invalidParameter("topP must be in (0, 1], got \(topP)") }
        guard topK >= 0 else { throw GenerationError.invalidParameter("topK must be ≥ 0, got \(topK)") }
        guard maxNewTokens >= 0 else { throw GenerationError.invalidParameter("maxNewTokens must be ≥ 0, got \(maxNewTokens)") }
        guard stopSequences.allSatisfy({ !$0.isEmpty }) else { throw GenerationError.invalidParameter("stop sequences must not be empty") }
    }
}

/// An error from generation: bad parameters or prompts.
public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalidParameter(String)
    case invalidPrompt(index: Int, message: String)

    public var description: String {
        switch self {
        case .invalidParameter(let message): return "sampling: \(message)"
        case .invalidPrompt(let index, let message): return "prompt \(index): \(message)"
        }
    }
}

/// Picks tokens from rows of logits; see ``SamplingParams``.
public enum TokenSampler {
    /// The chosen token and its log-probability under `softmax(logits / temperature)` (temperature 1
    /// when greedy), before top-k / top-p truncation: the policy's log-probability that RL needs.
    public static func choose(_ logits: UnsafeBufferPointer<Float>, params: SamplingParams, rng: inout RNG) -> (token: Int, logProb: Float) {
        let v = logits.count
        let temperature = params.isGreedy ? 1 : params.temperature
        // log-softmax of logits / temperature, in Double.
        var maxValue = -Double.infinity
        for i in 0..<v { maxValue = max(maxValue, Double(logits[i]) / Double(temperature)) }
        var total = 0.0
        for i in 0..<v { total += Foundation.exp(Double(logits[i]) / Double(temperature) - maxValue) }
        let logNormalizer = maxValue + Foundation.log(total)
        func logProb(_ i: Int) -> Float { Float(Double(logits[i]) / Double(temperature) - logNormalizer) }

        if params.isGreedy {
            var best = 0
            for i in 1..<max(v, 1) where logits[i] > logits[best] { best = i }
            return (best, logProb(best))
        }

        let filtered = (params.topK > 0 && params.topK < v) || params.topP < 1
        if !filtered {
            // Inverse CDF over all tokens in id order.
            let target = rng.uniformDouble() * total
            var acc = 0.0
            var last = 0
            for i in 0..<v {
                let p = Foundation.exp(Double(logits[i]) / Double(temperature) - maxValue)
                if p > 0 { last = i }
                acc += p
                if target < acc { return (i, logProb(i)) }
            }
            return (last, logProb(last))
        }

        // Candidates by decreasing logit (ties: lower id first). Ranking every id costs
        // milliseconds for a 49k vocabulary, so rank only ids within 30 nats of the best (the
        // others hold under V·e⁻³⁰ of the mass, and each is below every candidate) and rank all
        // ids only when those cannot decide the top-k or the nucleus.
        func ranked(_ ids: [Int]) -> [Int] {
            ids.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        }
        func weight(_ i: Int) -> Double { Foundation.exp(Double(logits[i]) / Double(temperature) - maxValue) }
        let keep = params.topK > 0 ? min(params.topK, v) : v
        var order = ranked((0..<v).filter { Double(logits[$0]) / Double(temperature) >= maxValue - 30 })
        if params.topK > 0 && order.count < keep { order = ranked(Array(0..<v)) }
        var weights = order.prefix(keep).map(weight)
        var count = weights.count
        if params.topP < 1 {
            // Probabilities within the top-k set (all ids: the full normaliser).
            let normaliser = params.topK > 0 ? weights.reduce(0, +) : total
            func nucleus(_ weights: [Double]) -> Int? {
                var acc = 0.0
                for (rank, w) in weights.enumerated() {
                    acc += w / normaliser
                    if acc >= Double(params.topP) { return rank + 1 }
                }
                return nil
            }
            if let size = nucleus(weights) {
                count = size
            } else if order.count < v {
                order = ranked(Array(0..<v))
                weights = order.prefix(keep).map(weight)
                count = nucleus(weights) ?? weights.count
            }
            weights.removeLast(weights.count - count)
        }
        let target = rng.uniformDouble() * weights.reduce(0, +)
        var acc = 0.0
        for rank in 0..<count {
            acc += weights[rank]
            if target < acc { return (order[rank], logProb(order[rank])) }
        }
        return (order[count - 1], logProb(order[count - 1]))
    }
}
