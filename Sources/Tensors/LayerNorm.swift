import Foundation

// Layer normalisation over the last axis (torch.nn.functional.layer_norm with one normalised axis).
// Shapes: x is viewed as [N, C]; weight and bias are [C]; mean and rstd are [N].
// The forward saves mean and rstd per row; the backward recomputes x̂ = (x - mean) * rstd from them.

/// Layer normalisation over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`, with the
/// biased variance, as `torch.nn.LayerNorm` computes it.
///
/// - Parameters:
///   - x: `[..., C]`.
///   - weight: `[C]`.
///   - bias: `[C]`, or nil for none.
/// - Returns: the shape of `x`.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor?, eps: Float) throws -> Tensor {
    guard x.rank >= 1, weight.shape == [x.shape[x.rank - 1]], bias == nil || bias!.shape == weight.shape else {
        throw TensorError.shape(
            op: "layerNorm",
            message:
                "input \(x.shape) needs weight [C] and bias [C] with C its last extent; got weight \(weight.shape)\(bias.map { ", bias \($0.shape)" } ?? "")"
        )
    }
    let (n, c) = lastAxisRows(x.shape)
    let xData = x.data, wData = weight.data, bData = bias?.data
    var mean = [Float](repeating: 0, count: n), rstd = [Float](repeating: 0, count: n)
    let y = makeArray(count: x.count) { py in
        guard n > 0 && c > 0 else { return }
        xData.withUnsafeBufferPointer { px in
            wData.withUnsafeBufferPointer { pw in
                mean.withUnsafeMutableBufferPointer { pm in
                    rstd.withUnsafeMutableBufferPointer { pr in
                        let px = px.baseAddress!, py = py.baseAddress!, pw = pw.baseAddress!
                        let pm = pm.baseAddress!, pr = pr.baseAddress!
                        withOptionalPointer(bData) { pb in
                            Parallel.rows(n, minRows: minRows(width: c, costPerElement: 3)) { rows in
                                for r in rows {
                                    layerNormForward(px + r * c, py + r * c, &pm[r], &pr[r], pw, pb, c, eps)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.result(shape: x.shape, data: y, inputs: inputs) { dy in
        guard n > 0 && c > 0 else { return inputs.map { [Float](repeating: 0, count: $0.count) } }
        var grads: [[Float]?] = [nil, nil, nil]
        xData.withUnsafeBufferPointer { px in
            dy.withUnsafeBufferPointer { pdy in
                mean.withUnsafeBufferPointer { pm in
                    rstd.withUnsafeBufferPointer { pr in
                        let px = px.baseAddress!, pdy = pdy.baseAddress!, pm = pm.baseAddress!, pr = pr.baseAddress!
                        if x.requiresGrad {
                            grads[0] = makeArray(count: n * c) { pdx in
                                wData.withUnsafeBufferPointer { pw in
                                    let pdx = pdx.baseAddress!, pw = pw.baseAddress!
                                    Parallel.rows(n, minRows: minRows(width: c, costPerElement: 4)) { rows in
                                        for r in rows {
                                            layerNormBackwardInput(px + r * c, pdy + r * c, pdx + r * c, pm[r], pr[r], pw, c)
                                        }
                                    }
                                }
                            }
                        }
                        if weight.requiresGrad || bias?.requiresGrad == true {
                            var dw = [Float](repeating: 0, count: c), db = [Float](repeating: 0, count: c)
                            dw.withUnsafeMutableBufferPointer { pdw in
                                db.withUnsafeMutableBufferPointer { pdb in
                                    let pdw = pdw.baseAddress!, pdb = pdb.baseAddress!
                                    // Parallel over columns: each column sums its rows in order, on one thread.
                                    Parallel.rows(c, minRows: max(1, 4096 / max(n, 1)), maxChunks: 4) { cols in
                                        for r in 0..<n {
                                            let xr = px + r * c, dyr = pdy + r * c
                                            let m = pm[r], s = pr[r]
                                            for j in cols {
                                                // dweight += dy * x̂, dbias += dy
                                                pdw[j] += dyr[j] * ((xr[j] - m) * s)
                                                pdb[j] += dyr[j]
                                            }
                                        }
                                    }
                                }
                            }
                            if weight.requiresGrad { grads[1] = dw }
                            if bias?.requiresGrad == true { grads[2] = db }
                        }
                    }
                }
            }
        }
        return Array(grads.prefix(inputs.count))
    }
}

// mean = Σx / C; var = Σ(x - mean)² / C (biased); rstd = 1 / sqrt(var + eps); y = x̂ * w + b.
@inline(__always)
private func layerNormForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    _ mean: inout Float, _ rstd: inout Float,
    _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, _ c: Int, _ eps: Float
) {
    let m = sum(x, c) / Float(c)
    var v: Float = 0
    for j in 0..<c { let d = x[j] - m; v += d * d }
    let s = 1 / (v / Float(c) + eps).squareRoot()
    if let b {
        for j in 0..<c { y[j] = (x[j] - m) * s * w[j] + b[j] }
    } else {
        for j in 0..<c { y[j] = (x[j] - m) * s * w[j] }
    }
    mean = m
    rstd = s
}

// With dn = dy * w (the gradient reaching x̂):
// dx = (dn - mean(dn) - x̂ * mean(dn * x̂)) * rstd
@inline(__always)
private func layerNormBackwardInput(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
    _ mean: Float, _ rstd: Float, _ w: UnsafePointer<Float>, _ c: Int
) {
    var dnMean: Float = 0, dnXhatMean: Float = 0
    for j in 0..<c {
        let xhat = (x[j] - mean) * rstd
        let dn = dy[j] * w[j]
        dnMean += dn
        dnXhatMean += dn * xhat
    }
    dnMean /= Float(c)
    dnXhatMean /= Float(c)
    for j in 0..<c {
        let xhat = (x[j] - mean) * rstd
        dx[j] = (dy[j] * w[j] - dnMean - xhat * dnXhatMean) * rstd
    }
}
