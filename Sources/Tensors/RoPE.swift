import Foundation

// Rotary position embedding, HuggingFace Llama convention (rotate_half: the head is split in two
// halves, not interleaved pairs).
// Shapes: x is [B, H, T, D]; positions are B*T ids (row-major [B, T]); the cos/sin tables are
// [B*T, D/2] (HF's [B, T, D] tables repeat each half, so half is enough).
// The forward saves only the tables; the backward is the inverse rotation.

/// HF's `inv_freq`: `1 / theta^(2i/D)` for `i < D/2`, computed in Float32 as transformers does.
public func ropeInverseFrequencies(headDim: Int, theta: Float) -> [Float] {
    (0..<(headDim / 2)).map { i in 1 / pow(theta, Float(2 * i) / Float(headDim)) }
}

/// The cos and sin of every position's angles, `[positions.count, D/2]` row-major: angle
/// `position * inv_freq[i]` in Float32, as HF's `LlamaRotaryEmbedding` computes it.
public func ropeCosSin(positions: [Int], headDim: Int, theta: Float) -> (cos: [Float], sin: [Float]) {
    let inverse = ropeInverseFrequencies(headDim: headDim, theta: theta)
    let half = headDim / 2
    var c = [Float](repeating: 0, count: positions.count * half), s = c
    for (row, p) in positions.enumerated() {
        for i in 0..<half {
            let angle = Float(p) * inverse[i]
            c[row * half + i] = cos(angle)
            s[row * half + i] = sin(angle)
        }
    }
    return (c, s)
}

/// Rotates query or key heads by their positions: `x·cos + rotate_half(x)·sin`, with
/// `rotate_half(x) = cat(-x[D/2:], x[:D/2])` (HF `apply_rotary_pos_emb`).
///
/// - Parameters:
///   - x: `[B, H, T, D]`, D even.
///   - positions: B·T position ids, row-major `[B, T]`; with packing they restart per sample.
///   - theta: the base (`rope_theta`).
/// - Returns: `[B, H, T, D]`.
public func rope(_ x: Tensor, positions: [Int], theta: Float) throws -> Tensor {
    guard x.rank == 4, x.shape[3] % 2 == 0 else {
        throw TensorError.shape(op: "rope", message: "needs x [B, H, T, D] with D even, got \(x.shape)")
    }
    let (b, h, t, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    guard positions.count == b * t else {
        throw TensorError.shape(op: "rope", message: "\(positions.count) positions for x \(x.shape): needs B*T = \(b * t)")
    }
    let half = d / 2
    let (cosTable, sinTable) = ropeCosSin(positions: positions, headDim: d, theta: theta)
    let xData = x.data
    guard x.count > 0 else { return Tensor.result(shape: x.shape, data: [], inputs: [x]) { _ in [[]] } }
    let y = makeArray(count: x.count) { py in
        rotate(xData, into: py.baseAddress!, cosTable, sinTable, b: b, h: h, t: t, half: half, inverse: false)
    }
    return Tensor.result(shape: x.shape, data: y, inputs: [x]) { dy in
        [
            makeArray(count: dy.count) { pdx in
                rotate(dy, into: pdx.baseAddress!, cosTable, sinTable, b: b, h: h, t: t, half: half, inverse: true)
            }
        ]
    }
}

// Forward, for i < D/2 (c = cos, s = sin of angle i):
//   y[i]       = x[i]·c - x[i+D/2]·s
//   y[i+D/2]   = x[i+D/2]·c + x[i]·s
// Backward is the transposed rotation (angle -θ):
//   dx[i]      = dy[i]·c + dy[i+D/2]·s
//   dx[i+D/2]  = dy[i+D/2]·c - dy[i]·s
private func rotate(
    _ x: [Float], into y: UnsafeMutablePointer<Float>, _ cosTable: [Float], _ sinTable: [Float],
    b: Int, h: Int, t: Int, half: Int, inverse: Bool
) {
    let d = 2 * half
    x.withUnsafeBufferPointer { px in
        cosTable.withUnsafeBufferPointer { pc in
            sinTable.withUnsafeBufferPointer { ps in
                let px = px.baseAddress!, pc = pc.baseAddress!, ps = ps.baseAddress!
                Parallel.rows(b * h, minRows: max(1, 16_384 / max(1, t * d))) { heads in
                    for bh in heads {
                        let batch = bh / h
                        for pos in 0..<t {
                            let row = (bh * t + pos) * d
                            let c = pc + (batch * t + pos) * half, s = ps + (batch * t + pos) * half
                            let x1 = px + row, x2 = px + row + half, y1 = y + row, y2 = y + row + half
                            if inverse {
                                for i in 0..<half {
                                    y1[i] = x1[i] * c[i] + x2[i] * s[i]
                                    y2[i] = x2[i] * c[i] - x1[i] * s[i]
                                }
                            } else {
                                for i in 0..<half {
                                    y1[i] = x1[i] * c[i] - x2[i] * s[i]
                                    y2[i] = x2[i] * c[i] + x1[i] * s[i]
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
