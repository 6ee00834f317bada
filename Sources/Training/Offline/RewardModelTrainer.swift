import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors

// Reward-model training, as OpenRLHF's `RewardModelTrainer`: a scalar head read at each sequence's
// last real token (its EOS), chosen and rejected responses scored in one forward pass, and a
// pairwise (Bradley–Terry) loss over the pairs of the step.

/// The reward model's options (OpenRLHF `train_rm.py`).
public struct RewardModelOptions: Codable, Equatable, Sendable, DeclaredOptions {
    // Each field is documented and checked by its row in `options`.
    /// The pairwise loss (OpenRLHF `--loss`).
    public enum Loss: String, Codable, Sendable, OptionChoice {
        case sigmoid
        case logexp

        public static var typeName: String { "RewardModelLoss" }

        public var doc: String {
            switch self {
            case .sigmoid: return "−log σ(r_w − r_l − m), OpenRLHF's default."
            case .logexp: return "log(1 + exp(r_l − r_w)), no margin."
            }
        }
    }

    public var loss: Loss
    public var marginLoss: Bool

    public init(loss: Loss = .sigmoid, marginLoss: Bool = false) {
        self.loss = loss
        self.marginLoss = marginLoss
    }

    public static let options: [OptionRow<RewardModelOptions>] = [
        .choice("loss", \.loss, "The pairwise loss."),
        .bool("marginLoss", \.marginLoss, "Subtract each pair's margin inside the sigmoid loss."),
    ]
}

/// Trains a reward model on preference pairs.
///
/// Build the model from a language model with `ScalarModel(kind: .reward, from: base, rng:)` (a
/// fresh `score` head on the base's stack). Each pair's chosen and rejected sequences go through
/// one forward pass; the reward is the head at the sequence's last real token. The step loss is the
/// mean over the step's pairs of `−log σ(r_w − r_l [− margin])` (or the log-exp form).
///
/// ```swift
/// let rm = ScalarModel(kind: .reward, from: policy, rng: RNG(seed: 1))
/// let summary = try trainRewardModel(rm, data: prefs.examples, eval: heldOut.examples,
///                                    options: options, context: context)
/// try saveRewardModel(rm, to: folder, rewardMean: summary.finalEval?["reward_mean"],
///                     rewardStd: summary.finalEval?["reward_std"])
/// ```
///
/// Step metrics: `loss`, `acc` (chosen scored above rejected), `chosen_reward`, `rejected_reward`,
/// `margin`. Eval metrics: those, plus `reward_mean` and `reward_std` over every eval score (see
/// ``evaluateRewardModel(_:on:options:rm:)``).
///
/// - Parameters:
///   - rm: The loss and whether it uses the pairs' margins.
///   - loadCheckpoint: Resume from the latest checkpoint in `options.ckptPath` (see ``trainSFT(_:data:eval:options:loadCheckpoint:context:)``).
/// - Throws: ``TrainingError`` for bad options or data, a non-finite loss, or a checkpoint that does
///   not fit.
public func trainRewardModel(
    _ model: ScalarModel, data: [PreferenceExample], eval: [PreferenceExample] = [],
    options: TrainingOptions = .init(), rm: RewardModelOptions = .init(),
    loadCheckpoint: Bool = false, context: RunContext
) throws -> TrainingSummary {
    if rm.marginLoss && rm.loss == .logexp {
        throw TrainingError.invalidOption("marginLoss", "needs loss .sigmoid (the log-exp loss has no margin)")
    }
    try checkPreferenceData(data, eval: eval, vocabSize: model.config.vocabSize, maxLen: options.maxLen, kind: "rm")
    let driver = try TrainingDriver(
        kind: "rm", data: data, eval: eval, options: options,
        parameters: model.trainableParameters(), transformer: model.transformer,
        config: rm.configValues,
        loadCheckpoint: loadCheckpoint, context: context)
    let pad = padTokenID(model.config)
    return try driver.run(
        denominator: { step in step.count },
        micro: { mb in
            let batch = try preferenceBatch(mb.examples, options: options, padTokenID: pad)
            let scores = try driver.recordingActivations(mb, keyMask: batch.keyMask) { try batch.scores(model) }
            let (chosen, rejected) = try splitPairs(scores, pairs: mb.examples.count)
            let loss = try rewardModelLoss(chosen: chosen, rejected: rejected, mb.examples, rm: rm, pairCount: mb.denominator)
            try loss.backward()
            return MicroResult(
                loss: Double(try loss.item), metrics: preferenceMetrics(chosen: chosen.data, rejected: rejected.data),
                tokens: batch.keyMask.filter { $0 }.count)
        },
        evaluate: { eval in try evaluateRewardModel(model, on: eval, options: options, rm: rm) })
}

/// Writes the reward model (`model.safetensors` + `config.json`, the layout of HF
/// `…ForSequenceClassification`) and records the reward statistics in its config as OpenRLHF does
/// (`mean`, `std`), so rewards can be normalised when the model serves PPO.
public func saveRewardModel(_ model: ScalarModel, to directory: URL, rewardMean: Double? = nil, rewardStd: Double? = nil) throws {
    try model.save(to: directory)
    guard rewardMean != nil || rewardStd != nil else { return }
    let url = directory.appendingPathComponent("config.json")
    guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
        throw TrainingError.checkpoint("\(url.path) is not a JSON object")
    }
    if let rewardMean { config["mean"] = rewardMean }
    if let rewardStd { config["std"] = rewardStd }
    try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: url, options: .atomic)
}

// MARK: - Pieces shared with evaluation

/// The scores of each pair's chosen and rejected sequences, [B] each, and the batch they came from.
func rewardScores(
    _ model: ScalarModel, _ pairs: [PreferenceExample], options: TrainingOptions,
    padTokenID: Int
) throws -> (chosen: Tensor, rejected: Tensor, batch: TokenBatch) {
    let batch = try preferenceBatch(pairs, options: options, padTokenID: padTokenID)
    let (chosen, rejected) = try splitPairs(batch.scores(model), pairs: pairs.count)
    return (chosen, rejected, batch)
}

/// The pairwise loss of a batch of pairs, divided by `pairCount` (nil: the batch's mean).
func rewardModelLoss(
    chosen: Tensor, rejected: Tensor, _ pairs: [PreferenceExample], rm: RewardModelOptions,
    pairCount: Int?
) throws -> Tensor {
    switch rm.loss {
    case .sigmoid:
        let margin = rm.marginLoss ? Tensor(shape: [pairs.count], data: pairs.map(\.margin)) : nil
        return try pairwiseLoss(chosenReward: chosen, rejectReward: rejected, margin: margin, pairCount: pairCount)
    case .logexp:
        return try logExpLoss(chosenReward: chosen, rejectReward: rejected, pairCount: pairCount)
    }
}

/// Checks preference pairs (reward model, DPO) against the model and options.
func checkPreferenceData(_ data: [PreferenceExample], eval: [PreferenceExample], vocabSize: Int, maxLen: Int, kind: String) throws {
    for (split, examples) in [("training", data), ("eval", eval)] {
        for (i, e) in examples.enumerated() {
            for (side, sequence) in [("chosen", e.chosen), ("rejected", e.rejected)] {
                try checkSequence(
                    sequence.ids, lossMask: sequence.lossMask, vocabSize: vocabSize, maxLen: maxLen,
                    what: "\(kind): \(split) pair \(i) (\(side))")
            }
        }
    }
    try checkHeldOut(train: data, eval: eval, kind: kind)
}
