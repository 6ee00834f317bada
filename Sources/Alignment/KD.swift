import Foundation
import Tensors

// Knowledge distillation: the student matches the teacher's next-token distribution.
// Shapes: B = rows, T = positions, V = vocabulary size.

/// The distillation loss of MiniLLM's baseline (Gu et al. 2023, https://arxiv.org/abs/2306.08543):
/// the cross-entropy of the student against the teacher's distribution, i.e. the forward
/// KL(p_teacher ‖ p_student) up to the teacher's entropy, which has no gradient:
///
///     x_t = Σ_v p_teacher(v | t) · log p_student(v | t)
///     L   = −Σ_t x_t · mask_t / Σ_t mask_t
///
/// OpenRLHF's `KDLoss`. The logits are NOT shifted (OpenRLHF passes the model's logits with
/// `mask = labels != -100` directly); shift them and the mask yourself to distil next-token
/// predictions only. Vocabulary entries where the student's logit is ±∞ contribute 0.
/// The trainer mixes it with the language-model loss: `(1 − kdCoef) · gptLMLoss + kdCoef · kdLoss`.
///
/// - Parameters:
///   - logits: The student's logits [B, T, V]; differentiated.
///   - teacherLogits: The teacher's logits [B, T, V]; not differentiated.
///   - lossMask: 1 at the positions that count, [B, T].
///   - tokenCount: The counted positions of every micro-batch of the optimizer step, so that
///     micro-batch losses add up to the step's token mean; nil for this batch's mean.
public func kdLoss(logits: Tensor, teacherLogits: Tensor, lossMask: Tensor, tokenCount: Int? = nil) throws -> Tensor {
    guard logits.shape == teacherLogits.shape, logits.rank >= 2, Array(logits.shape.dropLast()) == lossMask.shape else {
        throw AlignmentError.shape(
            function: "kdLoss",
            message:
                "logits \(logits.shape), teacherLogits \(teacherLogits.shape) and lossMask \(lossMask.shape) must be [B, T, V], [B, T, V], [B, T]")
    }
    let teacherProbs = try Tensor.withNoGrad { try softmax(teacherLogits.detached()) }
    var product = try teacherProbs * logSoftmax(logits)
    if logits.data.contains(where: { $0.isInfinite }) {
        let finite = Tensor(shape: logits.shape, data: logits.data.map { $0.isInfinite ? 0 : 1 })
        product = try `where`(finite, product, Tensor(scalar: 0))
    }
    let x = try product.sum(axis: -1)
    let aggregation = tokenCount.map { LossAggregation.tokenMean(tokenCount: $0) } ?? .tokenMean
    return try aggregateLoss(-x, mask: lossMask, aggregation)
}
