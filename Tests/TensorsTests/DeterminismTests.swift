import CBLAS
import Foundation
import Testing
@testable import Tensors

/// Same seed, same bits: on 1 thread and on 2, and from one run to the next.
///
/// Serialized because it changes `Parallel.threads` (other suites only see results that, by this
/// very contract, do not depend on it).
@Suite(.serialized) struct DeterminismTests {
    /// A pre-norm transformer block with a language-model head, forward and backward, on shapes
    /// large enough that every kernel splits its work (sgemm blocks, row chunks, heads).
    @Test func transformerBlockIsBitIdenticalOnOneAndTwoThreads() throws {
        let one = try withThreads(1) { try transformerBlockStep() }
        let two = try withThreads(2) { try transformerBlockStep() }
        let again = try withThreads(2) { try transformerBlockStep() }
        #expect(one.count == two.count)
        for (name, values) in one {
            #expect(values == two[name], "\(name) differs between 1 and 2 threads")
            #expect(values == again[name], "\(name) differs between two runs")
        }
    }

    @Test func rngStreamsAreIdenticalOnOneAndTwoThreads() {
        func draw() -> [UInt32] {
            let root = RNG(seed: 1234)
            var a = root.fork("init"), b = root.fork(3)
            let t = Tensor.randn([64], rng: &a)
            let u = Tensor.uniform([64], rng: &b)
            return bits(t.data) + bits(u.data) + (0..<16).map { _ in a.nextUInt32() }
        }
        #expect(withThreads(1, draw) == withThreads(2, draw))
    }

    @Test func openBLASStaysSingleThreaded() throws {
        _ = try matmul(Tensor.ones([300, 300]), Tensor.ones([300, 300]))
        #expect(openblas_get_num_threads() == 1)
    }

    @Test func rowChunksDependOnTheShapeOnly() {
        func chunks() -> [Range<Int>] {
            let lock = NSLock()
            var seen: [Range<Int>] = []
            Parallel.rows(1000, minRows: 7, maxChunks: 8) { r in
                lock.lock(); seen.append(r); lock.unlock()
            }
            return seen.sorted { $0.lowerBound < $1.lowerBound }
        }
        let one = withThreads(1, chunks), two = withThreads(2, chunks)
        #expect(one == two)
        #expect(one.count == 8 && one.first?.lowerBound == 0 && one.last?.upperBound == 1000)
    }
}

/// One forward and backward step; returns the bits of the loss, the logits and every gradient.
private func transformerBlockStep() throws -> [String: [UInt32]] {
    let (b, t, c, hq, hkv, d, f, v) = (2, 96, 128, 4, 2, 32, 344, 512)
    let root = RNG(seed: 2024)
    func parameter(_ name: String, _ shape: [Int], std: Float = 0.08) -> Tensor {
        var rng = root.fork(name)
        let p = Tensor.randn(shape, std: std, rng: &rng, requiresGrad: true)
        p.name = name
        return p
    }
    let embed = parameter("embed", [v, c], std: 1)
    let norm1 = parameter("norm1", [c]), norm2 = parameter("norm2", [c])
    let wq = parameter("q", [hq * d, c]), wk = parameter("k", [hkv * d, c]), wv = parameter("v", [hkv * d, c])
    let wo = parameter("o", [c, hq * d])
    let gate = parameter("gate", [f, c]), up = parameter("up", [f, c]), down = parameter("down", [c, f])
    let head = parameter("head", [v, c]), headBias = parameter("head.bias", [v])
    let params = [embed, norm1, norm2, wq, wk, wv, wo, gate, up, down, head, headBias]

    var data = root.fork("data")
    let ids = (0..<(b * t)).map { _ in data.int(below: v) }
    // Two packed samples per row; positions restart at each sample.
    let segments = (0..<b).flatMap { _ in (0..<t).map { $0 < 40 ? 0 : 1 } }
    let positions = segments.enumerated().map { i, s in s == 0 ? i % t : i % t - 40 }
    let targets = (0..<(b * t)).map { i in i % 17 == 0 ? -100 : ids[(i + 1) % (b * t)] }

    func heads(_ x: Tensor, _ count: Int) throws -> Tensor {
        try x.reshaped([b, t, count, d]).permuted([0, 2, 1, 3])
    }
    let x = try embedding(embed, ids: ids, shape: [b, t])
    let h = try rmsNorm(x, weight: norm1, eps: 1e-5)
    let q = try rope(heads(linear(h, wq), hq), positions: positions, theta: 10_000)
    let k = try rope(heads(linear(h, wk), hkv), positions: positions, theta: 10_000)
    let vv = try heads(linear(h, wv), hkv)
    let attended = try causalAttention(q: q, k: k, v: vv, segments: segments)
        .permuted([0, 2, 1, 3]).reshaped([b, t, hq * d])
    let x2 = try x + linear(attended, wo)
    let h2 = try rmsNorm(x2, weight: norm2, eps: 1e-5)
    let mlp = try linear(swiglu(gate: linear(h2, gate), up: linear(h2, up)), down)
    let x3 = try x2 + mlp
    let logits = try linear(x3, head, bias: headBias)
    let loss = try crossEntropy(logits.reshaped([b * t, v]), targets: targets)
    try loss.backward()

    var result = ["loss": bits(loss.data), "logits": bits(logits.data)]
    for p in params { result["grad " + p.name!] = bits(p.grad!.data) }
    return result
}
