import Foundation
import Tensors

// Process reward models: a language model scored at step markers. Each reasoning step ends with
// a placeholder token; at those positions the model predicts a reward token ("+" / "-") or, for
// soft labels, the probability that the step is correct (Math-Shepherd, Wang et al. 2023,
// https://arxiv.org/abs/2312.08935; Lightman et al. 2023, https://arxiv.org/abs/2305.20050).
// Shapes: B = rows, T = positions, V = vocabulary size, K = reward tokens.

/// The labels of a process-reward batch, row-major [B, T]; only placeholder positions are read.
public enum PRMLabels: Sendable, Equatable {
    /// Token ids of the reward token at each placeholder (`-100` for a step that is not scored).
    case hard([Int])
    /// The probability that each step is correct, for two reward tokens (positive first).
    case soft([Float])
}

/// What ``prmLoss(inputIDs:logits:labels:placeholderTokenID:rewardTokenIDs:tokenCount:)`` returns.
public struct PRMLossOutput {
    /// The scalar loss.
    public var loss: Tensor
    /// The fraction of placeholder positions whose arg-max prediction is the label (0 when there
    /// is none).
    public var acc: Float
}

/// The PRM loss, OpenRLHF's `PRMLoss`: cross-entropy at the placeholder positions only.
///
/// - Hard labels with `rewardTokenIDs`: the logits are restricted to the K reward-token columns
///   and the label token is mapped to its index among them: `L = mean_p −log softmax(z_p[R])[label]`.
/// - Hard labels without `rewardTokenIDs`: cross-entropy over the whole vocabulary.
/// - Soft labels (K = 2): the target is `[q, 1 − q]` over the two reward tokens:
///   `L = mean_p −(q log s_p,0 + (1 − q) log s_p,1)`.
///
/// Steps labelled `-100` (hard) do not count in the loss; every placeholder counts in `acc`
/// (for soft labels the target class is the larger of q and 1 − q, the first on a tie).
///
/// - Parameters:
///   - inputIDs: Token ids, row-major [B, T].
///   - logits: [B, T, V]; differentiated.
///   - labels: Row-major [B, T]; read at placeholder positions only.
///   - placeholderTokenID: The id of the step marker.
///   - rewardTokenIDs: The reward tokens, positive first; required (two of them) for soft labels.
///   - tokenCount: The counted steps of every micro-batch of the optimizer step; nil for this
///     batch's mean.
public func prmLoss(
    inputIDs: [Int], logits: Tensor, labels: PRMLabels, placeholderTokenID: Int,
    rewardTokenIDs: [Int]? = nil, tokenCount: Int? = nil
) throws -> PRMLossOutput {
    guard logits.rank == 3, inputIDs.count == logits.shape[0] * logits.shape[1] else {
        throw AlignmentError.shape(
            function: "prmLoss", message: "logits must be [B, T, V] with B·T input ids; got \(logits.shape) and \(inputIDs.count) ids")
    }
    let n = inputIDs.count, v = logits.shape[2]
    let labelCount: Int
    switch labels {
    case .hard(let l): labelCount = l.count;
    case .soft(let l): labelCount = l.count
    }
    guard labelCount == n else {
        throw AlignmentError.shape(function: "prmLoss", message: "\(labelCount) labels for \(n) positions")
    }
    if let tokenCount, tokenCount <= 0 {
        throw AlignmentError.invalidArgument(function: "prmLoss", message: "tokenCount must be positive, got \(tokenCount)")
    }
    let placeholders = inputIDs.indices.filter { inputIDs[$0] == placeholderTokenID }
    var scores = try logits.reshaped([n, v])
    if let ids = rewardTokenIDs {
        if let bad = ids.first(where: { !(0..<v).contains($0) }) {
            throw AlignmentError.invalidArgument(function: "prmLoss", message: "reward token \(bad) is outside the vocabulary of \(v)")
        }
        scores = try gather(scores, axis: 1, index: Array(repeating: ids, count: n).flatMap { $0 })
    }
    let k = scores.shape[1]
    let predictions = try scores.argmax(axis: 1)
    var correct = 0
    let loss: Tensor
    switch labels {
    case .hard(let hard):
        var targets = [Int](repeating: -100, count: n)
        for p in placeholders where hard[p] != -100 {
            if let ids = rewardTokenIDs {
                guard let index = ids.firstIndex(of: hard[p]) else {
                    throw AlignmentError.invalidArgument(
                        function: "prmLoss", message: "label \(hard[p]) at position \(p) is not one of the reward tokens \(ids)")
                }
                targets[p] = index
            } else {
                guard (0..<v).contains(hard[p]) else {
                    throw AlignmentError.invalidArgument(
                        function: "prmLoss", message: "label \(hard[p]) at position \(p) is outside the vocabulary of \(v)")
                }
                targets[p] = hard[p]
            }
        }
        for p in placeholders where predictions[p] == targets[p] { correct += 1 }
        let counted = targets.reduce(0) { $0 + ($1 == -100 ? 0 : 1) }
        let total = try crossEntropy(scores, targets: targets, ignoreIndex: -100, reduction: .sum)
        loss = total / Float(Swift.max(tokenCount ?? counted, 1))
    case .soft(let soft):
        guard k == 2, rewardTokenIDs != nil else {
            throw AlignmentError.invalidArgument(
                function: "prmLoss",
                message: "soft labels need exactly two rewardTokenIDs (positive, negative); got \(rewardTokenIDs.map { "\($0)" } ?? "none")")
        }
        var weights = [Float](repeating: 0, count: n * 2)
        for p in placeholders {
            let q = soft[p]
            guard (0...1).contains(q) else {
                throw AlignmentError.invalidArgument(function: "prmLoss", message: "soft label \(q) at position \(p) is not a probability")
            }
            weights[2 * p] = q
            weights[2 * p + 1] = 1 - q
            if predictions[p] == (q >= 1 - q ? 0 : 1) { correct += 1 }
        }
        let total = try (logSoftmax(scores) * Tensor(shape: [n, 2], data: weights)).sum()
        loss = -total / Float(Swift.max(tokenCount ?? placeholders.count, 1))
    }
    let acc = placeholders.isEmpty ? 0 : Float(correct) / Float(placeholders.count)
    return PRMLossOutput(loss: loss, acc: acc)
}
