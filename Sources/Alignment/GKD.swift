import Foundation
import Tensors

// On-policy distillation (Agarwal et al. 2024, GKD, https://arxiv.org/abs/2306.13649; Thinking
// Machines 2025): the student samples, the frozen teacher scores every sampled position, and the
// student minimises a divergence from the teacher at each of those positions. As TRL v1.16.0's
// `GKDTrainer.generalized_jsd_loss`: over the whole vocabulary at each position,
//
//     β = 1:   KL(π_student ‖ π_teacher)                      reverse KL (mode seeking; the default)
//     β = 0:   KL(π_teacher ‖ π_student)                      forward KL
//     else:    β·KL(π_teacher ‖ m) + (1 − β)·KL(π_student ‖ m),   m = (1 − β)·π_student + β·π_teacher
//
// with both logits divided by `temperature`, summed over the masked positions and divided by
// their count (TRL's `batchmean`, or `num_items_in_batch` for a global count).
// Shapes: B = rows, T = positions, V = vocabulary size.

/// The generalized Jensen-Shannon divergence of each position, [B, T], differentiable in
/// `studentLogits`; the teacher's logits are constants. See the file comment.
public func generalizedJSD(studentLogits: Tensor, teacherLogits: Tensor, beta: Float, temperature: Float = 1) throws -> Tensor {
    guard studentLogits.shape == teacherLogits.shape, studentLogits.rank >= 2 else {
        throw AlignmentError.shape(
            function: "generalizedJSD", message: "studentLogits \(studentLogits.shape) and teacherLogits \(teacherLogits.shape) must be one [B, T, V]"
        )
    }
    guard (0...1).contains(beta), temperature > 0 else {
        throw AlignmentError.invalidArgument(
            function: "generalizedJSD", message: "beta must be in [0, 1] and temperature > 0, got beta \(beta), temperature \(temperature)")
    }
    let student = try logSoftmax(studentLogits * (1 / temperature))
    let teacher = try Tensor.withNoGrad { try logSoftmax(teacherLogits.detached() * (1 / temperature)) }
    /// KL(p ‖ q) per position from log p and log q.
    func kl(_ logP: Tensor, _ logQ: Tensor) throws -> Tensor { try (logP.exp() * (logP - logQ)).sum(axis: -1) }
    if beta == 1 { return try kl(student, teacher) }
    if beta == 0 { return try kl(teacher, student) }
    let mixture = try (student.exp() * (1 - beta) + teacher.exp() * beta).log()
    return try kl(teacher, mixture) * beta + kl(student, mixture) * (1 - beta)
}

/// The GKD loss: ``generalizedJSD(studentLogits:teacherLogits:beta:temperature:)`` summed over the
/// positions where `lossMask` is 1 and divided by their count, or by `tokenCount` (the counted
/// positions of every micro-batch of the optimizer step) when given.
public func gkdLoss(
    studentLogits: Tensor, teacherLogits: Tensor, lossMask: Tensor, beta: Float = 1, temperature: Float = 1, tokenCount: Int? = nil
) throws -> Tensor {
    guard Array(studentLogits.shape.dropLast()) == lossMask.shape else {
        throw AlignmentError.shape(function: "gkdLoss", message: "lossMask \(lossMask.shape) must be the logits' [B, T] \(studentLogits.shape)")
    }
    let perPosition = try generalizedJSD(studentLogits: studentLogits, teacherLogits: teacherLogits, beta: beta, temperature: temperature)
    let aggregation = tokenCount.map { LossAggregation.tokenMean(tokenCount: $0) } ?? .tokenMean
    return try aggregateLoss(perPosition, mask: lossMask, aggregation)
}
