import Foundation

// Causal scaled dot-product attention, fused, with grouped KV heads, a KV-cache offset, packed
// segments and a key padding mask.
// Shapes: B = batch, Hq = query heads, Hkv = key/value heads (Hq % Hkv == 0), T = queries,
// S = keys (S >= T; the first S - T keys come from a KV cache), D = head size.
//   q [B, Hq, T, D], k and v [B, Hkv, S, D], out [B, Hq, T, D], lse [B, Hq, T].
// Query i sits at absolute position S - T + i and sees key j when j <= S - T + i, the key is not
// padding, and (with segments) the key is in the query's segment.
// The forward saves the output and each query row's log-sum-exp; the backward recomputes the
// softmax from them (one more Q·Kᵀ instead of keeping B·Hq·T·S probabilities alive).

/// Causal attention `softmax(q·kᵀ·scale + mask)·v`, fused forward and backward.
///
/// Query head `h` uses key/value head `h / (Hq / Hkv)` (HF `repeat_kv`). A query row that can see
/// no key at all outputs zeros (and passes no gradient) instead of NaN.
///
/// - Parameters:
///   - q: `[B, Hq, T, D]`.
///   - k: `[B, Hkv, S, D]` with `S >= T`: keys `0..<S-T` are cached from earlier steps.
///   - v: the shape of `k`.
///   - segments: B·S segment ids (row-major `[B, S]`) for packed rows: a query sees only keys of
///     its own segment (its segment is the id at its absolute position).
///   - keyMask: B·S flags (row-major `[B, S]`); `false` marks a padding key no query attends to.
///   - scale: the factor on `q·kᵀ`; default `1/√D`.
/// - Returns: `[B, Hq, T, D]`.
public func causalAttention(
    q: Tensor, k: Tensor, v: Tensor, segments: [Int]? = nil, keyMask: [Bool]? = nil,
    scale: Float? = nil
) throws -> Tensor {
    func fail(_ why: String) -> TensorError {
        .shape(op: "causalAttention", message: "\(why) (q \(q.shape), k \(k.shape), v \(v.shape); expected q [B, Hq, T, D], k and v [B, Hkv, S, D])")
    }
    guard q.rank == 4, k.rank == 4, v.rank == 4 else { throw fail("needs rank-4 tensors") }
    let (b, hq, t, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let (hkv, s) = (k.shape[1], k.shape[2])
    guard k.shape == v.shape else { throw fail("k and v shapes differ") }
    guard k.shape[0] == b, k.shape[3] == d else { throw fail("batch or head size differs between q and k") }
    guard hkv > 0 ? hq % hkv == 0 : hq == 0 else { throw fail("query heads \(hq) are not a multiple of key/value heads \(hkv)") }
    guard s >= t else { throw fail("fewer keys (S = \(s)) than queries (T = \(t))") }
    if let segments, segments.count != b * s {
        throw TensorError.shape(op: "causalAttention", message: "\(segments.count) segment ids for B·S = \(b)·\(s) keys")
    }
    if let keyMask, keyMask.count != b * s {
        throw TensorError.shape(op: "causalAttention", message: "\(keyMask.count) key-mask flags for B·S = \(b)·\(s) keys")
    }
    let outCount = b * hq * t * d
    guard outCount > 0 else {
        return Tensor.result(shape: q.shape, data: [Float](repeating: 0, count: outCount), inputs: [q, k, v]) { _ in
            [[Float](repeating: 0, count: q.count), [Float](repeating: 0, count: k.count), [Float](repeating: 0, count: v.count)]
        }
    }
    let scale = scale ?? Float(1 / Double(d).squareRoot())
    let group = hq / hkv
    let visibility = KeyVisibility(segments: segments, keyMask: keyMask, s: s, t: t)
    let qData = q.data, kData = k.data, vData = v.data
    var lse = [Float](repeating: 0, count: b * hq * t)

    let out = makeArray(count: outCount) { po in
        qData.withUnsafeBufferPointer { pq in
            kData.withUnsafeBufferPointer { pk in
                vData.withUnsafeBufferPointer { pv in
                    lse.withUnsafeMutableBufferPointer { pl in
                        let pq = pq.baseAddress!, pk = pk.baseAddress!, pv = pv.baseAddress!
                        let po = po.baseAddress!, pl = pl.baseAddress!
                        Parallel.forEach(b * hq) { bh in
                            let batch = bh / hq, kvHead = batch * hkv + (bh % hq) / group
                            let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: t * s)
                            defer { probabilities.deallocate() }
                            attentionForward(
                                q: pq + bh * t * d, k: pk + kvHead * s * d, v: pv + kvHead * s * d,
                                out: po + bh * t * d, lse: pl + bh * t, p: probabilities,
                                batch: batch, t: t, s: s, d: d, scale: scale, visibility: visibility)
                        }
                    }
                }
            }
        }
    }

    return Tensor.result(shape: q.shape, data: out, inputs: [q, k, v]) { dOut in
        let needQ = q.requiresGrad, needK = k.requiresGrad, needV = v.requiresGrad
        var dq = [Float](repeating: 0, count: needQ ? qData.count : 0)
        var dk = [Float](repeating: 0, count: needK ? kData.count : 0)
        var dv = [Float](repeating: 0, count: needV ? vData.count : 0)
        qData.withUnsafeBufferPointer { pq in
            kData.withUnsafeBufferPointer { pk in
                vData.withUnsafeBufferPointer { pv in
                    out.withUnsafeBufferPointer { po in
                        dOut.withUnsafeBufferPointer { pdo in
                            lse.withUnsafeBufferPointer { pl in
                                dq.withUnsafeMutableBufferPointer { pdq in
                                    dk.withUnsafeMutableBufferPointer { pdk in
                                        dv.withUnsafeMutableBufferPointer { pdv in
                                            let pq = pq.baseAddress!, pk = pk.baseAddress!, pv = pv.baseAddress!
                                            let po = po.baseAddress!, pdo = pdo.baseAddress!, pl = pl.baseAddress!
                                            // An empty array still has a base address (shared storage): pass nil for gradients not wanted.
                                            let pdq = needQ ? pdq.baseAddress : nil, pdk = needK ? pdk.baseAddress : nil
                                            let pdv = needV ? pdv.baseAddress : nil
                                            // One task per key/value head: the query heads that share it add
                                            // into its dK and dV in a fixed order, on one thread.
                                            Parallel.forEach(b * hkv) { bkv in
                                                let batch = bkv / hkv
                                                let p = UnsafeMutablePointer<Float>.allocate(capacity: t * s)
                                                let dp = UnsafeMutablePointer<Float>.allocate(capacity: t * s)
                                                defer { p.deallocate(); dp.deallocate() }
                                                for member in 0..<group {
                                                    let bh = batch * hq + (bkv % hkv) * group + member
                                                    attentionBackward(
                                                        q: pq + bh * t * d, k: pk + bkv * s * d, v: pv + bkv * s * d,
                                                        out: po + bh * t * d, dOut: pdo + bh * t * d, lse: pl + bh * t,
                                                        dq: pdq.map { $0 + bh * t * d }, dk: pdk.map { $0 + bkv * s * d },
                                                        dv: pdv.map { $0 + bkv * s * d }, p: p, dp: dp,
                                                        batch: batch, t: t, s: s, d: d, scale: scale, visibility: visibility)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [needQ ? dq : nil, needK ? dk : nil, needV ? dv : nil]
    }
}

/// Which keys a query row may see: causal order, then padding and segments.
private struct KeyVisibility {
    let segments: [Int]?
    let keyMask: [Bool]?
    let s: Int, t: Int

    /// Number of keys up to and including the query's own position.
    @inline(__always) func causalLimit(_ i: Int) -> Int { s - t + i + 1 }

    /// The first query row that sees key `j`.
    @inline(__always) func firstQuery(_ j: Int) -> Int { Swift.max(0, j - (s - t)) }

    /// Rows per block of the causal products: each block computes up to its last row's keys.
    static let block = 32

    /// Blocks of query rows, `(first, end)`.
    var rowBlocks: [(Int, Int)] { stride(from: 0, to: t, by: Self.block).map { ($0, Swift.min(t, $0 + Self.block)) } }

    /// Blocks of keys, `(first, end)`.
    var keyBlocks: [(Int, Int)] { stride(from: 0, to: s, by: Self.block).map { ($0, Swift.min(s, $0 + Self.block)) } }

    @inline(__always) func visible(batch: Int, query i: Int, key j: Int) -> Bool {
        if let keyMask, !keyMask[batch * s + j] { return false }
        if let segments, segments[batch * s + j] != segments[batch * s + s - t + i] { return false }
        return true
    }

    var isCausalOnly: Bool { segments == nil && keyMask == nil }
}

// Per (batch, query head), with K and V the head's key/value head:
//   scores = scale · Q Kᵀ                         [T, S]
//   P[i, j] = exp(scores - max) / Σ over visible j (0 where not visible)
//   lse[i]  = max + log Σ exp(scores - max)       (-inf for a row that sees nothing)
//   out     = P V                                 [T, D]
private func attentionForward(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
    p: UnsafeMutablePointer<Float>, batch: Int, t: Int, s: Int, d: Int, scale: Float,
    visibility: KeyVisibility
) {
    causalScores(q: q, k: k, into: p, t: t, s: s, d: d, scale: scale, visibility: visibility)
    for i in 0..<t {
        let row = p + i * s
        let limit = visibility.causalLimit(i)
        var m = -Float.infinity, any = false
        if visibility.isCausalOnly {
            any = limit > 0
            for j in 0..<limit where row[j] > m { m = row[j] }
        } else {
            for j in 0..<limit {
                if visibility.visible(batch: batch, query: i, key: j) {
                    any = true
                    if row[j] > m { m = row[j] }
                } else {
                    row[j] = -.infinity  // exp(-inf) = 0 below
                }
            }
        }
        for j in limit..<s { row[j] = 0 }
        guard any else {
            for j in 0..<limit { row[j] = 0 }
            lse[i] = -.infinity
            continue
        }
        // The maximum is subtracted only for numerical stability.
        let total = expShifted(row, m, row, limit)
        let inverse = 1 / total
        for j in 0..<limit { row[j] *= inverse }
        lse[i] = m + log(total)
    }
    for (first, end) in visibility.rowBlocks {
        sgemmSerial(
            transA: false, transB: false, m: end - first, n: d, k: visibility.causalLimit(end - 1), a: p + first * s, lda: s,
            b: v, ldb: d, c: out + first * d, ldc: d)
    }
}

/// `scale · Q Kᵀ` into `p` (row stride S), for each block of query rows only up to the last key
/// its last row sees: the causal upper triangle beyond is never computed (and never read).
/// The blocks depend on T and S alone, so the bits do not depend on the thread count; BLAS may
/// pick another kernel for a block than for the whole product, so they can differ from an
/// unblocked product's in the last place.
private func causalScores(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, into p: UnsafeMutablePointer<Float>, t: Int, s: Int, d: Int,
    scale: Float, visibility: KeyVisibility
) {
    for (first, end) in visibility.rowBlocks {
        sgemmSerial(
            transA: false, transB: true, m: end - first, n: visibility.causalLimit(end - 1), k: d, alpha: scale,
            a: q + first * d, lda: d, b: k, ldb: d, c: p + first * s, ldc: s)
    }
}

// Per (batch, query head), added into the shared key/value head's gradients:
//   P   = exp(scale · Q Kᵀ - lse) on visible keys, else 0      (recomputed)
//   dV += Pᵀ dO
//   dP  = dO Vᵀ
//   dS  = P ∘ (dP - rowsum(dO ∘ out))                         (softmax backward; rowsum(dO∘out) = rowsum(P∘dP))
//   dQ  = scale · dS K
//   dK += scale · dSᵀ Q
private func attentionBackward(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    out: UnsafePointer<Float>, dOut: UnsafePointer<Float>, lse: UnsafePointer<Float>,
    dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?,
    dv: UnsafeMutablePointer<Float>?, p: UnsafeMutablePointer<Float>,
    dp: UnsafeMutablePointer<Float>, batch: Int, t: Int, s: Int, d: Int, scale: Float,
    visibility: KeyVisibility
) {
    causalScores(q: q, k: k, into: p, t: t, s: s, d: d, scale: scale, visibility: visibility)
    for i in 0..<t {
        let row = p + i * s
        let limit = visibility.causalLimit(i)
        let l = lse[i]
        if l == -.infinity {
            for j in 0..<s { row[j] = 0 }
            continue
        }
        if !visibility.isCausalOnly {
            for j in 0..<limit where !visibility.visible(batch: batch, query: i, key: j) { row[j] = -.infinity }
        }
        expShifted(row, l, row, limit)
        for j in limit..<s { row[j] = 0 }
    }
    // Key j is seen by the query rows from `firstQuery(j)` on: dV and dK skip the rows before.
    if let dv {
        for (first, end) in visibility.keyBlocks {
            let from = visibility.firstQuery(first)
            sgemmSerial(
                transA: true, transB: false, m: end - first, n: d, k: t - from, a: p + from * s + first, lda: s,
                b: dOut + from * d, ldb: d, beta: 1, c: dv + first * d, ldc: d)
        }
    }
    guard dq != nil || dk != nil else { return }
    for (first, end) in visibility.rowBlocks {
        sgemmSerial(
            transA: false, transB: true, m: end - first, n: visibility.causalLimit(end - 1), k: d, a: dOut + first * d, lda: d,
            b: v, ldb: d, c: dp + first * s, ldc: s)
    }
    for (first, end) in visibility.rowBlocks {
        let computed = visibility.causalLimit(end - 1)
        for i in first..<end {
            let di = dot(dOut + i * d, out + i * d, d)
            let prow = p + i * s, dprow = dp + i * s
            for j in 0..<computed { dprow[j] = prow[j] * (dprow[j] - di) }
            for j in computed..<s { dprow[j] = 0 }
        }
    }
    if let dq {
        for (first, end) in visibility.rowBlocks {
            sgemmSerial(
                transA: false, transB: false, m: end - first, n: d, k: visibility.causalLimit(end - 1), alpha: scale,
                a: dp + first * s, lda: s, b: k, ldb: d, c: dq + first * d, ldc: d)
        }
    }
    if let dk {
        for (first, end) in visibility.keyBlocks {
            let from = visibility.firstQuery(first)
            sgemmSerial(
                transA: true, transB: false, m: end - first, n: d, k: t - from, alpha: scale, a: dp + from * s + first, lda: s,
                b: q + from * d, ldb: d, beta: 1, c: dk + first * d, ldc: d)
        }
    }
}
