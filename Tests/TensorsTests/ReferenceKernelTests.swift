import FixtureSupport
import Foundation
import Testing
@testable import Tensors

/// Every kernel against the values and gradients PyTorch / transformers / OpenRLHF computed, one
/// `check` per op in every reference folder (`Tests/Fixtures/reference`, `RLHF_REFERENCE_DIR`).
/// Gradients are those of `sum(output * grad_weight)`, so `backward(grad_weight)` reproduces them.
@Suite struct ReferenceKernelTests {
    @Test(arguments: ReferenceCase.all("layer_norm.json"))
    func layerNormMatchesPyTorch(_ c: ReferenceCase) throws {
        try c.check { f in
            let x = try f.inputs.tensor("x", requiresGrad: true)
            let weight = try f.inputs.tensor("weight", requiresGrad: true), bias = try f.inputs.tensor("bias", requiresGrad: true)
            // Several normalised axes are one flattened last axis.
            let width = weight.count
            let y = try f.weightedBackward(
                layerNorm(
                    x.reshaped([-1, width]), weight: weight.reshaped([width]),
                    bias: bias.reshaped([width]), eps: Float(f.params.double("eps"))))
            return ["output": y, "grad_x": x.grad, "grad_weight": weight.grad, "grad_bias": bias.grad]
        }
    }

    @Test(arguments: ReferenceCase.all("rms_norm.json"))
    func rmsNormMatchesTransformers(_ c: ReferenceCase) throws {
        try c.check { f in
            let x = try f.inputs.tensor("x", requiresGrad: true), weight = try f.inputs.tensor("weight", requiresGrad: true)
            let y = try f.weightedBackward(rmsNorm(x, weight: weight, eps: Float(f.params.double("eps"))))
            return ["output": y, "grad_x": x.grad, "grad_weight_param": weight.grad]
        }
    }

    @Test(arguments: ReferenceCase.all("gelu_tanh.json"))
    func geluMatchesPyTorch(_ c: ReferenceCase) throws {
        try c.check { f in
            let modes: [String: GELUApproximation] = ["tanh": .tanh, "none": .none]
            let approximate = try f.params.string("approximate")
            let mode = try #require(modes[approximate], "unknown approximate '\(approximate)'")
            let x = try f.inputs.tensor("x", requiresGrad: true)
            return try ["output": f.weightedBackward(gelu(x, approximate: mode)), "grad_x": x.grad]
        }
    }

    @Test(arguments: ReferenceCase.all("silu.json"))
    func siluMatchesPyTorch(_ c: ReferenceCase) throws {
        try c.check { f in
            let x = try f.inputs.tensor("x", requiresGrad: true)
            return try ["output": f.weightedBackward(silu(x)), "grad_x": x.grad]
        }
    }

    /// SwiGLU has no fixture of its own: it must equal silu(gate) * up through the checked silu.
    @Test(arguments: ReferenceCase.all("silu.json"))
    func swigluEqualsSiluTimesUp(_ c: ReferenceCase) throws {
        let f = try c.load()
        let gate = try f.inputs.tensor("x", requiresGrad: true)
        let up = try f.inputs.tensor("grad_weight", requiresGrad: true)
        let fused = try swiglu(gate: gate, up: up)
        try fused.sum().backward()
        let gate2 = gate.detached().requiringGrad(), up2 = up.detached().requiringGrad()
        let composed = try silu(gate2) * up2
        try composed.sum().backward()
        expectClose(fused.data, composed.data.map(Double.init), rtol: 1e-6, atol: 1e-7, "output")
        expectClose(gate.grad!.data, gate2.grad!.data.map(Double.init), rtol: 1e-5, atol: 1e-7, "grad_gate")
        expectClose(up.grad!.data, up2.grad!.data.map(Double.init), rtol: 1e-6, atol: 1e-7, "grad_up")
    }

    @Test(arguments: ReferenceCase.all("softmax.json"))
    func softmaxMatchesPyTorch(_ c: ReferenceCase) throws {
        try c.check { f in
            let x = try f.inputs.tensor("x", requiresGrad: true)
            return try ["output": f.weightedBackward(softmax(x)), "grad_x": x.grad]
        }
    }

    @Test(arguments: ReferenceCase.all("log_softmax.json"))
    func logSoftmaxMatchesPyTorch(_ c: ReferenceCase) throws {
        try c.check { f in
            let x = try f.inputs.tensor("x", requiresGrad: true)
            return try ["output": f.weightedBackward(logSoftmax(x)), "grad_x": x.grad]
        }
    }

    /// logSumExp has no fixture of its own: log_softmax = x - logSumExp(x), against the fixture.
    @Test(arguments: ReferenceCase.all("log_softmax.json"))
    func logSumExpGivesLogSoftmax(_ c: ReferenceCase) throws {
        try c.check(tolerances: ["grad_x": Tolerance(rtol: 1e-4, atol: 2e-5)]) { f in
            let x = try f.inputs.tensor("x", requiresGrad: true)
            return try ["output": f.weightedBackward(x - x.logSumExp(axis: -1, keepDims: true)), "grad_x": x.grad]
        }
    }

    @Test(arguments: ReferenceCase.all("cross_entropy.json"))
    func crossEntropyMatchesPyTorch(_ c: ReferenceCase) throws {
        try c.check { f in
            let reductions: [String: Reduction] = ["mean": .mean, "sum": .sum, "none": .none]
            let name = try f.params.string("reduction")
            let reduction = try #require(reductions[name], "unknown reduction \(name)")
            let smoothing = f.params.has("label_smoothing") ? Float(try f.params.double("label_smoothing")) : 0
            let ignore = f.file.params.has("ignore_index") ? Int(try f.file.params.double("ignore_index")) : -100
            let logits = try f.inputs.tensor("logits", requiresGrad: true)
            let loss = try crossEntropy(
                logits, targets: f.inputs.array("target").ints, ignoreIndex: ignore,
                reduction: reduction, labelSmoothing: smoothing)
            try loss.sum().backward()
            return ["loss": loss, "grad_logits": logits.grad]
        }
    }

    @Test(arguments: ReferenceCase.all("rope.json"))
    func ropeMatchesTransformers(_ c: ReferenceCase) throws {
        let tables = Tolerance(rtol: 1e-5, atol: 1e-6)
        try c.check(tolerances: ["inv_freq": Tolerance(rtol: 1e-6, atol: 0), "cos": tables, "sin": tables]) { f in
            let q = try f.inputs.tensor("q", requiresGrad: true), k = try f.inputs.tensor("k", requiresGrad: true)
            let positionIDs = try f.inputs.array("position_ids").ints  // [B, T], or [1, T] shared by the batch
            let (b, t, d) = (q.shape[0], q.shape[2], q.shape[3])
            let positions = positionIDs.count == t ? Array([[Int]](repeating: positionIDs, count: b).joined()) : positionIDs
            let theta = Float(try f.params.double("rope_theta"))
            // HF's tables are [B, T, D] = cat(half, half).
            let (cosHalf, sinHalf) = ropeCosSin(positions: positionIDs, headDim: d, theta: theta)
            func full(_ half: [Float]) -> [Float] {
                stride(from: 0, to: half.count, by: d / 2).flatMap { start in
                    let row = half[start..<(start + d / 2)]
                    return Array(row) + Array(row)
                }
            }
            let qEmbed = try f.weightedBackward(rope(q, positions: positions, theta: theta), "grad_weight_q")
            let kEmbed = try f.weightedBackward(rope(k, positions: positions, theta: theta), "grad_weight_k")
            return [
                "inv_freq": ropeInverseFrequencies(headDim: d, theta: theta), "cos": full(cosHalf), "sin": full(sinHalf),
                "q_embed": qEmbed, "k_embed": kEmbed, "grad_q": q.grad, "grad_k": k.grad,
            ]
        }
    }

    @Test(arguments: ReferenceCase.all("causal_attention.json"))
    func causalAttentionMatchesPyTorch(_ c: ReferenceCase) throws {
        try c.check { f in
            let q = try f.inputs.tensor("q", requiresGrad: true)
            let k = try f.inputs.tensor("k", requiresGrad: true), v = try f.inputs.tensor("v", requiresGrad: true)
            let out = try f.weightedBackward(causalAttention(q: q, k: k, v: v))
            return ["output": out, "grad_q": q.grad, "grad_k": k.grad, "grad_v": v.grad]
        }
    }

    @Test(arguments: ReferenceCase.all("log_probs_from_logits.json"))
    func logProbsMatchOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let logits = try f.inputs.tensor("logits", requiresGrad: true)
            let out = try f.weightedBackward(
                logProbs(
                    logits, labels: f.inputs.array("labels").ints,
                    temperature: Float(f.params.double("temperature"))))
            return ["log_probs": out, "grad_logits": logits.grad]
        }
    }

    /// The plain-tensor parts of the masked-ops file: unmasked means per row and overall. The
    /// masked means and normalisations belong to the losses (Alignment) and are checked there.
    @Test(arguments: ReferenceCase.all("masked_ops.json", casesUnder: nil))
    func plainMeansMatchPyTorch(_ c: ReferenceCase) throws {
        try c.check(partial: true) { f in
            let x = try f.inputs.tensor("x")
            return try ["mean_no_mask_rows": x.mean(axis: -1), "mean_no_mask_all": x.mean()]
        }
    }
}
