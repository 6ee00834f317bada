import Foundation
import Tensors
import Testing

/// The fused attention computes its causal products in blocks of 32 query rows (and keys), each only
/// as far as the block sees. Shapes over several blocks, with a partial last block, a KV-cache offset,
/// grouped heads, packed segments and padding keys, against attention written out in Float64.
@Suite struct BlockedAttentionTests {
    @Test(arguments: [(t: 70, s: 70, masked: false), (t: 45, s: 77, masked: false), (t: 66, s: 66, masked: true)])
    func blockedKernelMatchesAttentionWrittenOut(t: Int, s: Int, masked: Bool) throws {
        let (b, hq, hkv, d) = (2, 4, 2, 8)
        var rng = RNG(seed: 21)
        let q = Tensor.randn([b, hq, t, d], rng: &rng, requiresGrad: true)
        let k = Tensor.randn([b, hkv, s, d], rng: &rng, requiresGrad: true)
        let v = Tensor.randn([b, hkv, s, d], rng: &rng, requiresGrad: true)
        let dOut = Tensor.randn([b, hq, t, d], rng: &rng)
        // Two packed documents per row (split at 20 and 41) and every seventh key padding.
        let segments = masked ? (0..<(b * s)).map { ($0 % s) < 20 + $0 / s * 21 ? 0 : 1 } : nil
        let keyMask = masked ? (0..<(b * s)).map { $0 % 7 != 3 } : nil
        let out = try causalAttention(q: q, k: k, v: v, segments: segments, keyMask: keyMask)
        try (out * dOut).sum().backward()

        let scale = 1 / Double(d).squareRoot()
        var expected = [Double](repeating: 0, count: out.count)
        var dq = [Double](repeating: 0, count: q.count), dk = [Double](repeating: 0, count: k.count)
        var dv = [Double](repeating: 0, count: v.count)
        for batch in 0..<b {
            for h in 0..<hq {
                let qBase = (batch * hq + h) * t * d, kvBase = (batch * hkv + h / (hq / hkv)) * s * d
                for i in 0..<t {
                    let position = s - t + i
                    let visible = (0..<s).filter { j in
                        j <= position && (keyMask?[batch * s + j] ?? true)
                            && (segments.map { $0[batch * s + j] == $0[batch * s + position] } ?? true)
                    }
                    guard !visible.isEmpty else { continue }
                    let scores = visible.map { j in
                        scale * (0..<d).reduce(0.0) { $0 + Double(q.data[qBase + i * d + $1]) * Double(k.data[kvBase + j * d + $1]) }
                    }
                    let top = scores.max()!
                    let weights = scores.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +)
                    let p = weights.map { $0 / total }
                    let g = (0..<d).map { Double(dOut.data[qBase + i * d + $0]) }
                    var row = [Double](repeating: 0, count: d)
                    for (n, j) in visible.enumerated() { for e in 0..<d { row[e] += p[n] * Double(v.data[kvBase + j * d + e]) } }
                    for e in 0..<d { expected[qBase + i * d + e] = row[e] }
                    // dP = g·v, dS = P ∘ (dP − g·out)
                    let gOut = (0..<d).reduce(0.0) { $0 + g[$1] * row[$1] }
                    for (n, j) in visible.enumerated() {
                        let dp = (0..<d).reduce(0.0) { $0 + g[$1] * Double(v.data[kvBase + j * d + $1]) }
                        let ds = p[n] * (dp - gOut)
                        for e in 0..<d {
                            dv[kvBase + j * d + e] += p[n] * g[e]
                            dq[qBase + i * d + e] += scale * ds * Double(k.data[kvBase + j * d + e])
                            dk[kvBase + j * d + e] += scale * ds * Double(q.data[qBase + i * d + e])
                        }
                    }
                }
            }
        }
        for (name, got, want) in [
            ("output", out.data, expected), ("dq", q.grad!.data, dq), ("dk", k.grad!.data, dk), ("dv", v.grad!.data, dv),
        ] {
            let worst = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(worst < 2e-5, "\(name): largest difference \(worst)")
        }
    }
}
