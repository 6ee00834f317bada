import Foundation
import FixtureSupport
import Testing
@testable import Tensors

/// Every backward against central finite differences.
///
/// For `L = Σ f(inputs) · W` (W a fixed random weighting of the output), the analytic gradient
/// from `backward(W)` must match `(L(x + h) - L(x - h)) / 2h` for every element of every input.
/// L is summed in Float64; the forward is Float32, so the tolerance is that of a Float32 function
/// differenced with h = 1e-2 (truncation ~h², rounding ~1e-7·|L|/h).
@Suite struct GradientCheckTests {
    @Test(arguments: GradientCase.all)
    func backwardMatchesFiniteDifferences(_ c: GradientCase) throws {
        let inputs = c.inputs()
        let y = try c.f(inputs)
        var rng = RNG(seed: 99)
        let weighting = (0..<y.count).map { _ in rng.normal() }
        try y.backward(weighting)

        func loss() throws -> Double {
            let out = try Tensor.withNoGrad { try c.f(inputs) }
            var total = 0.0
            for (v, w) in zip(out.data, weighting) { total += Double(v) * Double(w) }
            return total
        }

        var checked = 0
        for (index, input) in inputs.enumerated() where input.requiresGrad {
            let analytic = try #require(input.grad, "input \(index) got no gradient").data
            var numeric = [Double](repeating: 0, count: input.count)
            for e in 0..<input.count {
                let x0 = input.data[e]
                let xp = x0 + c.h, xm = x0 - c.h
                input.data[e] = xp
                let lp = try loss()
                input.data[e] = xm
                let lm = try loss()
                input.data[e] = x0
                numeric[e] = (lp - lm) / (Double(xp) - Double(xm))
            }
            let scale = max(1, numeric.map(Swift.abs).max() ?? 0)
            let problem = mismatch(analytic, numeric, rtol: c.rtol, atol: c.atol * scale, label: "\(c.name) input \(index)")
            #expect(problem == nil, "\(problem ?? "")\nanalytic \(analytic.prefix(12))\nnumeric  \(numeric.prefix(12))")
            checked += numeric.filter { $0 != 0 }.count
        }
        #expect(checked > 0, "\(c.name): no non-zero gradient was checked")
    }
}

/// One operation under test: how to make its inputs, and the function of them.
struct GradientCase: CustomTestStringConvertible, Sendable {
    let name: String
    let inputs: @Sendable () -> [Tensor]
    let f: @Sendable ([Tensor]) throws -> Tensor
    var h: Float = 1e-2
    var rtol: Double = 1e-2
    var atol: Double = 2e-3

    var testDescription: String { name }

    init(
        _ name: String, h: Float = 1e-2, rtol: Double = 1e-2, atol: Double = 2e-3,
        _ inputs: @escaping @Sendable () -> [Tensor], _ f: @escaping @Sendable ([Tensor]) throws -> Tensor
    ) {
        self.name = name
        self.inputs = inputs
        self.f = f
        self.h = h
        self.rtol = rtol
        self.atol = atol
    }
}

// MARK: - Inputs

/// Normal values.
private func n(_ shape: [Int], _ seed: UInt64, std: Float = 1) -> Tensor { randomTensor(shape, seed: seed, std: std) }

/// Values in [0.5, 1.5]: for log, sqrt, pow and divisors.
private func positive(_ shape: [Int], _ seed: UInt64) -> Tensor {
    var rng = RNG(seed: seed)
    return Tensor(shape: shape, data: (0..<elementCount(shape)).map { _ in 0.5 + rng.uniform() }, requiresGrad: true)
}

/// Values at least 0.1 apart and at least 0.05 away from 0, shuffled: no ties for max/min, no
/// kinks for abs/relu within ±h.
private func distinct(_ shape: [Int], _ seed: UInt64, offset: Float = 0) -> Tensor {
    var rng = RNG(seed: seed)
    let count = elementCount(shape)
    let values = rng.permutation(count).map { Float($0 - count / 2) * 0.1 + 0.05 + offset }
    return Tensor(shape: shape, data: values, requiresGrad: true)
}

// MARK: - Cases

extension GradientCase {
    static let all: [GradientCase] = matmul + elementwise + reductions + shapes + kernels + attention + losses + indexing

    static let matmul: [GradientCase] = {
        var cases: [GradientCase] = []
        for tA in [false, true] {
            for tB in [false, true] {
                let label = "\(tA ? "Aᵀ" : "A")·\(tB ? "Bᵀ" : "B")"
                cases.append(
                    GradientCase("matmul 2-D \(label)", { [n(tA ? [4, 3] : [3, 4], 1), n(tB ? [5, 4] : [4, 5], 2)] }) {
                        try Tensors.matmul($0[0], $0[1], transposeA: tA, transposeB: tB)
                    })
                cases.append(
                    GradientCase("matmul batched \(label)", { [n(tA ? [2, 4, 3] : [2, 3, 4], 3), n(tB ? [2, 5, 4] : [2, 4, 5], 4)] }) {
                        try Tensors.matmul($0[0], $0[1], transposeA: tA, transposeB: tB)
                    })
                cases.append(
                    GradientCase("matmul shared B \(label)", { [n(tA ? [2, 3, 4, 3] : [2, 3, 3, 4], 5), n(tB ? [5, 4] : [4, 5], 6)] }) {
                        try Tensors.matmul($0[0], $0[1], transposeA: tA, transposeB: tB)
                    })
            }
        }
        cases.append(
            GradientCase("linear with bias", { [n([2, 3, 4], 7), n([5, 4], 8), n([5], 9)] }) {
                try linear($0[0], $0[1], bias: $0[2])
            })
        cases.append(GradientCase("linear without bias", { [n([3, 4], 10), n([2, 4], 11)] }) { try linear($0[0], $0[1]) })
        return cases
    }()

    static let elementwise: [GradientCase] = [
        GradientCase("add broadcast [2,3,4]+[3,1]", { [n([2, 3, 4], 20), n([3, 1], 21)] }) { try $0[0] + $0[1] },
        GradientCase("sub broadcast [4]-[2,3,4]", { [n([4], 22), n([2, 3, 4], 23)] }) { try $0[0] - $0[1] },
        GradientCase("mul broadcast [2,1,4]*[3,1]", { [n([2, 1, 4], 24), n([3, 1], 25)] }) { try $0[0] * $0[1] },
        GradientCase("mul by scalar tensor", { [n([2, 3], 26), n([], 27)] }) { try $0[0] * $0[1] },
        GradientCase("div broadcast [2,3]/[3]", { [n([2, 3], 28), positive([3], 29)] }) { try $0[0] / $0[1] },
        GradientCase("div scalar tensor / [2,3]", { [n([1], 30), positive([2, 3], 31)] }) { try $0[0] / $0[1] },
        GradientCase("scalar arithmetic", { [n([2, 3], 32)] }) { x in
            let a: Tensor = (x[0] + 2) * 1.5
            let b: Tensor = (3 - x[0]) / 4
            let c: Tensor = -x[0]
            let d: Tensor = try (2 + x[0]) * (0.5 * x[0])
            let e: Tensor = x[0] - 1
            return try a - b + c + d - e
        },
        GradientCase("exp", { [n([2, 3], 33)] }) { $0[0].exp() },
        GradientCase("log", { [positive([2, 3], 34)] }) { $0[0].log() },
        GradientCase("sqrt", { [positive([2, 3], 35)] }) { $0[0].sqrt() },
        GradientCase("square", { [n([2, 3], 36)] }) { $0[0].square() },
        GradientCase("abs", { [distinct([2, 4], 37)] }) { $0[0].abs() },
        GradientCase("tanh", { [n([2, 3], 38)] }) { $0[0].tanh() },
        GradientCase("relu", { [distinct([2, 4], 39)] }) { $0[0].relu() },
        GradientCase("pow 3", { [n([2, 3], 40)] }) { $0[0].pow(3) },
        GradientCase("pow 0.5", { [positive([2, 3], 41)] }) { $0[0].pow(0.5) },
        GradientCase("sigmoid", { [n([2, 3], 42, std: 3)] }) { $0[0].sigmoid() },
        GradientCase("logSigmoid", { [n([2, 3], 43, std: 3)] }) { $0[0].logSigmoid() },
        GradientCase("clamp", { [distinct([3, 4], 44, offset: 0.02)] }) { $0[0].clamp(min: -0.3, max: 0.4) },
        GradientCase("clamp min only", { [distinct([3, 4], 45, offset: 0.02)] }) { $0[0].clamp(min: -0.3) },
        GradientCase("maximum broadcast", { [distinct([2, 3], 46), distinct([3], 47, offset: 0.03)] }) { try maximum($0[0], $0[1]) },
        GradientCase("minimum broadcast", { [distinct([3, 1], 48), distinct([3, 4], 49, offset: 0.03)] }) { try minimum($0[0], $0[1]) },
        GradientCase("where broadcast", { [n([2, 3], 50), n([3], 51)] }) { x in
            let condition = Tensor(shape: [2, 1], data: [1, 0])
            return try `where`(condition, x[0], x[1]) * `where`(Tensor(shape: [3], data: [0, 1, 1]), x[0], x[1])
        },
    ]

    static let reductions: [GradientCase] = [
        GradientCase("sum all", { [n([2, 3, 4], 60)] }) { try $0[0].sum() * $0[0].sum() },
        GradientCase("mean all", { [n([2, 3, 4], 61)] }) { try $0[0].mean() * $0[0].sum() },
        GradientCase("sum axis 0", { [n([2, 3, 4], 62)] }) { try $0[0].sum(axis: 0) },
        GradientCase("sum axis 1 keepDims", { [n([2, 3, 4], 63)] }) { try $0[0].sum(axis: 1, keepDims: true) },
        GradientCase("sum axis -1", { [n([2, 3, 4], 64)] }) { try $0[0].sum(axis: -1) },
        GradientCase("mean axis 1", { [n([2, 3, 4], 65)] }) { try $0[0].mean(axis: 1) },
        GradientCase("max axis 1", { [distinct([2, 3, 4], 66)] }) { try $0[0].max(axis: 1) },
        GradientCase("min axis -1 keepDims", { [distinct([2, 3, 4], 67)] }) { try $0[0].min(axis: -1, keepDims: true) },
        GradientCase("logSumExp axis -1", { [n([2, 3, 4], 68)] }) { try $0[0].logSumExp() },
        GradientCase("logSumExp axis 0", { [n([2, 3, 4], 69)] }) { try $0[0].logSumExp(axis: 0) },
        GradientCase("logSumExp axis 1 keepDims", { [n([2, 3, 4], 70)] }) { try $0[0].logSumExp(axis: 1, keepDims: true) },
    ]

    static let shapes: [GradientCase] = [
        GradientCase("reshape", { [n([2, 3, 4], 80)] }) { try $0[0].reshaped([4, -1]) * n([4, 6], 81) },
        GradientCase("permute", { [n([2, 3, 4], 82)] }) { try $0[0].permuted([2, 0, 1]) * n([4, 2, 3], 83) },
        GradientCase("transpose", { [n([2, 3, 4], 84)] }) { try $0[0].transposed(0, 2) },
        GradientCase("slice", { [n([2, 5, 3], 85)] }) { try $0[0].slice(axis: 1, 1..<4) },
        GradientCase("split and concat", { [n([2, 5, 3], 86)] }) { x in
            let parts = try x[0].split(axis: 1, sizes: [2, 0, 3])
            return try concat([parts[2] * 2, parts[0], parts[1]], axis: 1)
        },
        GradientCase("concat axis -1", { [n([2, 3], 87), n([2, 1], 88), n([2, 2], 89)] }) { try concat($0, axis: -1) },
        GradientCase("stack", { [n([2, 3], 90), n([2, 3], 91)] }) { try stack([$0[0], $0[1] * $0[0]]) },
    ]

    static let kernels: [GradientCase] = [
        GradientCase("softmax", { [n([3, 5], 100, std: 2)] }) { try softmax($0[0]) },
        GradientCase("logSoftmax", { [n([3, 5], 101, std: 2)] }) { try logSoftmax($0[0]) },
        GradientCase("layerNorm with bias", { [n([3, 6], 102), n([6], 103), n([6], 104)] }) {
            try layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5)
        },
        GradientCase("layerNorm without bias", { [n([2, 2, 5], 105), n([5], 106)] }) {
            try layerNorm($0[0], weight: $0[1], bias: nil, eps: 1e-5)
        },
        GradientCase("rmsNorm", { [n([3, 6], 107), n([6], 108)] }) { try rmsNorm($0[0], weight: $0[1], eps: 1e-6) },
        GradientCase("gelu tanh", { [n([3, 5], 109, std: 2)] }) { gelu($0[0], approximate: .tanh) },
        GradientCase("gelu erf", { [n([3, 5], 110, std: 2)] }) { gelu($0[0], approximate: .none) },
        GradientCase("silu", { [n([3, 5], 111, std: 2)] }) { silu($0[0]) },
        GradientCase("swiglu", { [n([3, 5], 112, std: 2), n([3, 5], 113)] }) { try swiglu(gate: $0[0], up: $0[1]) },
        GradientCase("rope", { [n([2, 3, 4, 6], 114)] }) { try rope($0[0], positions: [0, 1, 2, 3, 5, 0, 9, 2], theta: 100) },
    ]

    static let attention: [GradientCase] = {
        func qkv(_ b: Int, _ hq: Int, _ hkv: Int, _ t: Int, _ s: Int, _ d: Int, _ seed: UInt64) -> @Sendable () -> [Tensor] {
            { [n([b, hq, t, d], seed), n([b, hkv, s, d], seed + 1), n([b, hkv, s, d], seed + 2)] }
        }
        return [
            GradientCase("attention MHA", qkv(2, 2, 2, 4, 4, 3, 120)) { try causalAttention(q: $0[0], k: $0[1], v: $0[2]) },
            GradientCase("attention GQA", qkv(1, 4, 2, 4, 4, 3, 123)) { try causalAttention(q: $0[0], k: $0[1], v: $0[2]) },
            GradientCase("attention KV cache S > T", qkv(2, 2, 1, 2, 5, 3, 126)) { try causalAttention(q: $0[0], k: $0[1], v: $0[2]) },
            GradientCase("attention scale", qkv(1, 2, 2, 3, 3, 4, 129)) { try causalAttention(q: $0[0], k: $0[1], v: $0[2], scale: 0.8) },
            GradientCase("attention segments", qkv(2, 2, 2, 5, 5, 3, 132)) {
                try causalAttention(q: $0[0], k: $0[1], v: $0[2], segments: [0, 0, 1, 1, 1, 3, 4, 4, 4, 7])
            },
            // Row 0 is left-padded by two keys (its first two queries see nothing and output 0).
            GradientCase("attention keyMask", qkv(2, 2, 2, 4, 4, 3, 135)) {
                try causalAttention(
                    q: $0[0], k: $0[1], v: $0[2],
                    keyMask: [false, false, true, true, true, true, false, true])
            },
            GradientCase("attention segments + keyMask + cache", qkv(2, 4, 2, 3, 6, 3, 138)) {
                try causalAttention(
                    q: $0[0], k: $0[1], v: $0[2], segments: [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3],
                    keyMask: [true, false, true, true, true, true, false, true, true, true, false, true])
            },
        ]
    }()

    static let losses: [GradientCase] = [
        GradientCase("crossEntropy mean with ignored rows", { [n([5, 4], 150, std: 2)] }) {
            try crossEntropy($0[0], targets: [1, -100, 3, 0, -100])
        },
        GradientCase("crossEntropy sum", { [n([5, 4], 151, std: 2)] }) {
            try crossEntropy($0[0], targets: [1, 2, 3, 0, 7], ignoreIndex: 7, reduction: .sum)
        },
        GradientCase("crossEntropy none", { [n([2, 2, 4], 152, std: 2)] }) {
            try crossEntropy($0[0], targets: [1, -100, 3, 0], reduction: .none)
        },
        GradientCase("crossEntropy label smoothing", { [n([4, 5], 153, std: 2)] }) {
            try crossEntropy($0[0], targets: [4, -100, 0, 2], labelSmoothing: 0.2)
        },
        GradientCase("logProbs", { [n([2, 3, 5], 154, std: 2)] }) { try logProbs($0[0], labels: [0, 4, 2, -100, 1, 3]) },
        GradientCase("logProbs temperature", { [n([3, 5], 155, std: 2)] }) {
            try logProbs($0[0], labels: [2, 2, 4], temperature: 0.7)
        },
    ]

    static let indexing: [GradientCase] = [
        GradientCase("embedding with repeated ids", { [n([5, 3], 170)] }) { try embedding($0[0], ids: [4, 0, 4, 2, 4, 1], shape: [2, 3]) },
        GradientCase("gather axis 0", { [n([3, 4], 171)] }) { try gather($0[0], axis: 0, index: [2, 0, 1, 1, 0, 0, 2, 2]) },
        GradientCase("gather axis 1 repeated", { [n([2, 3, 2], 172)] }) {
            try gather($0[0], axis: 1, index: [2, 2, 0, 1, 1, 1, 1, 1, 2, 0, 0, 0, 2, 1, 0, 2])
        },
        GradientCase("gather last axis", { [n([3, 5], 173)] }) { try gather($0[0], axis: -1, index: [4, 0, 1, 3, 3, 3]) },
    ]
}
