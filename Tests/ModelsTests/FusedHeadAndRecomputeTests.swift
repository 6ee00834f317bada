// The fused, blocked LM head + cross-entropy against transformers' loss and gradients (the tiny
// Llama and GPT-2 fixtures) and against the plain path; activation recompute against the plain
// backward, bit for bit.

import FixtureSupport
import Foundation
import Models
import Tensors
import Testing

/// The mean next-token loss of a fixture through the fused head, `blockRows` positions at a time.
private func fusedLoss(_ f: LoadedModelFixture, blockRows: Int) throws -> (loss: Tensor, logProbs: [Float]) {
    let labels = nextTokenTargets(f.ids, batch: f.batch, length: f.length).map { $0 < 0 ? -1 : $0 }
    let count = Float(labels.filter { $0 >= 0 }.count)
    let hidden = try f.model.forward(ids: f.ids, batch: f.batch, length: f.length)
    return try fusedLinearCrossEntropy(
        hidden, weight: f.model.lmHead.weight, labels: labels, weights: labels.map { $0 >= 0 ? 1 / count : 0 },
        blockRows: blockRows)
}

@Suite struct FusedHeadAndRecomputeTests {
    @Test(arguments: modelFixtureCases)
    func fusedHeadMatchesTransformers(_ c: ReferenceCase) throws {
        try c.check(tolerances: ["loss": Tolerance(rtol: 1e-4, atol: 0), "grad_norms": Tolerance(rtol: 1e-4, atol: 1e-7)], partial: true) { _ in
            let f = try LoadedModelFixture(c.url)
            let (loss, _) = try fusedLoss(f, blockRows: 5)
            try loss.backward()
            var outputs: [String: any ReferenceValue] = ["loss": loss]
            for (name, tensor) in f.model.parameters() { outputs["grad_norms.\(name)"] = tensor.grad.map { l2($0.data) } }
            return outputs
        }
    }

    @Test(arguments: modelFixtureCases)
    func fusedHeadMatchesThePlainPath(_ c: ReferenceCase) throws {
        let plain = try LoadedModelFixture(c.url), fused = try LoadedModelFixture(c.url)
        let labels = nextTokenTargets(plain.ids, batch: plain.batch, length: plain.length).map { $0 < 0 ? -1 : $0 }
        let logits = try plain.model.logits(ids: plain.ids, batch: plain.batch, length: plain.length)
        let plainLogProbs = try logProbs(logits, labels: labels)
        try (-plainLogProbs.sum() * (1 / Float(labels.filter { $0 >= 0 }.count))).backward()
        let (loss, fusedLogProbs) = try fusedLoss(fused, blockRows: 3)
        try loss.backward()
        for (x, y) in zip(fusedLogProbs, plainLogProbs.data) { #expect(abs(x - y) <= 1e-6 * max(abs(y), 1)) }
        for ((name, a), (_, b)) in zip(plain.model.parameters(), fused.model.parameters()) {
            let x = try #require(a.grad).data, y = try #require(b.grad).data
            let scale = x.reduce(Float(0)) { max($0, abs($1)) }
            let worst = zip(x, y).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            #expect(worst <= 1e-5 * max(scale, 1e-6), "\(name): gradients differ by \(worst) (largest \(scale))")
        }
    }

    @Test func fusedHeadIsTheSameOnAnyThreadCount() throws {
        var rng = RNG(seed: 7)
        let hidden = Tensor.randn([3, 37, 48], rng: &rng, requiresGrad: true)
        let weight = Tensor.randn([1000, 48], std: 0.2, rng: &rng, requiresGrad: true)
        let labels = (0..<(3 * 37)).map { i in i % 5 == 0 ? -1 : (i * 37) % 1000 }
        let weights = (0..<(3 * 37)).map { i in Float(i % 3) * 0.01 }
        func run(_ threads: Int) throws -> [[UInt32]] {
            let saved = Parallel.threads
            Parallel.threads = threads
            defer { Parallel.threads = saved }
            hidden.zeroGrad()
            weight.zeroGrad()
            let (loss, logProbs) = try fusedLinearCrossEntropy(hidden, weight: weight, labels: labels, weights: weights, blockRows: 16)
            try (loss * 3).backward()
            return [loss.data, logProbs, hidden.grad!.data, weight.grad!.data].map { $0.map(\.bitPattern) }
        }
        let one = try run(1)
        #expect(try run(2) == one)
        #expect(try run(4) == one)
    }

    @Test(arguments: modelFixtureCases)
    func recomputeGivesTheSameGradientsBitForBit(_ c: ReferenceCase) throws {
        func gradients(recompute: Bool, lora: Bool) throws -> [[UInt32]] {
            let f = try LoadedModelFixture(c.url)
            if lora {
                try f.model.enableLoRA(LoRAConfig(rank: 4, alpha: 8, dropout: 0.3, targetModules: ["q_proj", "v_proj", "c_attn"]), rng: RNG(seed: 3))
            }
            let targets = nextTokenTargets(f.ids, batch: f.batch, length: f.length)
            // Two forwards before one backward, as gradient accumulation over micro-batches does.
            try Tensor.withBlockRecompute(recompute) {
                for _ in 0..<2 {
                    let logits = try f.model.logits(ids: f.ids, batch: f.batch, length: f.length)
                    try crossEntropy(logits, targets: targets).backward()
                }
            }
            return f.model.trainableParameters().map { ($0.tensor.grad?.data ?? []).map(\.bitPattern) }
        }
        for lora in [false, true] {
            let plain = try gradients(recompute: false, lora: lora)
            #expect(plain.allSatisfy { !$0.isEmpty })
            #expect(try gradients(recompute: true, lora: lora) == plain, "lora: \(lora)")
        }
    }
}
