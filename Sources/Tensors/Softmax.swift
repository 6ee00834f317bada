import Foundation

// Softmax, log-softmax and log-sum-exp over the last axis.
// Shapes: x is viewed as [N, C]: N rows (every other axis flattened), C entries per row.
// The forward saves its output y; both backwards need only y and the output gradient.

/// Softmax over the last axis, stable for large values (the row maximum is subtracted first).
///
/// A row holding NaN gives a NaN row, and a row of -inf gives NaN, as PyTorch does.
public func softmax(_ x: Tensor) throws -> Tensor {
    lastAxisRowOp(x, backwardCost: 2, forward: softmaxForward, backward: softmaxBackward)
}

/// Log-softmax over the last axis: `x - max - log Σ exp(x - max)`.
public func logSoftmax(_ x: Tensor) throws -> Tensor {
    lastAxisRowOp(x, backwardCost: 8, forward: logSoftmaxForward, backward: logSoftmaxBackward)
}

/// A row-wise op over the last axis whose backward needs only its output `y` and `dy`: runs
/// `forward(x_row, y_row, C)` and, on the tape, `backward(y_row, dy_row, dx_row, C)`, rows in parallel.
private func lastAxisRowOp(
    _ x: Tensor, backwardCost: Int,
    forward: @escaping (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
    backward: @escaping (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
) -> Tensor {
    let (n, c) = lastAxisRows(x.shape)
    guard x.count > 0 else { return Tensor.result(shape: x.shape, data: [], inputs: [x]) { _ in [[]] } }
    let y = makeArray(count: x.count) { py in
        x.data.withUnsafeBufferPointer { px in
            let px = px.baseAddress!, py = py.baseAddress!
            Parallel.rows(n, minRows: minRows(width: c, costPerElement: 8)) { rows in
                for r in rows { forward(px + r * c, py + r * c, c) }
            }
        }
    }
    return Tensor.result(shape: x.shape, data: y, inputs: [x]) { dy in
        [
            makeArray(count: y.count) { pdx in
                y.withUnsafeBufferPointer { py in
                    dy.withUnsafeBufferPointer { pdy in
                        let py = py.baseAddress!, pdy = pdy.baseAddress!, pdx = pdx.baseAddress!
                        Parallel.rows(n, minRows: minRows(width: c, costPerElement: backwardCost)) { rows in
                            for r in rows { backward(py + r * c, pdy + r * c, pdx + r * c, c) }
                        }
                    }
                }
            }
        ]
    }
}

// y = exp(x - max) / Σ exp(x - max). The maximum is subtracted only for numerical stability.
@inline(__always)
func softmaxForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ c: Int) {
    let m = maxValue(x, c)
    let total = expShifted(x, m, y, c)
    let inverse = 1 / total
    for j in 0..<c { y[j] *= inverse }
}

// dx = y * (dy - Σ dy·y)
@inline(__always)
func softmaxBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ c: Int) {
    let s = dot(dy, y, c)
    for j in 0..<c { dx[j] = y[j] * (dy[j] - s) }
}

// y = x - max - log Σ exp(x - max)
@inline(__always)
func logSoftmaxForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ c: Int) {
    let m = maxValue(x, c)
    let logTotal = log(expShifted(x, m, nil, c))
    for j in 0..<c { y[j] = x[j] - m - logTotal }
}

// dx = dy - exp(y) * Σ dy
@inline(__always)
func logSoftmaxBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ c: Int) {
    let s = sum(dy, c)
    expShifted(y, 0, dx, c)
    for j in 0..<c { dx[j] = dy[j] - dx[j] * s }
}

/// log Σ exp(x) of one row, stable; -inf for an empty row or a row of -inf (as `torch.logsumexp`).
@inline(__always)
func logSumExpRow(_ x: UnsafePointer<Float>, _ c: Int) -> Float {
    var m = maxValue(x, c)
    if m.isInfinite { m = 0 }  // a row of -inf stays -inf, a +inf stays +inf
    return log(expShifted(x, m, nil, c)) + m
}

extension Tensor {
    /// log Σ exp along `axis`, stable for large values (`torch.logsumexp`).
    ///
    /// The gradient is `softmax` along the axis times the output gradient.
    public func logSumExp(axis: Int = -1, keepDims: Bool = false) throws -> Tensor {
        let ax = try normalizedAxis(axis, rank: rank, op: "logSumExp")
        let (outer, n, inner) = split3(shape, ax)
        let xData = data
        var column = [Float](repeating: 0, count: n)
        var out = [Float](repeating: -.infinity, count: outer * inner)
        if n > 0 {
            xData.withUnsafeBufferPointer { px in
                for o in 0..<outer {
                    for j in 0..<inner {
                        if inner == 1 {
                            out[o] = logSumExpRow(px.baseAddress! + o * n, n)
                        } else {
                            for i in 0..<n { column[i] = px[(o * n + i) * inner + j] }
                            out[o * inner + j] = column.withUnsafeBufferPointer { logSumExpRow($0.baseAddress!, n) }
                        }
                    }
                }
            }
        }
        let lse = out
        return Tensor.result(shape: reducedShape(shape, ax, keepDims), data: out, inputs: [self]) { g in
            var dx = [Float](repeating: 0, count: xData.count)
            for o in 0..<outer {
                for i in 0..<n {
                    for j in 0..<inner {
                        let k = (o * n + i) * inner + j
                        dx[k] = g[o * inner + j] * Foundation.exp(xData[k] - lse[o * inner + j])
                    }
                }
            }
            return [dx]
        }
    }
}
