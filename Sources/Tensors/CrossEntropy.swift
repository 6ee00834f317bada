import Foundation

// Cross-entropy over the last axis, fused with its log-softmax, with ignored targets and label
// smoothing, as torch.nn.functional.cross_entropy computes it.
// Shapes: logits are viewed as [N, V] (N rows, V classes); targets are N class ids.
// The forward saves each row's log-sum-exp; the backward rebuilds the softmax from the logits and it.

/// How a per-row loss is reduced, as PyTorch's `reduction=` names it.
public enum Reduction: Sendable {
    /// Sum over the rows that count, divided by how many they are.
    case mean
    /// Sum over the rows.
    case sum
    /// One value per row.
    case none
}

/// Cross-entropy of `logits` against class ids, `torch.nn.functional.cross_entropy`.
///
/// With label smoothing ε a row's loss is `(1-ε)·(-log p[target]) + (ε/V)·Σ_c(-log p[c])`.
/// Rows whose target is `ignoreIndex` give 0 and no gradient, and `.mean` divides by the number of
/// the others; when every row is ignored `.mean` gives NaN, as PyTorch does.
///
/// - Parameters:
///   - logits: `[N, V]` (or `[..., V]`, rows flattened).
///   - targets: N class ids in `0..<V`, or `ignoreIndex`.
/// - Returns: a scalar for `.mean` and `.sum`; `[N]` (the logits' leading shape) for `.none`.
public func crossEntropy(
    _ logits: Tensor, targets: [Int], ignoreIndex: Int = -100, reduction: Reduction = .mean,
    labelSmoothing: Float = 0
) throws -> Tensor {
    guard logits.rank >= 2 else {
        throw TensorError.shape(op: "crossEntropy", message: "needs logits [N, V], got \(logits.shape)")
    }
    let (n, v) = lastAxisRows(logits.shape)
    guard targets.count == n else {
        throw TensorError.shape(op: "crossEntropy", message: "\(targets.count) targets for logits \(logits.shape) (\(n) rows)")
    }
    guard labelSmoothing >= 0 && labelSmoothing <= 1 else {
        throw TensorError.invalidArgument(op: "crossEntropy", message: "labelSmoothing \(labelSmoothing) is not in [0, 1]")
    }
    for (row, target) in targets.enumerated() where target != ignoreIndex && !(0..<v).contains(target) {
        throw TensorError.invalidArgument(
            op: "crossEntropy",
            message: "target \(target) at row \(row) is out of range for \(v) classes (logits \(logits.shape)); ignoreIndex is \(ignoreIndex)")
    }
    let eps = labelSmoothing
    let xData = logits.data
    var lse = [Float](repeating: 0, count: n)
    var rowLoss = [Float](repeating: 0, count: n)
    if n > 0 && v > 0 {
        xData.withUnsafeBufferPointer { px in
            lse.withUnsafeMutableBufferPointer { pl in
                rowLoss.withUnsafeMutableBufferPointer { ploss in
                    let px = px.baseAddress!, pl = pl.baseAddress!, ploss = ploss.baseAddress!
                    Parallel.rows(n, minRows: minRows(width: v, costPerElement: 8)) { rows in
                        for r in rows where targets[r] != ignoreIndex {
                            ploss[r] = crossEntropyForward(px + r * v, v, target: targets[r], smoothing: eps, lse: &pl[r])
                        }
                    }
                }
            }
        }
    }
    let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    let outShape: [Int]
    let out: [Float]
    switch reduction {
    case .none:
        outShape = Array(logits.shape.dropLast())
        out = rowLoss
    case .sum, .mean:
        var total = 0.0
        for l in rowLoss { total += Double(l) }  // in row order: the same bits on any thread count
        outShape = []
        out = [reduction == .sum ? Float(total) : Float(total / Double(counted))]
    }
    return Tensor.result(shape: outShape, data: out, inputs: [logits]) { g in
        var dx = [Float](repeating: 0, count: n * v)
        guard n > 0 && v > 0 else { return [dx] }
        xData.withUnsafeBufferPointer { px in
            lse.withUnsafeBufferPointer { pl in
                dx.withUnsafeMutableBufferPointer { pdx in
                    let px = px.baseAddress!, pl = pl.baseAddress!, pdx = pdx.baseAddress!
                    Parallel.rows(n, minRows: minRows(width: v, costPerElement: 4)) { rows in
                        for r in rows where targets[r] != ignoreIndex {
                            let scale: Float
                            switch reduction {
                            case .none: scale = g[r]
                            case .sum: scale = g[0]
                            case .mean: scale = g[0] / Float(counted)
                            }
                            crossEntropyBackward(
                                px + r * v, pdx + r * v, v, target: targets[r], smoothing: eps,
                                lse: pl[r], scale: scale)
                        }
                    }
                }
            }
        }
        return [dx]
    }
}

// log p[c] = x[c] - lse, lse = max + log Σ exp(x - max)
// loss = (1-ε)·(-log p[target]) + (ε/V)·Σ_c(-log p[c])
@inline(__always)
private func crossEntropyForward(
    _ x: UnsafePointer<Float>, _ v: Int, target: Int, smoothing eps: Float,
    lse: inout Float
) -> Float {
    let l = logSumExpRow(x, v)
    lse = l
    let nll = l - x[target]
    guard eps > 0 else { return nll }
    var smooth: Float = 0
    for c in 0..<v { smooth += l - x[c] }
    return (1 - eps) * nll + eps / Float(v) * smooth
}

// dx[c] = scale · (p[c] - ε/V - (1-ε)·[c == target]), p = exp(x - lse)
@inline(__always)
private func crossEntropyBackward(
    _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ v: Int, target: Int,
    smoothing eps: Float, lse: Float, scale: Float
) {
    let uniform = eps / Float(v)
    expShifted(x, lse, dx, v)
    for c in 0..<v { dx[c] = scale * (dx[c] - uniform) }
    dx[target] -= scale * (1 - eps)
}
