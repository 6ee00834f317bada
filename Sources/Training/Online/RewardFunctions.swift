import Foundation
import Models
import Tensors

// Where the scalar reward of a response comes from: a reward model (OpenRLHF `--reward_pretrain`),
// a function written in the recipe (OpenRLHF's `reward_func(queries, prompts, labels)`, one sample
// at a time), or a weighted sum of several. Every score is checked: a reward function that throws
// or returns a non-finite number stops the run with an error naming the sample.

/// A reward written in the recipe: the prompt text (template applied), the response text (stop
/// token removed, special tokens skipped) and the prompt's label (nil when the data has none).
public typealias RewardFunction = (_ prompt: String, _ response: String, _ label: String?) throws -> Double

/// The mean and standard deviation a reward model's scores are normalised with,
/// `(r − mean) / std` (OpenRLHF `--normalize_reward`, the statistics stored with the model).
public struct RewardNormalization: Codable, Equatable, Sendable {
    public var mean: Double
    public var std: Double

    public init(mean: Double, std: Double) {
        self.mean = mean
        self.std = std
    }
}

/// Where rewards come from.
///
/// ```swift
/// let reward = RewardSource.function { prompt, response, _ in task.score(prompt, response) }
/// let mixed = RewardSource.weighted([(.model(rewardModel), 0.5), (reward, 0.5)])
/// ```
public indirect enum RewardSource {
    /// A reward model (`ScalarModel` of kind `.reward`), read at each sequence's last token,
    /// optionally normalised.
    case model(ScalarModel, normalization: RewardNormalization? = nil)
    /// A function of the prompt, the response and the label.
    case function(RewardFunction)
    /// `Σ weight · reward` over several sources.
    case weighted([(source: RewardSource, weight: Double)])
    /// A function returning named components (`["format": 1, "answer": 0.5]`); the reward is
    /// `Σ weights[name] · value` (weight 1 for a name `weights` leaves out). See RewardComponents.swift.
    case components(RewardComponentsFunction, weights: [String: Double])

    /// A short description for the run file's config.
    public var summary: String {
        switch self {
        case .model(_, let normalization): return normalization == nil ? "reward_model" : "reward_model(normalized)"
        case .function: return "function"
        case .weighted(let parts): return "weighted(" + parts.map { "\($0.weight)×\($0.source.summary)" }.joined(separator: ", ") + ")"
        case .components(_, let weights):
            return "components(" + weights.keys.sorted().map { "\($0): \(weights[$0]!)" }.joined(separator: ", ") + ")"
        }
    }

    /// Checks the source before a run: a reward model of the right kind, finite weights.
    public func validate(vocabularySize: Int) throws {
        switch self {
        case .model(let model, let normalization):
            guard model.kind == .reward else {
                throw TrainingError.invalidOption("reward", "needs a reward model (ScalarModel kind .reward), got a \(model.kind.rawValue)")
            }
            guard model.config.vocabSize == vocabularySize else {
                throw TrainingError.invalidOption(
                    "reward",
                    "the reward model's vocabulary (\(model.config.vocabSize)) differs from the policy's (\(vocabularySize)); "
                        + "it must read the same token ids")
            }
            if let normalization, !(normalization.std > 0) || !normalization.mean.isFinite {
                throw TrainingError.invalidOption("reward", "normalization needs a finite mean and std > 0, got \(normalization)")
            }
        case .function: break
        case .components(_, let weights):
            for (name, weight) in weights.sorted(by: { $0.key < $1.key }) {
                if let problem = rewardComponentNameProblem(name) { throw TrainingError.invalidOption("rewardWeights", problem) }
                guard weight.isFinite else { throw TrainingError.invalidOption("rewardWeights", "weight of \(name) is \(weight), not finite") }
            }
        case .weighted(let parts):
            guard !parts.isEmpty else { throw TrainingError.invalidOption("reward", "a weighted reward needs at least one source") }
            for part in parts {
                guard part.weight.isFinite else { throw TrainingError.invalidOption("reward", "weight \(part.weight) is not finite") }
                try part.source.validate(vocabularySize: vocabularySize)
            }
        }
    }
}

/// One response to score.
struct RewardQuery {
    /// The sample's index in its batch (rollout or evaluation), for error messages.
    var index: Int
    var prompt: String
    var response: String
    var label: String?
    /// Prompt and response token ids, as the reward model reads them.
    var ids: [Int]
}

extension RewardSource {
    /// The reward of every query, in order. Reward models run `microBatchSize` sequences at a time
    /// without gradients.
    ///
    /// - Parameter what: Names the batch in errors ("rollout 3", "evaluation").
    /// - Throws: ``TrainingError/invalidData(_:)`` naming the sample when a function throws or a
    ///   reward is not finite.
    func rewards(_ queries: [RewardQuery], microBatchSize: Int, padTokenID: Int, what: String) throws -> [Double] {
        try scored(queries, microBatchSize: microBatchSize, padTokenID: padTokenID, what: what).rewards
    }

    /// The reward of every query, in order, and the named components of each (empty without a
    /// `.components` source; those of several such sources are merged).
    func scored(_ queries: [RewardQuery], microBatchSize: Int, padTokenID: Int, what: String) throws
        -> (rewards: [Double], components: [[String: Double]])
    {
        let none = [[String: Double]](repeating: [:], count: queries.count)
        switch self {
        case .components(let function, let weights):
            let components = try rewardComponents(function, queries, what: what)
            return (try weightedSum(components, weights: weights, what: what), components)
        case .weighted(let parts):
            var total = [Double](repeating: 0, count: queries.count), components = none
            for part in parts {
                let r = try part.source.scored(queries, microBatchSize: microBatchSize, padTokenID: padTokenID, what: what)
                for i in total.indices {
                    total[i] += part.weight * r.rewards[i]
                    components[i].merge(r.components[i]) { _, new in new }
                }
            }
            return (total, components)
        default:
            return (try plainRewards(queries, microBatchSize: microBatchSize, padTokenID: padTokenID, what: what), none)
        }
    }

    /// The rewards of a reward model or a function returning one number.
    private func plainRewards(_ queries: [RewardQuery], microBatchSize: Int, padTokenID: Int, what: String) throws -> [Double] {
        switch self {
        case .model(let model, let normalization):
            var out: [Double] = []
            out.reserveCapacity(queries.count)
            for start in stride(from: 0, to: queries.count, by: max(microBatchSize, 1)) {
                let chunk = Array(queries[start..<min(start + max(microBatchSize, 1), queries.count)])
                let length = chunk.map(\.ids.count).max() ?? 1
                var ids: [Int] = [], keyMask: [Bool] = []
                for q in chunk {
                    ids += q.ids + [Int](repeating: padTokenID, count: length - q.ids.count)
                    keyMask += [Bool](repeating: true, count: q.ids.count) + [Bool](repeating: false, count: length - q.ids.count)
                }
                let scores = try Tensor.withNoGrad {
                    try model.rewards(ids: ids, batch: chunk.count, length: length, keyMask: keyMask)
                }
                for (q, s) in zip(chunk, scores.data) {
                    var r = Double(s)
                    if let normalization { r = (r - normalization.mean) / normalization.std }
                    try Self.check(r, q, what: what, source: "the reward model")
                    out.append(r)
                }
            }
            return out
        case .function(let function):
            return try queries.map { q in
                let r: Double
                do {
                    r = try function(q.prompt, q.response, q.label)
                } catch {
                    throw TrainingError.invalidData(
                        "\(what): the reward function failed on sample \(q.index) (prompt \(q.prompt.debugDescription), "
                            + "response \(q.response.debugDescription)): \(error)")
                }
                try Self.check(r, q, what: what, source: "the reward function")
                return r
            }
        case .weighted, .components:
            return try scored(queries, microBatchSize: microBatchSize, padTokenID: padTokenID, what: what).rewards
        }
    }

    static func check(_ r: Double, _ q: RewardQuery, what: String, source: String) throws {
        guard r.isFinite else {
            throw TrainingError.invalidData(
                "\(what): \(source) returned \(r) for sample \(q.index) (prompt \(q.prompt.debugDescription), "
                    + "response \(q.response.debugDescription)); rewards must be finite numbers")
        }
    }
}
