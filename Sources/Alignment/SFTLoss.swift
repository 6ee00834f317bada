import Foundation
import Tensors

// Supervised fine-tuning: the negative log-likelihood of the response tokens.
// Shapes: B = rows, T = tokens per row, V = vocabulary size.

/// The SFT loss: the masked mean of `−log π(y_t | x, y_<t)` over the response tokens.
///
/// OpenRLHF's `SFTLoss`: with `.tokenMean` every response token of the batch weighs the same
/// (`token_level_loss=True`); with `.sequenceMean` each row's token mean weighs the same. For
/// gradient accumulation give the step's global count (``LossAggregation/tokenMean(tokenCount:)``).
///
/// - Parameters:
///   - perTokenLogps: `log π(y_t | …)` of each target token, [B, T].
///   - lossMask: 1 on the tokens that are trained (response tokens, EOS included), [B, T].
/// - Returns: The scalar loss.
public func sftLoss(perTokenLogps: Tensor, lossMask: Tensor, aggregation: LossAggregation = .tokenMean) throws -> Tensor {
    try aggregateLoss(-perTokenLogps, mask: lossMask, aggregation)
}

/// The causal language-model loss: cross-entropy of `logits[:, t]` against `labels[:, t + 1]`.
///
/// OpenRLHF's `GPTLMLoss` (without ring attention): the logits are shifted by one position
/// (`logits[:, :-1]` predict `labels[:, 1:]`), targets equal to `ignoreIndex` do not count, and the
/// loss is the mean over the counted targets, or their sum divided by `tokenCount` when the
/// optimizer step's count of counted targets is given. The last position's logits get no gradient.
///
/// - Parameters:
///   - logits: [B, T, V].
///   - labels: Token ids [B, T] in row-major order; `ignoreIndex` where nothing is predicted.
///   - tokenCount: Counted targets over all micro-batches of the step; nil for this batch only.
public func gptLMLoss(logits: Tensor, labels: [Int], ignoreIndex: Int = -100, tokenCount: Int? = nil) throws -> Tensor {
    guard logits.rank == 3, labels.count == logits.shape[0] * logits.shape[1] else {
        throw AlignmentError.shape(
            function: "gptLMLoss", message: "logits must be [B, T, V] and labels [B, T]; got logits \(logits.shape) and \(labels.count) labels")
    }
    let (b, t, v) = (logits.shape[0], logits.shape[1], logits.shape[2])
    guard t > 1 else {
        throw AlignmentError.shape(function: "gptLMLoss", message: "needs at least 2 positions to shift, got logits \(logits.shape)")
    }
    let shiftLogits = try logits.slice(axis: 1, 0..<(t - 1)).reshaped([b * (t - 1), v])
    var shiftLabels = [Int]()
    shiftLabels.reserveCapacity(b * (t - 1))
    for row in 0..<b { shiftLabels += labels[(row * t + 1)..<((row + 1) * t)] }
    let counted = shiftLabels.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    let total = try crossEntropy(shiftLogits, targets: shiftLabels, ignoreIndex: ignoreIndex, reduction: .sum)
    if let tokenCount, tokenCount <= 0 {
        throw AlignmentError.invalidArgument(function: "gptLMLoss", message: "tokenCount must be positive, got \(tokenCount)")
    }
    return total / Float(Swift.max(tokenCount ?? counted, 1))
}
