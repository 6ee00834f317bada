import Foundation
import Tensors

// Masked reductions shared by every loss, and the one place where a per-token loss becomes the
// scalar an optimizer step differentiates.
// Shapes: B = rows (sequences) in the micro-batch, T = tokens per row (the padded length).
// A mask holds 1 where a token counts and 0 at padding (prompt tokens, positions after EOS).

/// How a per-token loss of shape [B, T] is reduced to the scalar that is differentiated.
///
/// An optimizer step usually accumulates gradients over several micro-batches. Averaging each
/// micro-batch and dividing by the number of micro-batches (what OpenRLHF v0.7.0 does) weighs a
/// token of a short micro-batch more than a token of a long one. To get one exact mean over the
/// whole step, give the global denominator: every micro-batch then contributes
/// `sum(loss · mask) / tokenCount` (or the sum of its row means `/ sequenceCount`), and the
/// micro-batch losses of the step add up to the full-batch mean, value and gradient.
///
/// ```swift
/// let n = microBatches.reduce(0) { $0 + Int($1.lossMask.data.reduce(0, +)) }
/// for mb in microBatches {
///     let loss = try policyLoss(..., actionMask: mb.mask, aggregation: .tokenMean(tokenCount: n))
///     try loss.backward()            // gradients add up to those of the full-batch token mean
/// }
/// ```
public struct LossAggregation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What is averaged: every valid token of the batch, or the per-row token means.
    public enum Level: String, Sendable, Hashable, Codable, CaseIterable {
        /// `Σ loss·mask / Σ mask` over the whole batch (OpenRLHF `token_level_loss=True`).
        case token
        /// The mean over rows of each row's masked token mean (`token_level_loss=False`).
        case sequence
    }

    /// Tokens or sequences.
    public var level: Level
    /// The number of valid tokens (`.token`) or of rows (`.sequence`) in the whole optimizer
    /// step; nil means "this batch only" (a local mean).
    public var denominator: Int?

    public init(level: Level, denominator: Int? = nil) {
        self.level = level
        self.denominator = denominator
    }

    /// `Σ loss·mask / Σ mask` over this batch: OpenRLHF's `masked_mean(loss, mask, dim=None)`.
    public static let tokenMean = LossAggregation(level: .token)
    /// Mean over this batch's rows of each row's masked mean: `masked_mean(loss, mask, -1).mean()`.
    public static let sequenceMean = LossAggregation(level: .sequence)

    /// `Σ loss·mask / tokenCount`, where `tokenCount` counts the valid tokens of every
    /// micro-batch of the optimizer step; the micro-batch losses add up to the step's token mean.
    public static func tokenMean(tokenCount: Int) -> LossAggregation {
        LossAggregation(level: .token, denominator: tokenCount)
    }

    /// `Σ_rows rowMean / sequenceCount`, where `sequenceCount` counts the rows of every
    /// micro-batch of the optimizer step; the micro-batch losses add up to the step's sequence mean.
    public static func sequenceMean(sequenceCount: Int) -> LossAggregation {
        LossAggregation(level: .sequence, denominator: sequenceCount)
    }

    public var description: String {
        switch (level, denominator) {
        case (.token, nil): return "token-mean"
        case (.token, let n?): return "token-sum/\(n)"
        case (.sequence, nil): return "sequence-mean"
        case (.sequence, let n?): return "sequence-sum/\(n)"
        }
    }
}

/// Reduces a per-token loss [B, T] (or any shape whose last axis is the tokens) to a scalar.
///
/// - Parameters:
///   - loss: Per-token values; positions where `mask` is 0 do not count (their value must be finite).
///   - mask: 1 at valid tokens, 0 at padding, same shape as `loss`; nil counts every position.
///   - aggregation: Token or sequence mean, local or over a global denominator
///     (see ``LossAggregation``).
/// - Returns: A scalar. A batch (or row) without valid tokens contributes 0 instead of PyTorch's NaN.
public func aggregateLoss(_ loss: Tensor, mask: Tensor?, _ aggregation: LossAggregation) throws -> Tensor {
    if let mask, mask.shape != loss.shape {
        throw AlignmentError.shape(function: "aggregateLoss", message: "mask \(mask.shape) does not match loss \(loss.shape)")
    }
    if let d = aggregation.denominator, d <= 0 {
        throw AlignmentError.invalidArgument(
            function: "aggregateLoss", message: "global denominator must be positive, got \(d) (\(aggregation))")
    }
    switch aggregation.level {
    case .token:
        let total = try mask.map { try (loss * $0).sum() } ?? loss.sum()
        let count = aggregation.denominator.map(Float.init) ?? validCount(mask, elements: loss.count)
        return total / Swift.max(count, 1)
    case .sequence:
        let rowMeans = try maskedMean(loss, mask: mask, axis: -1)
        let rows = rowMeans.count
        return rowMeans.sum() / Float(Swift.max(aggregation.denominator ?? rows, 1))
    }
}

/// ``aggregateLoss(_:mask:_:)`` for packed rows, where several samples share a row.
///
/// `segments` holds, for every position of `loss` (row-major [R, L]), the 1-based number of
/// its sample within the row and 0 at padding (Datasets' `PackedBatch.segments`). `.token` is the
/// same as for padded rows; `.sequence` averages each sample's masked tokens and then the
/// samples (every sample counts, as every padded row does), so a packed batch gives the padded
/// batch's loss and gradient.
public func aggregateLoss(_ loss: Tensor, mask: Tensor, segments: [Int], _ aggregation: LossAggregation) throws -> Tensor {
    guard mask.shape == loss.shape, segments.count == loss.count, loss.rank == 2 else {
        throw AlignmentError.shape(
            function: "aggregateLoss", message: "packed loss \(loss.shape), mask \(mask.shape) and \(segments.count) segment ids must agree ([R, L])")
    }
    if aggregation.level == .token { return try aggregateLoss(loss, mask: mask, aggregation) }
    if let d = aggregation.denominator, d <= 0 {
        throw AlignmentError.invalidArgument(function: "aggregateLoss", message: "global denominator must be positive, got \(d) (\(aggregation))")
    }
    // Each token's weight is mask / (valid tokens of its sample); the loss is Σ loss·weight / samples.
    let length = loss.shape[1]
    var tokens: [Int: Double] = [:]
    var samples = Set<Int>()
    for (i, s) in segments.enumerated() where s > 0 {
        let key = (i / length) * (length + 1) + s
        samples.insert(key)
        tokens[key, default: 0] += Double(mask.data[i])
    }
    var weights = [Float](repeating: 0, count: loss.count)
    for (i, s) in segments.enumerated() where s > 0 {
        let count = tokens[(i / length) * (length + 1) + s] ?? 0
        if count > 0 { weights[i] = Float(Double(mask.data[i]) / count) }
    }
    let total = try (loss * Tensor(shape: loss.shape, data: weights)).sum()
    return total / Float(Swift.max(aggregation.denominator ?? samples.count, 1))
}

/// Reduces a per-sample loss [N] (one value per pair or sample) to its mean, or to
/// `Σ loss / count` when `count` (the samples of the whole optimizer step) is given.
func sampleMean(_ losses: Tensor, count: Int?, function: String) throws -> Tensor {
    if let count, count <= 0 {
        throw AlignmentError.invalidArgument(function: function, message: "global sample count must be positive, got \(count)")
    }
    return losses.sum() / Float(Swift.max(count ?? losses.count, 1))
}

/// Σ mask, or the element count when there is no mask.
func validCount(_ mask: Tensor?, elements: Int) -> Float {
    guard let mask else { return Float(elements) }
    var total = 0.0
    for v in mask.data { total += Double(v) }
    return Float(total)
}

/// `Σ(t·mask) / Σ mask` over all elements (`axis: nil`) or along `axis`: OpenRLHF's `masked_mean`.
///
/// With `mask: nil` this is a plain mean. Where the mask sums to 0 the result is 0 (the numerator
/// is 0), where PyTorch would give NaN.
///
/// - Returns: A scalar for `axis: nil`, else `t`'s shape without `axis`.
public func maskedMean(_ t: Tensor, mask: Tensor?, axis: Int? = nil) throws -> Tensor {
    guard let mask else {
        return try axis.map { try t.mean(axis: $0) } ?? t.mean()
    }
    guard mask.shape == t.shape else {
        throw AlignmentError.shape(function: "maskedMean", message: "mask \(mask.shape) does not match tensor \(t.shape)")
    }
    guard let axis else {
        return try (t * mask).sum() / Swift.max(validCount(mask, elements: t.count), 1)
    }
    let numerator = try (t * mask).sum(axis: axis)
    let count = try mask.sum(axis: axis)
    return try numerator / Tensor(shape: count.shape, data: count.data.map { Swift.max($0, 1) })
}

/// Normalises `t` to zero mean and unit variance over its valid entries: OpenRLHF's
/// `masked_normalize`.
///
/// `t` is first multiplied by `mask`; mean and variance are masked means (over everything for
/// `axis: nil`, per slice along `axis` otherwise); the result `(t·mask − mean) / sqrt(max(var, eps))`
/// is returned at every position, so padding becomes `−mean/std`. OpenRLHF v0.7.0's default
/// `dim=1` broadcasts the reduced mean against the wrong axis; here a reduced axis is kept and
/// broadcast back along itself.
public func maskedNormalize(_ t: Tensor, mask: Tensor, axis: Int? = nil, eps: Float = 1e-8) throws -> Tensor {
    let x = try t * mask
    let centered: Tensor
    let variance: Tensor
    if let axis {
        let mean = try maskedMean(x, mask: mask, axis: axis)
        var keptShape = t.shape
        let ax = axis < 0 ? axis + t.rank : axis
        keptShape[ax] = 1
        centered = try x - mean.reshaped(keptShape)
        variance = try maskedMean(centered.square(), mask: mask, axis: axis).reshaped(keptShape)
    } else {
        centered = try x - maskedMean(x, mask: mask)
        variance = try maskedMean(centered.square(), mask: mask)
    }
    return try centered / variance.clamp(min: eps).sqrt()
}
