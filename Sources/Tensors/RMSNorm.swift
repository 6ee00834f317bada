import Foundation

// RMS normalisation over the last axis, as HuggingFace's LlamaRMSNorm computes it.
// Shapes: x is viewed as [N, C]; weight is [C]; rstd is [N].
// The forward saves rstd per row; the backward recomputes x̂ = x * rstd from it.

/// RMS normalisation over the last axis: `weight * (x * rsqrt(mean(x²) + eps))` (HF `LlamaRMSNorm`:
/// no mean subtraction, no bias).
///
/// - Parameters:
///   - x: `[..., C]`.
///   - weight: `[C]`.
/// - Returns: the shape of `x`.
public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float) throws -> Tensor {
    guard x.rank >= 1, weight.shape == [x.shape[x.rank - 1]] else {
        throw TensorError.shape(op: "rmsNorm", message: "input \(x.shape) needs weight [C] with C its last extent; got weight \(weight.shape)")
    }
    let (n, c) = lastAxisRows(x.shape)
    let xData = x.data, wData = weight.data
    var rstd = [Float](repeating: 0, count: n)
    let y = makeArray(count: x.count) { py in
        guard n > 0 && c > 0 else { return }
        xData.withUnsafeBufferPointer { px in
            wData.withUnsafeBufferPointer { pw in
                rstd.withUnsafeMutableBufferPointer { pr in
                    let px = px.baseAddress!, py = py.baseAddress!, pw = pw.baseAddress!, pr = pr.baseAddress!
                    Parallel.rows(n, minRows: minRows(width: c, costPerElement: 2)) { rows in
                        for r in rows { pr[r] = rmsNormForward(px + r * c, py + r * c, pw, c, eps) }
                    }
                }
            }
        }
    }
    return Tensor.result(shape: x.shape, data: y, inputs: [x, weight]) { dy in
        guard n > 0 && c > 0 else { return [[Float](repeating: 0, count: xData.count), [Float](repeating: 0, count: c)] }
        var dx: [Float]? = nil, dw: [Float]? = nil
        xData.withUnsafeBufferPointer { px in
            dy.withUnsafeBufferPointer { pdy in
                rstd.withUnsafeBufferPointer { pr in
                    let px = px.baseAddress!, pdy = pdy.baseAddress!, pr = pr.baseAddress!
                    if x.requiresGrad {
                        dx = makeArray(count: n * c) { pdx in
                            wData.withUnsafeBufferPointer { pw in
                                let pdx = pdx.baseAddress!, pw = pw.baseAddress!
                                Parallel.rows(n, minRows: minRows(width: c, costPerElement: 3)) { rows in
                                    for r in rows { rmsNormBackwardInput(px + r * c, pdy + r * c, pdx + r * c, pr[r], pw, c) }
                                }
                            }
                        }
                    }
                    if weight.requiresGrad {
                        var g = [Float](repeating: 0, count: c)
                        g.withUnsafeMutableBufferPointer { pdw in
                            let pdw = pdw.baseAddress!
                            // Parallel over columns: each column sums its rows in order, on one thread.
                            Parallel.rows(c, minRows: max(1, 4096 / max(n, 1)), maxChunks: 4) { cols in
                                for r in 0..<n {
                                    let xr = px + r * c, dyr = pdy + r * c, s = pr[r]
                                    for j in cols { pdw[j] += dyr[j] * (xr[j] * s) }  // dweight += dy * x̂
                                }
                            }
                        }
                        dw = g
                    }
                }
            }
        }
        return [dx, dw]
    }
}

// rstd = 1 / sqrt(mean(x²) + eps); y = w * (x * rstd). Returns rstd.
@inline(__always)
private func rmsNormForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>,
    _ c: Int, _ eps: Float
) -> Float {
    let s = 1 / (dot(x, x, c) / Float(c) + eps).squareRoot()
    for j in 0..<c { y[j] = w[j] * (x[j] * s) }
    return s
}

// With dn = dy * w (the gradient reaching x̂ = x * rstd):
// dx = rstd * (dn - x̂ * mean(dn * x̂))
@inline(__always)
private func rmsNormBackwardInput(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    _ rstd: Float, _ w: UnsafePointer<Float>, _ c: Int
) {
    var dnXhat: Float = 0
    for j in 0..<c { dnXhat += dy[j] * w[j] * (x[j] * rstd) }
    let dnXhatMean = dnXhat / Float(c)
    for j in 0..<c { dx[j] = rstd * (dy[j] * w[j] - (x[j] * rstd) * dnXhatMean) }
}
