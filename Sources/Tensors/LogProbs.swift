import Foundation

// Log-probabilities of chosen tokens, fused: log_softmax(logits / temperature) gathered at the
// labels, without materialising the [N, V] log-softmax (OpenRLHF `log_probs_from_logits`).
// Shapes: logits are viewed as [N, V]; labels are N ids; the output is [N] (the logits' leading shape).
// The forward saves each row's log-sum-exp of logits / temperature; the backward is
// (onehot(label) - softmax) / temperature, rebuilt from the logits and it.

/// `log_softmax(logits / temperature)[label]` for each row.
///
/// A label below 0 (padding, or a position with no next token) gives 0 and passes no gradient.
///
/// - Parameters:
///   - logits: `[..., V]`.
///   - labels: one id per row (`logits.count / V` of them), each `< V`.
///   - temperature: divides the logits first (the sampling temperature).
/// - Returns: the logits' shape without its last axis.
public func logProbs(_ logits: Tensor, labels: [Int], temperature: Float = 1) throws -> Tensor {
    guard logits.rank >= 1 else {
        throw TensorError.shape(op: "logProbs", message: "needs logits [..., V], got a scalar")
    }
    let (n, v) = lastAxisRows(logits.shape)
    guard labels.count == n else {
        throw TensorError.shape(op: "logProbs", message: "\(labels.count) labels for logits \(logits.shape) (\(n) rows)")
    }
    guard temperature > 0 else {
        throw TensorError.invalidArgument(op: "logProbs", message: "temperature \(temperature) must be positive")
    }
    if let row = labels.firstIndex(where: { $0 >= v }) {
        throw TensorError.invalidArgument(
            op: "logProbs", message: "label \(labels[row]) at row \(row) is out of range for \(v) classes (logits \(logits.shape))")
    }
    let xData = logits.data
    var lse = [Float](repeating: 0, count: n)
    var out = [Float](repeating: 0, count: n)
    if n > 0 && v > 0 {
        xData.withUnsafeBufferPointer { px in
            lse.withUnsafeMutableBufferPointer { pl in
                out.withUnsafeMutableBufferPointer { po in
                    let px = px.baseAddress!, pl = pl.baseAddress!, po = po.baseAddress!
                    Parallel.rows(n, minRows: minRows(width: v, costPerElement: 8)) { rows in
                        let z = UnsafeMutablePointer<Float>.allocate(capacity: v)
                        defer { z.deallocate() }
                        for r in rows where labels[r] >= 0 {
                            let x = scaled(px + r * v, v, temperature, into: z)
                            pl[r] = logSumExpRow(x, v)
                            po[r] = x[labels[r]] - pl[r]
                        }
                    }
                }
            }
        }
    }
    return Tensor.result(shape: Array(logits.shape.dropLast()), data: out, inputs: [logits]) { g in
        var dx = [Float](repeating: 0, count: n * v)
        guard n > 0 && v > 0 else { return [dx] }
        xData.withUnsafeBufferPointer { px in
            lse.withUnsafeBufferPointer { pl in
                dx.withUnsafeMutableBufferPointer { pdx in
                    let px = px.baseAddress!, pl = pl.baseAddress!, pdx = pdx.baseAddress!
                    Parallel.rows(n, minRows: minRows(width: v, costPerElement: 4)) { rows in
                        let z = UnsafeMutablePointer<Float>.allocate(capacity: v)
                        defer { z.deallocate() }
                        for r in rows where labels[r] >= 0 {
                            // dz[c] = g · ([c == label] - softmax(z)[c]); dx = dz / temperature
                            let x = scaled(px + r * v, v, temperature, into: z)
                            let row = pdx + r * v, l = pl[r], gr = g[r]
                            expShifted(x, l, row, v)
                            for c in 0..<v { row[c] *= -gr }
                            row[labels[r]] += gr
                            if temperature != 1 { for c in 0..<v { row[c] /= temperature } }
                        }
                    }
                }
            }
        }
        return [dx]
    }
}

/// The row divided by the temperature (into `buffer`), or the row itself when the temperature is 1.
@inline(__always)
private func scaled(
    _ x: UnsafePointer<Float>, _ v: Int, _ temperature: Float,
    into buffer: UnsafeMutablePointer<Float>
) -> UnsafePointer<Float> {
    if temperature == 1 { return x }
    for c in 0..<v { buffer[c] = x[c] / temperature }
    return UnsafePointer(buffer)
}
