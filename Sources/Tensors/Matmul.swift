import Foundation

// Shapes: A is [..., M, K] (or [..., K, M] when transposed), B is [K, N] (or [N, K]) or batched
// with the same leading axes as A; C is [..., M, N].

/// Batched matrix product `op(a) · op(b)` on OpenBLAS `sgemm`, with transposes and no copies.
///
/// A 2-D `b` is shared by every matrix of `a` (one `sgemm` over the flattened rows); a batched `b`
/// needs the same leading axes as `a`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
    guard a.rank >= 2, b.rank >= 2 else {
        throw TensorError.shape(op: "matmul", message: "needs matrices, got \(a.shape) and \(b.shape)")
    }
    let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
    let k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
    let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
    let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
    guard k == kb else {
        throw TensorError.shape(
            op: "matmul", message: "inner sizes differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "") (\(k) vs \(kb))")
    }
    let batchShape = Array(a.shape.dropLast(2))
    let shared = b.rank == 2
    if !shared {
        guard Array(b.shape.dropLast(2)) == batchShape else {
            throw TensorError.shape(op: "matmul", message: "batch axes differ: \(a.shape) · \(b.shape)")
        }
    }
    let batch = elementCount(batchShape)
    let lda = a.shape[a.rank - 1], ldb = b.shape[b.rank - 1]
    let outShape = batchShape + [m, n]
    let aData = a.data, bData = b.data
    // A 2-D `b` under an untransposed `a` is one product over all of a's rows.
    let flat = shared && !transposeA
    let out = makeArray(count: batch * m * n) { pc in
        guard batch * m * n > 0 && k > 0 else { for i in 0..<pc.count { pc[i] = 0 }; return }
        aData.withUnsafeBufferPointer { pa in
            bData.withUnsafeBufferPointer { pb in
                if flat {
                    sgemm(
                        transA: false, transB: transposeB, m: batch * m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                        b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: n)
                } else {
                    batchedGemm(
                        batch: batch, transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                        a: pa.baseAddress!, lda: lda, aStride: m * k, b: pb.baseAddress!, ldb: ldb,
                        bStride: shared ? 0 : k * n, c: pc.baseAddress!, ldc: n, cStride: m * n)
                }
            }
        }
    }
    return Tensor.result(shape: outShape, data: out, inputs: [a, b]) { dc in
        var da: [Float]? = nil, db: [Float]? = nil
        // With an empty operand every gradient is zero (or empty).
        guard !aData.isEmpty && !bData.isEmpty && !dc.isEmpty else {
            return [[Float](repeating: 0, count: aData.count), [Float](repeating: 0, count: bData.count)]
        }
        dc.withUnsafeBufferPointer { pdc in
            aData.withUnsafeBufferPointer { pa in
                bData.withUnsafeBufferPointer { pb in
                    if a.requiresGrad {
                        var g = [Float](repeating: 0, count: aData.count)
                        g.withUnsafeMutableBufferPointer { pg in
                            if flat {
                                // dA = dC · op(B)ᵀ over all rows at once
                                sgemm(
                                    transA: false, transB: !transposeB, m: batch * m, n: k, k: n, a: pdc.baseAddress!,
                                    lda: n, b: pb.baseAddress!, ldb: ldb, c: pg.baseAddress!, ldc: k)
                            } else if !transposeA {
                                // dA = dC · op(B)ᵀ
                                batchedGemm(
                                    batch: batch, transA: false, transB: !transposeB, m: m, n: k, k: n,
                                    a: pdc.baseAddress!, lda: n, aStride: m * n, b: pb.baseAddress!, ldb: ldb,
                                    bStride: shared ? 0 : k * n, c: pg.baseAddress!, ldc: k, cStride: m * k)
                            } else {
                                // A is stored K×M: dA = op(B) · dCᵀ
                                batchedGemm(
                                    batch: batch, transA: transposeB, transB: true, m: k, n: m, k: n,
                                    a: pb.baseAddress!, lda: ldb, aStride: shared ? 0 : k * n,
                                    b: pdc.baseAddress!, ldb: n, bStride: m * n, c: pg.baseAddress!, ldc: m,
                                    cStride: m * k)
                            }
                        }
                        da = g
                    }
                    if b.requiresGrad {
                        var g = [Float](repeating: 0, count: bData.count)
                        g.withUnsafeMutableBufferPointer { pg in
                            if flat {
                                // Sum over the batch: one product over all rows at once.
                                gradB(
                                    transA: false, transB: transposeB, m: batch * m, n: n, k: k, a: pa.baseAddress!,
                                    lda: lda, dc: pdc.baseAddress!, into: pg.baseAddress!, ldb: ldb, accumulate: false)
                            } else if shared {
                                // Sum over the batch: one product per matrix, accumulated in order.
                                for i in 0..<batch {
                                    let pA = pa.baseAddress! + i * m * k, pC = pdc.baseAddress! + i * m * n
                                    gradB(
                                        transA: transposeA, transB: transposeB, m: m, n: n, k: k, a: pA, lda: lda,
                                        dc: pC, into: pg.baseAddress!, ldb: ldb, accumulate: i > 0)
                                }
                            } else {
                                Parallel.forEach(batch) { i in
                                    gradB(
                                        transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                                        a: pa.baseAddress! + i * m * k, lda: lda, dc: pdc.baseAddress! + i * m * n,
                                        into: pg.baseAddress! + i * k * n, ldb: ldb, accumulate: false)
                                }
                            }
                        }
                        db = g
                    }
                }
            }
        }
        return [da, db]
    }
}

/// dB for one product C = op(A)·op(B), written (or added) into `into`.
private func gradB(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
    dc: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>, ldb: Int, accumulate: Bool
) {
    if !transB {
        // dB (K×N) = op(A)ᵀ · dC
        sgemm(
            transA: !transA, transB: false, m: k, n: n, k: m, a: a, lda: lda, b: dc, ldb: n,
            beta: accumulate ? 1 : 0, c: into, ldc: ldb)
    } else {
        // B is stored N×K: dB = dCᵀ · op(A)
        sgemm(
            transA: true, transB: transA, m: n, n: k, k: m, a: dc, lda: n, b: a, ldb: lda,
            beta: accumulate ? 1 : 0, c: into, ldc: ldb)
    }
}

/// Independent products, one per batch entry; small ones run in parallel across the batch.
func batchedGemm(
    batch: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int, aStride: Int, b: UnsafePointer<Float>, ldb: Int, bStride: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int, cStride: Int
) {
    let small = 2 * m * n * k < (1 << 21)
    if small && batch > 1 {
        let aA = Int(bitPattern: a), bA = Int(bitPattern: b), cA = Int(bitPattern: c)
        Parallel.forEach(batch) { i in
            sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k,
                a: UnsafePointer<Float>(bitPattern: aA)! + i * aStride, lda: lda,
                b: UnsafePointer<Float>(bitPattern: bA)! + i * bStride, ldb: ldb,
                c: UnsafeMutablePointer<Float>(bitPattern: cA)! + i * cStride, ldc: ldc)
        }
    } else {
        for i in 0..<batch {
            sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, a: a + i * aStride, lda: lda,
                b: b + i * bStride, ldb: ldb, c: c + i * cStride, ldc: ldc)
        }
    }
}

/// `x · weightᵀ + bias` with `weight` laid out `[out, in]` as PyTorch's `nn.Linear` stores it.
///
/// - Parameters:
///   - x: `[..., in]`.
///   - weight: `[out, in]`.
///   - bias: `[out]`, optional.
/// - Returns: `[..., out]`.
public func linear(_ x: Tensor, _ weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
    guard weight.rank == 2, x.rank >= 1, x.shape[x.rank - 1] == weight.shape[1] else {
        throw TensorError.shape(op: "linear", message: "input \(x.shape) does not fit weight \(weight.shape) ([out, in])")
    }
    let outF = weight.shape[0], inF = weight.shape[1]
    if let bias, bias.shape != [outF] {
        throw TensorError.shape(op: "linear", message: "bias \(bias.shape) does not fit weight \(weight.shape)")
    }
    let rows = elementCount(Array(x.shape.dropLast()))
    let xData = x.data, wData = weight.data, bData = bias?.data
    let empty = rows == 0 || outF == 0 || inF == 0  // nothing to multiply: the output is the bias or 0
    let out = makeArray(count: rows * outF) { po in
        if let bData {
            // sgemm adds the product onto the bias (beta = 1).
            bData.withUnsafeBufferPointer { pb in
                for r in 0..<rows { (po.baseAddress! + r * outF).update(from: pb.baseAddress!, count: outF) }
            }
        } else if empty {
            for i in 0..<po.count { po[i] = 0 }
        }
        if !empty {
            xData.withUnsafeBufferPointer { px in
                wData.withUnsafeBufferPointer { pw in
                    sgemm(
                        transA: false, transB: true, m: rows, n: outF, k: inF, a: px.baseAddress!, lda: inF,
                        b: pw.baseAddress!, ldb: inF, beta: bData == nil ? 0 : 1, c: po.baseAddress!, ldc: outF)
                }
            }
        }
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.result(shape: Array(x.shape.dropLast()) + [outF], data: out, inputs: inputs) { dy in
        var grads: [[Float]?] = [nil, nil, nil]
        dy.withUnsafeBufferPointer { pdy in
            if x.requiresGrad {
                var dx = [Float](repeating: 0, count: xData.count)
                if !empty {
                    dx.withUnsafeMutableBufferPointer { pdx in
                        wData.withUnsafeBufferPointer { pw in
                            sgemm(
                                transA: false, transB: false, m: rows, n: inF, k: outF, a: pdy.baseAddress!, lda: outF,
                                b: pw.baseAddress!, ldb: inF, c: pdx.baseAddress!, ldc: inF)
                        }
                    }
                }
                grads[0] = dx
            }
            if weight.requiresGrad {
                var dw = [Float](repeating: 0, count: wData.count)
                if !empty {
                    dw.withUnsafeMutableBufferPointer { pdw in
                        xData.withUnsafeBufferPointer { px in
                            sgemm(
                                transA: true, transB: false, m: outF, n: inF, k: rows, a: pdy.baseAddress!, lda: outF,
                                b: px.baseAddress!, ldb: inF, c: pdw.baseAddress!, ldc: inF)
                        }
                    }
                }
                grads[1] = dw
            }
            if let bias, bias.requiresGrad {
                var db = [Float](repeating: 0, count: outF)
                for r in 0..<rows { for j in 0..<outF { db[j] += pdy[r * outF + j] } }
                grads[2] = db
            }
        }
        return Array(grads.prefix(inputs.count))
    }
}
