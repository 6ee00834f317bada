import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Tokenizers

// Process reward models, as OpenRLHF's `ProcessRewardModelTrainer`: a causal LM whose logits at
// each step's placeholder token predict a reward token ("+" / "-"), trained by cross-entropy at
// the placeholders only — hard labels (the reward token) or soft ones (the probability that the
// step is correct).

/// The process reward model's options (OpenRLHF `train_prm.py`).
public struct PRMOptions: Codable, Equatable, Sendable, DeclaredOptions {
    /// The reward tokens' ids, the positive one first (OpenRLHF `--reward_tokens`): the logits are
    /// restricted to them. nil: hard labels over the whole vocabulary. Soft labels need two.
    public var rewardTokenIDs: [Int]?

    public init(rewardTokenIDs: [Int]? = nil) {
        self.rewardTokenIDs = rewardTokenIDs
    }

    public static let options: [OptionRow<PRMOptions>] = []
    public static let internalFields = ["rewardTokenIDs": "the ids of the data's reward tokens, read from the tokenizer"]

    /// The reward tokens given as text (e.g. `["+", "-"]`), each one token of `tokenizer`.
    ///
    /// - Throws: ``TrainingError/invalidOption(_:_:)`` for a token that is not one token.
    public init(rewardTokens: [String], tokenizer: any TextTokenizer) throws {
        rewardTokenIDs = try rewardTokens.map { token in
            if let id = tokenizer.tokenID(token) { return id }
            let ids = tokenizer.encode(token)
            guard ids.count == 1 else {
                throw TrainingError.invalidOption(
                    "rewardTokens", "\(token.debugDescription) is \(ids.count) tokens \(ids); each reward token must be one token")
            }
            return ids[0]
        }
    }
}

/// Trains a process reward model on texts whose steps end with a placeholder token.
///
/// At every placeholder the logits (restricted to the reward tokens when given) are trained to
/// predict the step's label: ``prmLoss(inputIDs:logits:labels:placeholderTokenID:rewardTokenIDs:tokenCount:)``,
/// one mean over the labelled steps of the optimizer step. Only `lossAggregation: .token` is
/// supported.
///
/// ```swift
/// let data = try ProcessRewardDataset.load(task.processRewards, tokenizer: tokenizer,
///                                          placeholderToken: SyntheticTask.placeholderToken)
/// let prm = try PRMOptions(rewardTokens: SyntheticTask.rewardTokens, tokenizer: tokenizer)
/// let summary = try trainPRM(model, data: data.examples, eval: heldOut.examples, options: options,
///                            prm: prm, context: context)
/// ```
///
/// Step metrics: `loss`, `acc` (the share of steps whose arg-max reward token is the label). Eval
/// metrics: `loss`, `acc` on the held-out split.
///
/// - Parameters:
///   - loadCheckpoint: Resume from the latest checkpoint in `options.ckptPath` (see ``trainSFT(_:data:eval:options:loadCheckpoint:context:)``).
/// - Throws: ``TrainingError`` for bad options or data, a non-finite loss, or a checkpoint that does
///   not fit.
public func trainPRM(
    _ model: CausalLM, data: [ProcessRewardExample], eval: [ProcessRewardExample] = [],
    options: TrainingOptions = .init(), prm: PRMOptions = .init(), loadCheckpoint: Bool = false,
    context: RunContext
) throws -> TrainingSummary {
    guard options.lossAggregation == .token else {
        throw TrainingError.invalidOption("lossAggregation", "must be .token for a process reward model (its loss is a mean over steps)")
    }
    let placeholder = try checkProcessRewardData(data, eval: eval, vocabSize: model.config.vocabSize, maxLen: options.maxLen, prm: prm)
    var config: [String: ConfigValue] = ["placeholder_token_id": .int(placeholder)]
    if let ids = prm.rewardTokenIDs { config["reward_token_ids"] = .ints(ids) }
    let driver = try TrainingDriver(
        kind: "prm", data: data, eval: eval, options: options,
        parameters: model.trainableParameters(), transformer: model.transformer,
        config: config, loadCheckpoint: loadCheckpoint, context: context)
    let pad = prmPadTokenID(model.config, placeholder: placeholder)
    return try driver.run(
        denominator: { step in step.reduce(0) { $0 + labelledSteps($1) } },
        micro: { mb in
            let (batch, labels) = try processRewardBatch(mb.examples, options: options, padTokenID: pad)
            let logits = try driver.recordingActivations(mb, keyMask: batch.keyMask) { try batch.logits(model) }
            let out = try prmLoss(
                inputIDs: batch.inputIDs, logits: logits, labels: labels, placeholderTokenID: placeholder,
                rewardTokenIDs: prm.rewardTokenIDs, tokenCount: mb.denominator)
            try out.loss.backward()
            var metrics = MetricSums()
            let steps = Double(mb.examples.reduce(0) { $0 + $1.labels.count })
            metrics.add("acc", sum: Double(out.acc) * steps, count: steps)
            return MicroResult(loss: Double(try out.loss.item), metrics: metrics, tokens: batch.keyMask.filter { $0 }.count)
        },
        evaluate: { eval in try evaluatePRM(model, on: eval, options: options, prm: prm) })
}

/// Evaluates a process reward model on held-out examples: `loss` (mean over the labelled steps of
/// the split) and `acc`.
public func evaluatePRM(
    _ model: CausalLM, on examples: [ProcessRewardExample], options: TrainingOptions = .init(),
    prm: PRMOptions = .init()
) throws -> [String: Double] {
    guard let placeholder = examples.first?.placeholderTokenID else { return [:] }
    let total = examples.reduce(0) { $0 + labelledSteps($1) }
    guard total > 0 else { return [:] }
    let pad = prmPadTokenID(model.config, placeholder: placeholder)
    return try Tensor.withNoGrad {
        var sums = MetricSums()
        for chunk in chunks(examples, size: options.microTrainBatchSize) {
            let (batch, labels) = try processRewardBatch(chunk, options: options, padTokenID: pad)
            let out = try prmLoss(
                inputIDs: batch.inputIDs, logits: batch.logits(model), labels: labels,
                placeholderTokenID: placeholder, rewardTokenIDs: prm.rewardTokenIDs, tokenCount: total)
            sums.addTotal("loss", Double(try out.loss.item))
            let steps = Double(chunk.reduce(0) { $0 + $1.labels.count })
            sums.add("acc", sum: Double(out.acc) * steps, count: steps)
        }
        return sums.values
    }
}

// MARK: - Pieces

/// The texts laid out for one forward pass and their step labels on the same grid.
func processRewardBatch(
    _ examples: [ProcessRewardExample], options: TrainingOptions,
    padTokenID: Int
) throws -> (TokenBatch, PRMLabels) {
    let masks = examples.map { e in e.ids.map { $0 == e.placeholderTokenID ? Float(1) : 0 } }
    let batch = try TokenBatch(
        sequences: examples.map(\.ids), lossMasks: masks, packing: options.packing, maxLen: options.maxLen,
        padTokenID: padTokenID)
    func perToken<T>(_ e: ProcessRewardExample, _ labels: [T], fill: T) -> [T] {
        var values = [T](repeating: fill, count: e.ids.count)
        var k = 0
        for (t, id) in e.ids.enumerated() where id == e.placeholderTokenID {
            values[t] = labels[k]
            k += 1
        }
        return values
    }
    switch examples.first?.labels {
    case .probabilities:
        let grid = batch.layout(
            examples.map { e -> [Float] in
                guard case .probabilities(let p) = e.labels else { return [] }
                return perToken(e, p, fill: -100)
            }, fill: -100)
        return (batch, .soft(grid))
    default:
        let grid = batch.layout(
            examples.map { e -> [Int] in
                guard case .tokens(let t) = e.labels else { return [] }
                return perToken(e, t, fill: -100)
            }, fill: -100)
        return (batch, .hard(grid))
    }
}

/// The steps of an example that count in the loss.
func labelledSteps(_ example: ProcessRewardExample) -> Int {
    switch example.labels {
    case .tokens(let t): return t.filter { $0 != -100 }.count
    case .probabilities(let p): return p.count
    }
}

/// A pad id that is not the placeholder (padding must never be scored).
func prmPadTokenID(_ config: ModelConfig, placeholder: Int) -> Int {
    let pad = padTokenID(config)
    return pad != placeholder ? pad : (placeholder == 0 ? 1 : 0)
}

/// Checks process-reward data; returns the placeholder id all examples share.
func checkProcessRewardData(
    _ data: [ProcessRewardExample], eval: [ProcessRewardExample], vocabSize: Int, maxLen: Int,
    prm: PRMOptions
) throws -> Int {
    guard let placeholder = data.first?.placeholderTokenID else { throw TrainingError.invalidData("prm: the training data is empty") }
    if let ids = prm.rewardTokenIDs, let bad = ids.first(where: { !(0..<vocabSize).contains($0) }) {
        throw TrainingError.invalidOption("rewardTokenIDs", "\(bad) is outside the model's vocabulary of \(vocabSize)")
    }
    let soft = data.first.map { if case .probabilities = $0.labels { return true } else { return false } } ?? false
    if soft && prm.rewardTokenIDs?.count != 2 {
        throw TrainingError.invalidOption("rewardTokenIDs", "soft (probability) labels need exactly two reward tokens, positive first")
    }
    for (split, examples) in [("training", data), ("eval", eval)] {
        for (i, e) in examples.enumerated() {
            let what = "prm: \(split) example \(i)"
            try checkSequence(e.ids, vocabSize: vocabSize, maxLen: maxLen, what: what)
            guard e.placeholderTokenID == placeholder else {
                throw TrainingError.invalidData(
                    "\(what) uses placeholder token \(e.placeholderTokenID), the others \(placeholder); load every split with the same placeholderToken"
                )
            }
            let placeholders = e.ids.filter { $0 == placeholder }.count
            guard placeholders > 0 else { throw TrainingError.invalidData("\(what) has no placeholder token (\(placeholder)), so no step to score") }
            guard e.labels.count == placeholders else {
                throw TrainingError.invalidData("\(what) has \(e.labels.count) labels for \(placeholders) placeholder tokens")
            }
            switch e.labels {
            case .probabilities:
                guard soft else { throw TrainingError.invalidData("\(what) has probability labels, the first example token labels; use one kind") }
            case .tokens(let tokens):
                guard !soft else { throw TrainingError.invalidData("\(what) has token labels, the first example probabilities; use one kind") }
                for label in tokens where label != -100 {
                    if let ids = prm.rewardTokenIDs, !ids.contains(label) {
                        throw TrainingError.invalidData("\(what): label token \(label) is not one of the reward tokens \(ids)")
                    }
                    guard (0..<vocabSize).contains(label) else {
                        throw TrainingError.invalidData("\(what): label token \(label) is outside the vocabulary of \(vocabSize)")
                    }
                }
            }
        }
    }
    try checkHeldOut(train: data, eval: eval, kind: "prm")
    return placeholder
}
