// Gradient accumulation with global denominators: the losses of k micro-batches, each divided by
// the whole optimizer step's count, add up to the full-batch loss, value and gradient.

import Alignment
import Foundation
import Testing
import Tensors

@Suite struct AggregationTests {
    /// B = 7 rows of T = 6 tokens with ragged masks, split into micro-batches of 3, 1 and 3 rows.
    static let rows = 7, tokens = 6, splits = [0..<3, 3..<4, 4..<7]

    static func mask() -> Tensor {
        let lengths = [6, 2, 4, 1, 5, 3, 6]
        return Tensor(shape: [rows, tokens], data: lengths.flatMap { n in (0..<tokens).map { $0 < n ? 1 : 0 } })
    }

    /// Runs `loss(x, mask, rows, aggregation)` on the full batch and on each micro-batch (rows in `splits`), backpropagating
    /// each, and compares the summed values and the accumulated gradient.
    func expectAccumulationMatches(
        _ aggregation: (Tensor) -> (full: LossAggregation, micro: LossAggregation),
        _ loss: (Tensor, Tensor, Range<Int>, LossAggregation) throws -> Tensor
    ) throws {
        var rng = RNG(seed: 7)
        let x = Tensor.randn([Self.rows, Self.tokens], std: 0.5, rng: &rng)
        let mask = Self.mask()
        let (fullAggregation, microAggregation) = aggregation(mask)

        let full = x.requiringGrad()
        let fullLoss = try loss(full, mask, 0..<Self.rows, fullAggregation)
        try fullLoss.backward()

        var total: Float = 0
        var grad: [Float] = []
        for range in Self.splits {
            let part = try x.slice(axis: 0, range).requiringGrad()
            let l = try loss(part, mask.slice(axis: 0, range), range, microAggregation)
            try l.backward()
            total += try l.item
            grad += part.grad?.data ?? []
        }
        let expected = try fullLoss.item
        #expect(abs(total - expected) <= 1e-6 * max(1, abs(expected)), "\(total) vs \(expected)")
        let g = full.grad?.data ?? []
        #expect(g.count == grad.count)
        for i in 0..<min(g.count, grad.count) { #expect(abs(g[i] - grad[i]) <= 1e-6, "gradient \(i): \(grad[i]) vs \(g[i])") }
    }

    static func tokenCount(_ mask: Tensor) -> Int { Int(mask.data.reduce(0, +)) }

    @Test func tokenMeanOverMicroBatchesEqualsFullBatch() throws {
        let advantages = Tensor(shape: [Self.rows, Self.tokens], data: (0..<(Self.rows * Self.tokens)).map { Float($0 % 5) - 2 })
        let old = Tensor(repeating: -1, shape: [Self.rows, Self.tokens])
        try expectAccumulationMatches({ (.tokenMean, .tokenMean(tokenCount: Self.tokenCount($0))) }) { x, mask, range, aggregation in
            try policyLoss(
                logProbs: x - 1, oldLogProbs: old.slice(axis: 0, range),
                advantages: advantages.slice(axis: 0, range), actionMask: mask, aggregation: aggregation)
        }
    }

    @Test func sequenceMeanOverMicroBatchesEqualsFullBatch() throws {
        try expectAccumulationMatches({ _ in (.sequenceMean, .sequenceMean(sequenceCount: Self.rows)) }) { x, mask, range, aggregation in
            try sftLoss(perTokenLogps: x, lossMask: mask, aggregation: aggregation)
        }
    }

    @Test func valueAndKLLossesAccumulateExactly() throws {
        try expectAccumulationMatches({ (.tokenMean, .tokenMean(tokenCount: Self.tokenCount($0))) }) { x, mask, range, aggregation in
            let returns = Tensor(repeating: 0.25, shape: x.shape)
            return try valueLoss(
                values: x, oldValues: x.detached(), returns: returns, actionMask: mask, clipEps: 0.2,
                aggregation: aggregation)
        }
        try expectAccumulationMatches({ _ in (.sequenceMean, .sequenceMean(sequenceCount: Self.rows)) }) { x, mask, range, aggregation in
            let kl = try computeApproxKL(logProbs: x, logProbsBase: Tensor(repeating: 0.1, shape: x.shape), estimator: .k3)
            return try klLoss(kl, actionMask: mask, aggregation: aggregation)
        }
    }

    @Test func languageModelLossAccumulatesWithTokenCount() throws {
        var rng = RNG(seed: 11)
        let (b, t, v) = (5, 6, 9)
        let logits = Tensor.randn([b, t, v], rng: &rng)
        var labels = (0..<(b * t)).map { $0 % v }
        for i in [0, 6, 7, 12, 13, 14, 29] { labels[i] = -100 }
        let counted = (0..<b).reduce(0) { total, row in total + labels[(row * t + 1)..<((row + 1) * t)].filter { $0 != -100 }.count }

        let full = logits.requiringGrad()
        let fullLoss = try gptLMLoss(logits: full, labels: labels)
        try fullLoss.backward()
        var total: Float = 0
        var grad: [Float] = []
        for range in [0..<2, 2..<5] {
            let part = try logits.slice(axis: 0, range).requiringGrad()
            let l = try gptLMLoss(logits: part, labels: Array(labels[(range.lowerBound * t)..<(range.upperBound * t)]), tokenCount: counted)
            try l.backward()
            total += try l.item
            grad += part.grad?.data ?? []
        }
        #expect(abs(total - (try fullLoss.item)) <= 1e-5)
        let g = full.grad?.data ?? []
        for i in 0..<g.count { #expect(abs(g[i] - grad[i]) <= 1e-6) }
    }

    @Test func dpoPairCountAccumulatesExactly() throws {
        var rng = RNG(seed: 3)
        let n = 5
        let logps = (0..<4).map { _ in Tensor.randn([n], std: 3, rng: &rng) }
        func run(_ range: Range<Int>, pairCount: Int?) throws -> (Float, [Float], [Float]) {
            let chosen = try logps[0].slice(axis: 0, range).requiringGrad()
            let rejected = try logps[1].slice(axis: 0, range).requiringGrad()
            let out = try dpoLoss(
                policyChosenLogps: chosen, policyRejectedLogps: rejected,
                referenceChosenLogps: logps[2].slice(axis: 0, range),
                referenceRejectedLogps: logps[3].slice(axis: 0, range),
                beta: 0.1, labelSmoothing: 0.1, pairCount: pairCount)
            try out.loss.backward()
            return (try out.loss.item, chosen.grad!.data, rejected.grad!.data)
        }
        let (fullLoss, fullChosen, fullRejected) = try run(0..<n, pairCount: nil)
        let a = try run(0..<2, pairCount: n), b = try run(2..<n, pairCount: n)
        #expect(abs(a.0 + b.0 - fullLoss) <= 1e-6)
        #expect(zip(a.1 + b.1, fullChosen).allSatisfy { abs($0 - $1) <= 1e-7 })
        #expect(zip(a.2 + b.2, fullRejected).allSatisfy { abs($0 - $1) <= 1e-7 })
    }

    /// Three samples of 4, 2 and 3 tokens, padded into [3, 4] rows or packed into rows of 6 as
    /// [s0 s1] and [s2 pad pad pad]: both aggregations give the same value and gradient.
    @Test(arguments: [LossAggregation.tokenMean, .sequenceMean, .sequenceMean(sequenceCount: 5)])
    func packedAggregationEqualsPadded(_ aggregation: LossAggregation) throws {
        let samples: [[Float]] = [[0.5, -1, 2, 0.25], [3, -0.5], [1, 1.5, -2]]
        let masks: [[Float]] = [[0, 1, 1, 1], [0, 1], [0, 0, 1]]
        var padded = [Float](repeating: 0, count: 12), paddedMask = padded
        for (r, (x, m)) in zip(samples, masks).enumerated() {
            for j in x.indices { padded[r * 4 + j] = x[j]; paddedMask[r * 4 + j] = m[j] }
        }
        let packed: [Float] = samples[0] + samples[1] + samples[2] + [9, 9, 9]
        let packedMask: [Float] = masks[0] + masks[1] + masks[2] + [0, 0, 0]
        let segments = [1, 1, 1, 1, 2, 2, 1, 1, 1, 0, 0, 0]

        let a = Tensor(shape: [3, 4], data: padded, requiresGrad: true)
        let la = try aggregateLoss(a, mask: Tensor(shape: [3, 4], data: paddedMask), aggregation)
        try la.backward()
        let b = Tensor(shape: [2, 6], data: packed, requiresGrad: true)
        let lb = try aggregateLoss(b, mask: Tensor(shape: [2, 6], data: packedMask), segments: segments, aggregation)
        try lb.backward()

        #expect(abs(try la.item - lb.item) <= 1e-6)
        let ga = a.grad!.data, gb = b.grad!.data
        let gaPacked = Array(ga[0..<4]) + Array(ga[4..<6]) + Array(ga[8..<11]) + [0, 0, 0]
        #expect(zip(gaPacked, gb).allSatisfy { abs($0 - $1) <= 1e-7 }, "\(gaPacked) vs \(gb)")
    }

    @Test func emptyMaskGivesZeroNotNaN() throws {
        let x = Tensor(repeating: 3, shape: [2, 3])
        let mask = Tensor.zeros([2, 3])
        #expect(try aggregateLoss(x, mask: mask, .tokenMean).item == 0)
        #expect(try aggregateLoss(x, mask: mask, .sequenceMean).item == 0)
        #expect(throws: AlignmentError.self) { try aggregateLoss(x, mask: mask, .tokenMean(tokenCount: 0)) }
    }
}
