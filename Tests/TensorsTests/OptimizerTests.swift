import CKernels
import FixtureSupport
import Foundation
import Testing
import Tensors
import Training

/// AdamW, gradient clipping and learning-rate schedules against PyTorch and HuggingFace.
@Suite struct OptimizerTests {
    @Test(arguments: ReferenceCase.all("adamw.json", casesUnder: nil))
    func adamWMatchesTorchEveryStep(_ c: ReferenceCase) throws {
        try c.check(tolerances: [
            "params": Tolerance(rtol: 1e-6, atol: 1e-7), "exp_avg": Tolerance(rtol: 1e-6, atol: 1e-9),
            "exp_avg_sq": Tolerance(rtol: 1e-6, atol: 1e-12),
        ]) { f in
            #expect(f.params.value("amsgrad") as? Bool != true, "AMSGrad is not implemented")
            let betas = try f.params.list("betas").map { Float($0[0]) }
            let params = try f.inputs.list("initial_params").map { Tensor(shape: [$0.count], data: $0.map(Float.init), requiresGrad: true) }
            let optimizer = AdamW(
                parameters: params, learningRate: Float(try f.params.double("lr")),
                betas: (betas[0], betas[1]), eps: Float(try f.params.double("eps")),
                weightDecay: Float(try f.params.double("weight_decay")))
            let stepsGrads = (f.inputs.value("grads_per_step") as? [Any] ?? []).map { ($0 as? [Any] ?? []).map(flattenNumbers) }
            #expect(stepsGrads.count == Int(try f.params.double("steps")))
            var outputs: [String: any ReferenceValue] = [:]
            for (step, grads) in stepsGrads.enumerated() {
                for (p, g) in zip(params, grads) { p.grad = Tensor(shape: p.shape, data: g.map(Float.init)) }
                optimizer.step()
                #expect(optimizer.state.parameters.allSatisfy { $0.step == step + 1 })
                outputs["after_step.\(step).params"] = params.map(\.data)
                outputs["after_step.\(step).exp_avg"] = optimizer.state.parameters.map(\.expAvg)
                outputs["after_step.\(step).exp_avg_sq"] = optimizer.state.parameters.map(\.expAvgSq)
            }
            return outputs
        }
    }

    @Test(arguments: ReferenceCase.all("clip_grad_norm.json"))
    func clipGradNormMatchesTorch(_ c: ReferenceCase) throws {
        try c.check(tolerances: ["total_norm": Tolerance(rtol: 1e-6, atol: 0), "grads_after": Tolerance(rtol: 1e-6, atol: 1e-8)]) { f in
            let params = try f.inputs.list("grads").map { g in
                let p = Tensor(shape: [g.count], data: [Float](repeating: 0, count: g.count), requiresGrad: true)
                p.grad = Tensor(shape: [g.count], data: g.map(Float.init))
                return p
            }
            let normType = f.file.params.has("norm_type") ? try f.file.params.double("norm_type") : 2
            #expect(normType == 2, "only the L2 norm is implemented")
            let norm = clipGradNorm(params, maxNorm: Float(try f.file.params.double("max_norm")))
            return ["total_norm": norm, "grads_after": params.map(\.grad)]
        }
    }

    /// A recorded step reads each parameter's change from its gradient buffer: it must be exactly
    /// new − old, and the step itself the same bits as a plain step (odd sizes cover the 8-lane tail).
    @Test func adamWWritesUpdatesIntoGradientsWithTheSameStep() {
        var rng = RNG(seed: 9)
        let shapes = [[3, 7], [70_001], [5]]
        func parameters() -> [Tensor] { var r = rng; return shapes.map { Tensor.randn($0, rng: &r, requiresGrad: true) } }
        let plain = parameters(), recorded = parameters()
        let plainOptimizer = AdamW(parameters: plain, learningRate: 0.01, weightDecay: 0.1)
        let recordedOptimizer = AdamW(parameters: recorded, learningRate: 0.01, weightDecay: 0.1)
        for _ in 0..<3 {
            for (a, b) in zip(plain, recorded) {
                let g = Tensor.randn(a.shape, rng: &rng)
                a.grad = g
                b.grad = Tensor(shape: g.shape, data: g.data)
            }
            let before = recorded.map(\.data)
            plainOptimizer.step()
            recordedOptimizer.step(updatesIntoGradients: true)
            for ((a, b), old) in zip(zip(plain, recorded), before) {
                #expect(a.data == b.data)
                #expect(b.grad!.data == zip(b.data, old).map { $0 - $1 })
            }
        }
        #expect(plainOptimizer.state == recordedOptimizer.state)
    }

    /// The AdamW kernel's AVX2 + FMA build and its baseline build give the same bits, for both
    /// forms of `lerp` (|w| < 0.5 and not), with and without decay, over an odd length.
    @Test(arguments: [(Float(0.1), Float(0.99)), (Float(0.7), Float(1))])
    func adamWKernelBuildsAgree(lerpWeight: Float, decay: Float) {
        var rng = RNG(seed: 4)
        let n = 1037
        let g = (0..<n).map { _ in rng.normal() }, p0 = (0..<n).map { _ in rng.normal() }
        let m0 = (0..<n).map { _ in rng.normal() * 0.1 }, v0 = (0..<n).map { _ in abs(rng.normal()) * 0.01 }
        var scalars = rlhf_adamw_scalars(
            decay: decay, lerp_weight: lerpWeight, beta2: 0.999, one_minus_beta2: 0.001, step_size: -0.003,
            bias_correction2_sqrt: 0.05, eps: 1e-8)
        var results: [[[Float]]] = []
        for kernel in [rlhf_adamw, rlhf_adamw_baseline] {
            var p = p0, m = m0, v = v0, updates = [Float](repeating: 0, count: n)
            kernel(&p, &m, &v, g, &updates, n, &scalars)
            results.append([p, m, v, updates])
        }
        #expect(results[0].map { $0.map(\.bitPattern) } == results[1].map { $0.map(\.bitPattern) })
    }

    @Test func adamWSkipsParametersWithoutGradient() {
        let a = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let b = Tensor(shape: [2], data: [3, 4], requiresGrad: true)
        let optimizer = AdamW(parameters: [a, b], learningRate: 0.1)
        a.grad = Tensor(shape: [2], data: [0.5, -0.5])
        optimizer.step()
        #expect(optimizer.state.parameters[0].step == 1)
        #expect(optimizer.state.parameters[1].step == 0)
        #expect(b.data == [3, 4])
        #expect(a.data != [1, 2])
    }

    @Test func adamWExcludesChosenParametersFromDecay() {
        let w = Tensor(shape: [1], data: [1], requiresGrad: true, name: "layer.weight")
        let bias = Tensor(shape: [1], data: [1], requiresGrad: true, name: "layer.bias")
        let optimizer = AdamW(
            parameters: [w, bias], learningRate: 0.1, weightDecay: 0.5,
            excludeFromWeightDecay: { $0.name?.hasSuffix("bias") ?? false })
        w.grad = Tensor(shape: [1], data: [0])
        bias.grad = Tensor(shape: [1], data: [0])
        optimizer.step()
        #expect(w.data == [Float(1 - 0.1 * 0.5)])
        #expect(bias.data == [1])
    }

    /// A checkpoint of the state restores the exact trajectory.
    @Test func adamWStateRoundTripsThroughCodable() throws {
        func run(restartAfter: Int?) throws -> [Float] {
            let p = Tensor(shape: [3], data: [1, -2, 3], requiresGrad: true, name: "p")
            var optimizer = AdamW(parameters: [p], learningRate: 0.05)
            for step in 0..<6 {
                p.grad = Tensor(shape: [3], data: [Float(step) * 0.1 + 0.3, -0.2, 0.7])
                optimizer.step()
                if step == restartAfter {
                    let saved = try JSONEncoder().encode(optimizer.state)
                    optimizer = AdamW(parameters: [p], learningRate: 0.05)
                    try optimizer.restore(try JSONDecoder().decode(AdamWState.self, from: saved))
                }
            }
            return p.data
        }
        #expect(bits(try run(restartAfter: nil)) == bits(try run(restartAfter: 2)))
    }

    @Test func adamWRestoreRejectsOtherParameters() throws {
        let p = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true, name: "p")
        let q = Tensor(shape: [2], data: [1, 2], requiresGrad: true, name: "q")
        let state = AdamW(parameters: [p]).state
        #expect(throws: AdamWState.Mismatch.self) { try AdamW(parameters: [q]).restore(state) }
        #expect(throws: AdamWState.Mismatch.self) { try AdamW(parameters: [p, q]).restore(state) }
    }

    @Test func clipGradNormPropagatesNonFiniteNorms() {
        let p = Tensor(shape: [2], data: [0, 0], requiresGrad: true)
        p.grad = Tensor(shape: [2], data: [.nan, 1])
        #expect(clipGradNorm([p], maxNorm: 1).isNaN)
        let clipped = p.grad!.data
        #expect(clipped.allSatisfy { $0.isNaN })
        #expect(clipGradNorm([Tensor(shape: [1], data: [1])], maxNorm: 1) == 0)
    }

    // Values from HuggingFace's lambdas written out: warmup step / max(1, warmup); then
    // max(0, (0.5(1 + cos(π·progress)))(1 - r) + r) with r = min_lr / lr.
    @Test func cosineScheduleMatchesHuggingFace() {
        let s = LearningRateSchedule.cosineWithMinLR(lr: 1e-3, warmupSteps: 10, totalSteps: 110)
        #expect(s.lr(at: 0) == 0)
        #expect(s.lr(at: 5) == Float(1e-3 * 0.5))
        #expect(s.lr(at: 10) == Float(1e-3))
        let half = 1e-3 * (0.5 * (1 + cos(Double.pi * 0.5)) * 0.9 + 0.1)
        #expect(s.lr(at: 60) == Float(half))
        #expect(s.lr(at: 110) == Float(1e-3 * 0.1))
        let custom = LearningRateSchedule.cosineWithMinLR(lr: 2e-3, warmupSteps: 0, totalSteps: 4, minLR: 0)
        #expect(custom.lr(at: 0) == Float(2e-3))
        #expect(custom.lr(at: 4) == 0)
        #expect(custom.lr(at: 2) == Float(2e-3 * 0.5 * (1 + cos(Double.pi * 0.5))))
    }

    @Test func warmupAndConstantSchedules() throws {
        let warm = LearningRateSchedule.linearWarmup(lr: 0.5, warmupSteps: 4)
        #expect((0..<6).map { warm.lr(at: $0) } == [0, 0.125, 0.25, 0.375, 0.5, 0.5])
        #expect(LearningRateSchedule.constant(lr: 0.25).lr(at: 1000) == 0.25)
        let decoded = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(warm))
        #expect(decoded == warm)
    }
}
