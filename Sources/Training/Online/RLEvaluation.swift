import Datasets
import Foundation
import Generation
import Models
import Tensors
import Tokenizers

// Evaluation of a policy on held-out prompts, as OpenRLHF v0.7.0's `evaluate` in
// `ppo_actor.py`: k samples per prompt at the eval temperature, scored by the reward, and per
// `datasource` pass@k = mean over prompts of the best of the k rewards, pass@1 = mean reward.

/// The scores of one data source.
public struct DatasourceScore: Sendable, Equatable {
    /// Mean over prompts of the highest reward among the k samples.
    public var passAtK: Double
    /// Mean reward over all samples.
    public var passAt1: Double
    /// Prompts of this source.
    public var prompts: Int
}

/// The result of `evaluatePassAtK`: pass@k and pass@1 per data source.
public struct RLEvalResult: Sendable, Equatable {
    /// Samples per prompt.
    public var k: Int
    /// Scores per `datasource`.
    public var sources: [String: DatasourceScore]
    /// Mean response length in tokens.
    public var responseLength: Double

    /// The metrics as the run file names them: `<datasource>_pass<k>` and `<datasource>_pass1`
    /// (OpenRLHF's `eval_<datasource>_pass<k>` without the prefix, which the run file's group
    /// gives), and `response_length`.
    public var metrics: [String: Double] {
        var values: [String: Double] = ["response_length": responseLength]
        for (source, score) in sources {
            values["\(source)_pass\(k)"] = score.passAtK
            values["\(source)_pass1"] = score.passAt1
        }
        return values
    }

    /// pass@1 over all prompts of all sources.
    public var passAt1: Double {
        let total = sources.values.reduce(0) { $0 + $1.prompts }
        return sources.values.reduce(0) { $0 + $1.passAt1 * Double($1.prompts) } / Double(max(total, 1))
    }

    /// pass@k over all prompts of all sources.
    public var passAtK: Double {
        let total = sources.values.reduce(0) { $0 + $1.prompts }
        return sources.values.reduce(0) { $0 + $1.passAtK * Double($1.prompts) } / Double(max(total, 1))
    }
}

/// Samples `nSamplesPerPrompt` responses per prompt and reports pass@k and pass@1 per `datasource`.
///
/// Sample `i` (prompt `i / k`, copy `i % k`) draws from `rng.fork(i)`, so the same stream gives the
/// same samples to the same policy, and two policies are compared on common random numbers.
///
/// ```swift
/// let result = try evaluatePassAtK(model: policy, prompts: evalPrompts, reward: reward,
///                                  tokenizer: tokenizer, nSamplesPerPrompt: 4, temperature: 0.6,
///                                  maxNewTokens: 16, rng: RNG(seed: 0))
/// result.metrics["sort_digits_pass1"]
/// ```
///
/// - Parameters:
///   - temperature: 0 decodes greedily.
///   - promptMaxLen: Longer prompts keep their last tokens.
/// - Throws: ``TrainingError/invalidData(_:)`` naming the sample when a reward fails.
public func evaluatePassAtK(
    model: CausalLM, prompts: [PromptExample], reward: RewardSource, tokenizer: any TextTokenizer,
    nSamplesPerPrompt: Int, temperature: Double, topP: Double = 1, maxNewTokens: Int,
    promptMaxLen: Int? = nil, microBatchSize: Int = 8, rng: RNG
) throws -> RLEvalResult {
    guard nSamplesPerPrompt >= 1 else {
        throw TrainingError.invalidOption("evalNSamplesPerPrompt", "must be ≥ 1, got \(nSamplesPerPrompt)")
    }
    var options = PPOOptions()
    options.temperature = max(temperature, 1e-6)
    options.topP = topP
    options.generateMaxLen = maxNewTokens
    options.promptMaxLen = promptMaxLen ?? Int.max
    options.microRolloutBatchSize = microBatchSize
    let maker = ExperienceMaker(actor: model, reference: nil, critic: nil, reward: reward, tokenizer: tokenizer, options: options)
    let samples = try maker.generate(
        prompts.enumerated().map { ($0.offset, $0.element) }, n: nSamplesPerPrompt,
        temperature: temperature, rng: rng)
    let queries = samples.enumerated().map { i, s in
        RewardQuery(
            index: i, prompt: s.prompt.text, response: s.responseText, label: s.prompt.label.isEmpty ? nil : s.prompt.label,
            ids: s.ids)
    }
    let rewards = try reward.rewards(queries, microBatchSize: microBatchSize, padTokenID: maker.padTokenID, what: "evaluation")

    var sums: [String: (best: Double, mean: Double, prompts: Int)] = [:]
    for (p, prompt) in prompts.enumerated() {
        let group = rewards[(p * nSamplesPerPrompt)..<((p + 1) * nSamplesPerPrompt)]
        var entry = sums[prompt.datasource] ?? (0, 0, 0)
        entry.best += group.max()!
        entry.mean += group.reduce(0, +) / Double(nSamplesPerPrompt)
        entry.prompts += 1
        sums[prompt.datasource] = entry
    }
    var sources: [String: DatasourceScore] = [:]
    for (source, s) in sums {
        sources[source] = DatasourceScore(passAtK: s.best / Double(s.prompts), passAt1: s.mean / Double(s.prompts), prompts: s.prompts)
    }
    let tokens = samples.reduce(0) { $0 + $1.responseIDs.count }
    return RLEvalResult(k: nSamplesPerPrompt, sources: sources, responseLength: Double(tokens) / Double(max(samples.count, 1)))
}
