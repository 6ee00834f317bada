import Foundation

// The LM head and a weighted next-token loss in one pass, a block of positions at a time:
//
//     loss = Σ_r w[r] · (−log softmax(h[r] · Wᵀ)[label[r]])
//
// Shapes: hidden [..., D] viewed as [N, D]; weight [V, D] (`nn.Linear` / tied embedding); N labels
// and N weights. Plain, the head writes the logits [N, V], the loss reads them, and the backward
// writes their gradient [N, V] too: at 8 × 512 positions and SmolLM2's 49,152 words that is 0.8 GB
// each. Here a block of `blockRows` positions gets its logits, log-sum-exp and log-prob, turns its
// logits into their gradient in place (the weights are known in the forward, as the loss is linear
// in them), and adds its share to the gradients of `hidden` and `weight`; then the next block
// reuses the buffer. The backward only scales those gradients by the output gradient.
//
// Each position's log-sum-exp is taken over its whole row, as the plain path takes it; the products
// have fewer rows than the plain path's and the weight's gradient is summed block by block, so the
// results differ from the plain path's in the last bits. Blocks depend on N only, and the products
// split by shape only, so the result is the same on any thread count.

/// Σ_r `weights[r]` · (−log softmax(`hidden[r]` · `weight`ᵀ)[`labels[r]`]), a scalar, with the
/// log-prob of every position computed (0 where not computed).
///
/// Positions whose label is negative or whose weight is 0 are skipped (log-prob 0, no gradient).
///
/// - Parameters:
///   - hidden: `[..., D]`, the final hidden states.
///   - weight: `[V, D]`, the LM head (no bias).
///   - labels: N token ids (N = hidden's positions), each `< V`, or negative for none.
///   - weights: N loss weights: ∂loss/∂(−log p) of each position (e.g. mask / token count).
///   - blockRows: Positions per block (memory: `blockRows · V` floats).
/// - Returns: the loss and the N log-probs.
public func fusedLinearCrossEntropy(
    _ hidden: Tensor, weight: Tensor, labels: [Int], weights: [Float], blockRows: Int = 256
) throws -> (loss: Tensor, logProbs: [Float]) {
    let op = "fusedLinearCrossEntropy"
    guard weight.rank == 2, hidden.rank >= 1, hidden.shape[hidden.rank - 1] == weight.shape[1] else {
        throw TensorError.shape(op: op, message: "hidden \(hidden.shape) does not fit the head \(weight.shape) ([V, D])")
    }
    let (n, d) = lastAxisRows(hidden.shape)
    let v = weight.shape[0]
    guard labels.count == n, weights.count == n else {
        throw TensorError.shape(
            op: op, message: "\(labels.count) labels and \(weights.count) weights for \(n) positions (hidden \(hidden.shape))")
    }
    if let row = labels.firstIndex(where: { $0 >= v }) {
        throw TensorError.invalidArgument(op: op, message: "label \(labels[row]) at position \(row) is out of range for \(v) classes")
    }
    guard blockRows > 0 else { throw TensorError.invalidArgument(op: op, message: "blockRows must be positive, got \(blockRows)") }
    let active = (0..<n).filter { labels[$0] >= 0 && weights[$0] != 0 }
    let needsHidden = Tensor.isGradEnabled && hidden.requiresGrad
    let needsWeight = Tensor.isGradEnabled && weight.requiresGrad
    var logProbs = [Float](repeating: 0, count: n)
    var dHidden = needsHidden ? [Float](repeating: 0, count: n * d) : []
    var dWeight = needsWeight ? [Float](repeating: 0, count: v * d) : []
    let block = min(blockRows, max(active.count, 1))
    var rows = [Float](repeating: 0, count: block * d)
    var logits = [Float](repeating: 0, count: block * v)
    var rowGradient = [Float](repeating: 0, count: needsHidden ? block * d : 0)
    let hData = hidden.data, wData = weight.data
    hData.withUnsafeBufferPointer { ph in
        wData.withUnsafeBufferPointer { pw in
            rows.withUnsafeMutableBufferPointer { pr in
                logits.withUnsafeMutableBufferPointer { pz in
                    logProbs.withUnsafeMutableBufferPointer { plp in
                        let ph = ph.baseAddress!, pw = pw.baseAddress!, pr = pr.baseAddress!, pz = pz.baseAddress!
                        let plp = plp.baseAddress!
                        for start in stride(from: 0, to: active.count, by: block) {
                            let chunk = Array(active[start..<min(start + block, active.count)])
                            let m = chunk.count
                            for (i, r) in chunk.enumerated() { (pr + i * d).update(from: ph + r * d, count: d) }
                            sgemm(transA: false, transB: true, m: m, n: v, k: d, a: pr, lda: d, b: pw, ldb: d, c: pz, ldc: v)
                            let gradients = needsHidden || needsWeight
                            Parallel.rows(m, minRows: minRows(width: v, costPerElement: 8)) { range in
                                for i in range {
                                    let z = pz + i * v, label = labels[chunk[i]]
                                    let lse = logSumExpRow(z, v)
                                    plp[chunk[i]] = z[label] - lse
                                    guard gradients else { continue }
                                    // ∂(w · −log p[label])/∂z = w · (softmax(z) − onehot(label))
                                    let w = weights[chunk[i]]
                                    _ = expShifted(z, lse, z, v)
                                    for c in 0..<v { z[c] *= w }
                                    z[label] -= w
                                }
                            }
                            if needsHidden {
                                rowGradient.withUnsafeMutableBufferPointer { pg in
                                    let pg = pg.baseAddress!
                                    sgemm(transA: false, transB: false, m: m, n: d, k: v, a: pz, lda: v, b: pw, ldb: d, c: pg, ldc: d)
                                    dHidden.withUnsafeMutableBufferPointer { pdh in
                                        for (i, r) in chunk.enumerated() { (pdh.baseAddress! + r * d).update(from: pg + i * d, count: d) }
                                    }
                                }
                            }
                            if needsWeight {
                                dWeight.withUnsafeMutableBufferPointer { pdw in
                                    sgemm(
                                        transA: true, transB: false, m: v, n: d, k: m, a: pz, lda: v, b: pr, ldb: d,
                                        beta: start == 0 ? 0 : 1, c: pdw.baseAddress!, ldc: d)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    var total = 0.0
    for r in active { total += Double(weights[r]) * Double(-logProbs[r]) }  // in position order
    let loss = Tensor.result(shape: [], data: [Float(total)], inputs: [hidden, weight]) { g in
        let scale = g[0]
        func scaled(_ x: [Float]) -> [Float] { scale == 1 ? x : x.map { $0 * scale } }
        return [needsHidden ? scaled(dHidden) : nil, needsWeight ? scaled(dWeight) : nil]
    }
    return (loss, logProbs)
}
