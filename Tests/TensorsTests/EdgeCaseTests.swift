import Foundation
import Testing
@testable import Tensors

/// Bad shapes, empty tensors, NaN inputs and the autograd tape's own rules.
@Suite struct EdgeCaseTests {
    // MARK: - Errors name the operation and the shapes

    struct BadCall: CustomTestStringConvertible, Sendable {
        let op: String
        let mentions: [String]
        let call: @Sendable () throws -> Void
        var testDescription: String { op }

        init(_ op: String, _ mentions: [String], _ call: @escaping @Sendable () throws -> Void) {
            self.op = op
            self.mentions = mentions
            self.call = call
        }
    }

    static let badCalls: [BadCall] = [
        BadCall("matmul", ["[2, 3]", "[4, 5]"]) { _ = try matmul(.zeros([2, 3]), .zeros([4, 5])) },
        BadCall("matmul", ["[2, 3, 4]", "[3, 4, 5]"]) { _ = try matmul(.zeros([2, 3, 4]), .zeros([3, 4, 5])) },
        BadCall("matmul", ["[3]"]) { _ = try matmul(.zeros([3]), .zeros([3, 2])) },
        BadCall("linear", ["[2, 3]", "[4, 5]"]) { _ = try linear(.zeros([2, 3]), .zeros([4, 5])) },
        BadCall("linear", ["[3]", "[4, 5]"]) { _ = try linear(.zeros([2, 5]), .zeros([4, 5]), bias: .zeros([3])) },
        BadCall("add", ["[2, 3]", "[4]"]) { _ = try Tensor.zeros([2, 3]) + .zeros([4]) },
        BadCall("mul", ["[2, 3]", "[2]"]) { _ = try Tensor.zeros([2, 3]) * .zeros([2]) },
        BadCall("maximum", ["[3]", "[2]"]) { _ = try maximum(.zeros([3]), .zeros([2])) },
        BadCall("where", ["[3]", "[2]"]) { _ = try `where`(.zeros([3]), .zeros([2]), .zeros([1])) },
        BadCall("reshape", ["[2, 3]", "[4]"]) { _ = try Tensor.zeros([2, 3]).reshaped([4]) },
        BadCall("permute", ["[2, 3]", "[0, 0]"]) { _ = try Tensor.zeros([2, 3]).permuted([0, 0]) },
        BadCall("slice", ["[2, 3]", "2..<4"]) { _ = try Tensor.zeros([2, 3]).slice(axis: 1, 2..<4) },
        BadCall("split", ["[2, 3]", "[1, 1]"]) { _ = try Tensor.zeros([2, 3]).split(axis: 1, sizes: [1, 1]) },
        BadCall("concat", ["[2, 3]", "[3, 3]"]) { _ = try concat([.zeros([2, 3]), .zeros([3, 3])], axis: 1) },
        BadCall("concat", ["[]"]) { _ = try concat([Tensor(scalar: 1), Tensor(scalar: 2)], axis: 0) },
        BadCall("sum", ["axis 3", "rank 2"]) { _ = try Tensor.zeros([2, 3]).sum(axis: 3) },
        BadCall("max", ["[2, 0]"]) { _ = try Tensor.zeros([2, 0]).max(axis: 1) },
        BadCall("layerNorm", ["[2, 4]", "[3]"]) { _ = try layerNorm(.zeros([2, 4]), weight: .ones([3]), bias: nil, eps: 1e-5) },
        BadCall("layerNorm", ["[2, 4]", "[5]"]) { _ = try layerNorm(.zeros([2, 4]), weight: .ones([4]), bias: .zeros([5]), eps: 1e-5) },
        BadCall("rmsNorm", ["[2, 4]", "[2]"]) { _ = try rmsNorm(.zeros([2, 4]), weight: .ones([2]), eps: 1e-5) },
        BadCall("swiglu", ["[2, 4]", "[2, 3]"]) { _ = try swiglu(gate: .zeros([2, 4]), up: .zeros([2, 3])) },
        BadCall("rope", ["[1, 2, 3, 5]"]) { _ = try rope(.zeros([1, 2, 3, 5]), positions: [0, 1, 2], theta: 1e4) },
        BadCall("rope", ["2 positions", "[1, 2, 3, 4]"]) { _ = try rope(.zeros([1, 2, 3, 4]), positions: [0, 1], theta: 1e4) },
        BadCall("causalAttention", ["[1, 3, 2, 4]", "[1, 2, 2, 4]", "multiple"]) {
            _ = try causalAttention(q: .zeros([1, 3, 2, 4]), k: .zeros([1, 2, 2, 4]), v: .zeros([1, 2, 2, 4]))
        },
        BadCall("causalAttention", ["[1, 2, 3, 4]", "[1, 2, 2, 4]", "S = 2", "T = 3"]) {
            _ = try causalAttention(q: .zeros([1, 2, 3, 4]), k: .zeros([1, 2, 2, 4]), v: .zeros([1, 2, 2, 4]))
        },
        BadCall("causalAttention", ["[1, 2, 2, 4]", "[1, 2, 2, 3]"]) {
            _ = try causalAttention(q: .zeros([1, 2, 2, 4]), k: .zeros([1, 2, 2, 3]), v: .zeros([1, 2, 2, 3]))
        },
        BadCall("causalAttention", ["3 segment ids", "B·S = 1·2"]) {
            _ = try causalAttention(q: .zeros([1, 2, 2, 4]), k: .zeros([1, 2, 2, 4]), v: .zeros([1, 2, 2, 4]), segments: [0, 0, 0])
        },
        BadCall("causalAttention", ["1 key-mask flags"]) {
            _ = try causalAttention(q: .zeros([1, 2, 2, 4]), k: .zeros([1, 2, 2, 4]), v: .zeros([1, 2, 2, 4]), keyMask: [true])
        },
        BadCall("crossEntropy", ["3 targets", "[2, 5]"]) { _ = try crossEntropy(.zeros([2, 5]), targets: [0, 1, 2]) },
        BadCall("crossEntropy", ["target 5", "row 1", "5 classes"]) { _ = try crossEntropy(.zeros([2, 5]), targets: [0, 5]) },
        BadCall("crossEntropy", ["[5]"]) { _ = try crossEntropy(.zeros([5]), targets: [0]) },
        BadCall("logProbs", ["3 labels", "[2, 5]"]) { _ = try logProbs(.zeros([2, 5]), labels: [0, 1, 2]) },
        BadCall("logProbs", ["label 7", "row 0", "[2, 5]"]) { _ = try logProbs(.zeros([2, 5]), labels: [7, 1]) },
        BadCall("embedding", ["id 9", "position 1", "[4, 2]"]) { _ = try embedding(.zeros([4, 2]), ids: [0, 9], shape: [2]) },
        BadCall("embedding", ["3 ids", "[2, 2]"]) { _ = try embedding(.zeros([4, 2]), ids: [0, 1, 2], shape: [2, 2]) },
        BadCall("gather", ["index 3", "[2, 3]"]) { _ = try gather(.zeros([2, 3]), axis: 1, index: [0, 3]) },
        BadCall("gather", ["3 indices", "[2, 3]"]) { _ = try gather(.zeros([2, 3]), axis: 1, index: [0, 1, 2]) },
    ]

    @Test(arguments: badCalls)
    func badInputGivesAnErrorNamingTheOpAndShapes(_ bad: BadCall) {
        do {
            try bad.call()
            Issue.record("\(bad.op): no error")
        } catch let error as TensorError {
            let text = "\(error)"
            #expect(text.hasPrefix(bad.op + ":"), "\(text)")
            for m in bad.mentions { #expect(text.contains(m), "'\(text)' does not mention \(m)") }
        } catch {
            Issue.record("\(bad.op): not a TensorError: \(error)")
        }
    }

    // MARK: - Empty tensors

    @Test func emptyMatrixProducts() throws {
        let a = Tensor.zeros([0, 3], requiresGrad: true), b = Tensor.ones([3, 4], requiresGrad: true)
        let c = try matmul(a, b)
        #expect(c.shape == [0, 4])
        try c.sum().backward()
        #expect(a.grad?.shape == [0, 3] && b.grad?.data == [Float](repeating: 0, count: 12))

        let x = Tensor.ones([2, 0], requiresGrad: true), y = Tensor.ones([0, 3], requiresGrad: true)
        let z = try matmul(x, y)
        #expect(z.shape == [2, 3] && z.data == [Float](repeating: 0, count: 6))
        try z.sum().backward()
        #expect(x.grad?.count == 0 && y.grad?.count == 0)

        let batched = try matmul(Tensor.zeros([0, 2, 3]), Tensor.zeros([3, 4]), transposeA: false)
        #expect(batched.shape == [0, 2, 4])
        let bias = Tensor(shape: [2], data: [1, 2])
        #expect(try linear(Tensor.zeros([3, 0]), Tensor.zeros([2, 0]), bias: bias).data == [1, 2, 1, 2, 1, 2])
        #expect(try linear(Tensor.zeros([0, 4]), Tensor.zeros([2, 4])).shape == [0, 2])
    }

    @Test func emptyRowsThroughEveryKernel() throws {
        let none = Tensor.zeros([0, 5], requiresGrad: true)
        #expect(try softmax(none).shape == [0, 5])
        #expect(try logSoftmax(Tensor.zeros([2, 0])).shape == [2, 0])
        #expect(try layerNorm(none, weight: .ones([5]), bias: .zeros([5]), eps: 1e-5).shape == [0, 5])
        #expect(try rmsNorm(none, weight: .ones([5]), eps: 1e-5).shape == [0, 5])
        #expect(gelu(Tensor.zeros([0])).count == 0 && silu(Tensor.zeros([0])).count == 0)
        #expect(try swiglu(gate: .zeros([0, 2]), up: .zeros([0, 2])).shape == [0, 2])
        #expect(try rope(Tensor.zeros([1, 2, 0, 4]), positions: [], theta: 1e4).shape == [1, 2, 0, 4])
        let empty = try causalAttention(q: .zeros([1, 2, 0, 4]), k: .zeros([1, 1, 0, 4]), v: .zeros([1, 1, 0, 4]))
        #expect(empty.shape == [1, 2, 0, 4])
        #expect(try embedding(Tensor.ones([3, 2]), ids: [], shape: [0]).shape == [0, 2])
        #expect(try gather(Tensor.ones([2, 3]), axis: 1, index: []).shape == [2, 0])
        #expect(try logProbs(none, labels: []).shape == [0])

        let loss = try crossEntropy(none, targets: [], reduction: .sum)
        #expect(try loss.item == 0)
        try loss.backward()
        #expect(none.grad?.shape == [0, 5])
        #expect(try crossEntropy(none, targets: [], reduction: .none).shape == [0])
        // PyTorch: a mean over no counted rows is NaN.
        #expect(try crossEntropy(none, targets: []).item.isNaN)
        #expect(try crossEntropy(Tensor.zeros([2, 3]), targets: [-100, -100]).item.isNaN)

        #expect(try Tensor.zeros([0]).sum().item == 0)
        #expect(try Tensor.zeros([0]).mean().item.isNaN)
        #expect(try Tensor.zeros([2, 0]).sum(axis: 1).data == [0, 0])
        #expect(try Tensor.zeros([2, 0]).logSumExp(axis: 1).data == [-.infinity, -.infinity])
    }

    // MARK: - NaN propagates as in PyTorch

    @Test func nanPropagatesThroughRowKernels() throws {
        let x = Tensor(shape: [2, 3], data: [1, .nan, 2, 0.5, 1, -1])
        for y in [
            try softmax(x), try logSoftmax(x), try layerNorm(x, weight: .ones([3]), bias: nil, eps: 1e-5),
            try rmsNorm(x, weight: .ones([3]), eps: 1e-5),
        ] {
            #expect(y.data[0..<3].allSatisfy { $0.isNaN })
            #expect(y.data[3..<6].allSatisfy { $0.isFinite })
        }
        #expect(try crossEntropy(x, targets: [0, 1]).item.isNaN)
        #expect(try crossEntropy(x, targets: [-100, 1]).item.isFinite)
        let lp = try logProbs(x, labels: [2, 1])
        #expect(lp.data[0].isNaN && lp.data[1].isFinite)
        #expect(try x.logSumExp().data[0].isNaN)
    }

    @Test func nanWinsMaxAndMin() throws {
        let a = Tensor(shape: [3], data: [.nan, 1, 2]), b = Tensor(shape: [3], data: [0, .nan, 1])
        #expect(try maximum(a, b).data.prefix(2).allSatisfy { $0.isNaN } && maximum(a, b).data[2] == 2)
        #expect(try minimum(a, b).data.prefix(2).allSatisfy { $0.isNaN } && minimum(a, b).data[2] == 1)
        let m = Tensor(shape: [2, 3], data: [1, .nan, 3, 4, 5, 6])
        #expect(try m.max(axis: 1).data[0].isNaN && m.max(axis: 1).data[1] == 6)
        #expect(try m.min(axis: 1).data[0].isNaN && m.min(axis: 1).data[1] == 4)
        #expect(try m.argmax(axis: 1) == [1, 2])
        #expect(m.sum().data[0].isNaN)
        #expect(m.relu().data[1].isNaN && m.clamp(min: 0, max: 1).data[1].isNaN && gelu(m).data[1].isNaN)
        #expect(m.sigmoid().data[1].isNaN && silu(m).data[1].isNaN)
    }

    /// A NaN key reaches only the queries that attend to it; masked positions stay clean.
    @Test func nanKeyReachesOnlyQueriesThatSeeIt() throws {
        var kData = [Float](repeating: 0.1, count: 4 * 2)
        kData[2 * 2] = .nan  // key 2
        let q = Tensor.ones([1, 1, 4, 2]), k = Tensor(shape: [1, 1, 4, 2], data: kData), v = Tensor.ones([1, 1, 4, 2])
        let out = try causalAttention(q: q, k: k, v: v)
        #expect(out.data[0..<4].allSatisfy { $0.isFinite })
        #expect(out.data[4..<8].allSatisfy { $0.isNaN })
        let masked = try causalAttention(q: q, k: k, v: v, keyMask: [true, true, false, true])
        #expect(masked.data.allSatisfy { $0.isFinite })
    }

    // MARK: - Attention masking semantics

    @Test func queryThatSeesNoKeyOutputsZero() throws {
        let q = randomTensor([1, 2, 3, 4], seed: 1), k = randomTensor([1, 1, 3, 4], seed: 2)
        let v = randomTensor([1, 1, 3, 4], seed: 3)
        let out = try causalAttention(q: q, k: k, v: v, keyMask: [false, true, true])
        try out.sum().backward()
        for head in 0..<2 {
            #expect(out.data[(head * 3) * 4..<(head * 3 + 1) * 4].allSatisfy { $0 == 0 })
            #expect(q.grad!.data[(head * 3) * 4..<(head * 3 + 1) * 4].allSatisfy { $0 == 0 })
        }
        #expect(out.data.allSatisfy { $0.isFinite })
        #expect(k.grad!.data[0..<4].allSatisfy { $0 == 0 } && v.grad!.data[0..<4].allSatisfy { $0 == 0 })
    }

    /// Packing: each segment of a packed row gives what it gives alone.
    @Test func packedSegmentsEqualSeparateSamples() throws {
        let q = randomTensor([1, 2, 5, 4], seed: 4), k = randomTensor([1, 2, 5, 4], seed: 5), v = randomTensor([1, 2, 5, 4], seed: 6)
        let packed = try causalAttention(q: q, k: k, v: v, segments: [0, 0, 1, 1, 1])
        let first = try causalAttention(q: q.slice(axis: 2, 0..<2), k: k.slice(axis: 2, 0..<2), v: v.slice(axis: 2, 0..<2))
        let second = try causalAttention(q: q.slice(axis: 2, 2..<5), k: k.slice(axis: 2, 2..<5), v: v.slice(axis: 2, 2..<5))
        let joined = try concat([first, second], axis: 2)
        expectClose(packed.data, joined.data.map(Double.init), rtol: 1e-6, atol: 1e-7, "packed vs separate")
    }

    /// Decoding with a KV cache: the last query over all keys equals the last row of the full pass.
    @Test func cachedQueryEqualsFullPass() throws {
        let q = randomTensor([2, 4, 6, 8], seed: 7), k = randomTensor([2, 2, 6, 8], seed: 8), v = randomTensor([2, 2, 6, 8], seed: 9)
        let full = try causalAttention(q: q, k: k, v: v, keyMask: [false] + Array(repeating: true, count: 11))
        let last = try causalAttention(q: q.slice(axis: 2, 4..<6), k: k, v: v, keyMask: [false] + Array(repeating: true, count: 11))
        expectClose(last.data, try full.slice(axis: 2, 4..<6).data.map(Double.init), rtol: 1e-6, atol: 1e-7, "cache")
    }

    // MARK: - The tape

    @Test func tapeRules() throws {
        let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let y = try x * x + x  // x used three times
        try y.backward([1, 1])
        #expect(x.grad?.data == [3, 5])
        try (x * 2).sum().backward()  // accumulates
        #expect(x.grad?.data == [5, 7])
        x.zeroGrad()
        #expect(x.grad == nil)

        let frozen = Tensor.withNoGrad { x * 3 }
        #expect(!frozen.requiresGrad && frozen.isLeaf)
        #expect(throws: TensorError.self) { try frozen.backward() }
        #expect(throws: TensorError.self) { try (x * 3).backward() }  // not a scalar, no gradient given
        #expect(throws: TensorError.self) { try (x * 3).backward([1]) }
    }
}
