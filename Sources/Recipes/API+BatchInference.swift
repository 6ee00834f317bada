import Datasets
import Foundation
import Generation
import RecipeLanguage
import Tensors
import Training

// The Swift API behind the best-of-n builtins: OpenRLHF's `batch_inference` loops (rejection
// sampling, iterative DPO) over the rollout engine.

/// `n` scored responses for every training prompt of a dataset.
public final class BestOfN: RecipeObject {
    public static var recipeTypeName: String { "BestOfN" }

    public let scored: [[ScoredCompletion]]
    /// The prompts they answer, for the held-out splits of the data made from them.
    let prompts: TrainingData

    init(scored: [[ScoredCompletion]], prompts: TrainingData) {
        self.scored = scored
        self.prompts = prompts
    }

    public func describe() -> String {
        let rewards = scored.flatMap { $0.map(\.reward) }
        let best = scored.map { $0.map(\.reward).max() ?? 0 }
        let mean = { (xs: [Double]) in xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
        return "BestOfN: \(scored.count) prompts × \(scored.first?.count ?? 0) samples; mean reward \(formatMetric(mean(rewards))), "
            + "mean best \(formatMetric(mean(best)))"
    }

    /// The best response of each prompt as SFT data (OpenRLHF's rejection sampling).
    public func rejectionSampling() -> TrainingData {
        TrainingData(
            kind: .sft, name: "rejection sampling", records: Training.rejectionSampling(scored),
            evalRecords: prompts.task?.demonstrations.evalRecords ?? [], task: prompts.task)
    }

    /// Every response as SFT data whose input carries its score (conditional SFT); train on it, then
    /// sample with the prompt followed by a high score.
    public func conditionalSFT(rewardTemplate: String = "{input} <rm_score>: {reward} ", normalizeReward: Bool = false) -> TrainingData {
        orExit { try makeConditionalSFT(rewardTemplate: rewardTemplate, normalizeReward: normalizeReward) }
    }

    func makeConditionalSFT(rewardTemplate: String, normalizeReward: Bool) throws -> TrainingData {
        TrainingData(
            kind: .sft, name: "conditional SFT",
            records: try Training.conditionalSFT(scored, rewardTemplate: rewardTemplate, normalizeReward: normalizeReward),
            evalRecords: [], task: nil)
    }

    /// The best and the worst response of each prompt as preference data (iterative DPO).
    public func dpoPairs() -> TrainingData {
        TrainingData(
            kind: .preference, name: "iterative DPO pairs", records: iterativeDPOPairs(scored),
            evalRecords: prompts.task?.preferences.evalRecords ?? [], task: prompts.task)
    }
}

extension BestOfN: CustomStringConvertible {
    public var description: String { describe() }
}

func runBestOfN(
    _ policy: Model, prompts: TrainingData, n: Int, temperature: Double, maxNewTokens: Int,
    reward: ((String, String, String?) throws -> Double)?
) throws -> BestOfN {
    let (train, _) = try prompts.prompts(policy.tokenizer, promptMaxLen: nil)
    let params = SamplingParams(temperature: Float(temperature), maxNewTokens: maxNewTokens, stopTokenIDs: [policy.eosTokenID])
    let scored = try Training.bestOfN(
        model: policy.lm, prompts: train, n: n, params: params,
        reward: try rewardSource(reward, model: nil, prompts: prompts),
        tokenizer: policy.tokenizer, rng: Session.current.nextSamplingStream())
    return BestOfN(scored: scored, prompts: prompts)
}

extension TrainingData {
    /// Writes the training records as OpenRLHF JSONL under the output folder.
    public func save(_ path: String) { orExit { try makeSaved(path) } }

    func makeSaved(_ path: String) throws {
        let url = try Session.current.writableURL(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONLines.write(records, to: url.path)
    }
}
