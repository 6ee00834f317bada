import FixtureSupport
import Foundation
import Testing
@testable import Tensors

/// Every kernel against the values and gradients PyTorch / transformers / OpenRLHF computed
/// (`Tests/Fixtures/reference`, and the folder in `RLHF_REFERENCE_DIR`). Gradients are those of
/// `sum(output * grad_weight)`, so `backward(grad_weight)` reproduces them.
@Suite struct ReferenceKernelTests {
    @Test(arguments: ReferenceCase.all("layer_norm.json"))
    func layerNormMatchesPyTorch(_ c: ReferenceCase) throws {
        let f = try c.load()
        // Several normalised axes are one flattened last axis.
        let weight = try f.inputs.tensor("weight", requiresGrad: true)
        let bias = try f.inputs.tensor("bias", requiresGrad: true)
        let x = try f.inputs.tensor("x", requiresGrad: true)
        let width = weight.count
        let y = try layerNorm(x.reshaped([-1, width]), weight: weight.reshaped([width]), bias: bias.reshaped([width]),
                              eps: Float(try f.params.double("eps")))
        try y.backward(try f.inputs.array("grad_weight").floats)
        expectClose(y, try f.expected.array("output"), "output")
        expectClose(x.grad, try f.expected.array("grad_x"), "grad_x")
        expectClose(weight.grad, try f.expected.array("grad_weight"), "grad_weight")
        expectClose(bias.grad, try f.expected.array("grad_bias"), "grad_bias")
    }

    @Test(arguments: ReferenceCase.all("rms_norm.json"))
    func rmsNormMatchesTransformers(_ c: ReferenceCase) throws {
        let f = try c.load()
        let x = try f.inputs.tensor("x", requiresGrad: true)
        let weight = try f.inputs.tensor("weight", requiresGrad: true)
        let y = try rmsNorm(x, weight: weight, eps: Float(try f.params.double("eps")))
        try y.backward(try f.inputs.array("grad_weight").floats)
        expectClose(y, try f.expected.array("output"), "output")
        expectClose(x.grad, try f.expected.array("grad_x"), "grad_x")
        expectClose(weight.grad, try f.expected.array("grad_weight_param"), "grad_weight_param")
    }

    @Test(arguments: ReferenceCase.all("gelu_tanh.json"))
    func geluMatchesPyTorch(_ c: ReferenceCase) throws {
        let f = try c.load()
        let x = try f.inputs.tensor("x", requiresGrad: true)
        let approximate = try f.params.case(c.name).string("approximate")
        let mode: GELUApproximation
        switch approximate {
        case "tanh": mode = .tanh
        case "none": mode = .none
        default: Issue.record("unknown approximate '\(approximate)'"); return
        }
        let y = gelu(x, approximate: mode)
        try y.backward(try f.inputs.array("grad_weight").floats)
        let expected = f.expected.case(c.name)
        expectClose(y, try expected.array("output"), "output")
        expectClose(x.grad, try expected.array("grad_x"), "grad_x")
    }

    @Test(arguments: ReferenceCase.all("silu.json"))
    func siluMatchesPyTorch(_ c: ReferenceCase) throws {
        let f = try c.load()
        let x = try f.inputs.tensor("x", requiresGrad: true)
        let y = silu(x)
        try y.backward(try f.inputs.array("grad_weight").floats)
        expectClose(y, try f.expected.array("output"), "output")
        expectClose(x.grad, try f.expected.array("grad_x"), "grad_x")
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
        let f = try c.load()
        let x = try f.inputs.tensor("x", requiresGrad: true)
        let y = try softmax(x)
        try y.backward(try f.inputs.array("grad_weight").floats)
        expectClose(y, try f.expected.array("output"), "output")
        expectClose(x.grad, try f.expected.array("grad_x"), "grad_x")
    }

    @Test(arguments: ReferenceCase.all("log_softmax.json"))
    func logSoftmaxMatchesPyTorch(_ c: ReferenceCase) throws {
        let f = try c.load()
        let x = try f.inputs.tensor("x", requiresGrad: true)
        let y = try logSoftmax(x)
        try y.backward(try f.inputs.array("grad_weight").floats)
        expectClose(y, try f.expected.array("output"), "output")
        expectClose(x.grad, try f.expected.array("grad_x"), "grad_x")
    }

    /// logSumExp has no fixture of its own: log_softmax = x - logSumExp(x), against the fixture.
    @Test(arguments: ReferenceCase.all("log_softmax.json"))
    func logSumExpGivesLogSoftmax(_ c: ReferenceCase) throws {
        let f = try c.load()
        let x = try f.inputs.tensor("x", requiresGrad: true)
        let y = try x - x.logSumExp(axis: -1, keepDims: true)
        try y.backward(try f.inputs.array("grad_weight").floats)
        expectClose(y, try f.expected.array("output"), "output")
        expectClose(x.grad, try f.expected.array("grad_x"), rtol: 1e-4, atol: 2e-5, "grad_x")
    }

    @Test(arguments: ReferenceCase.all("cross_entropy.json"))
    func crossEntropyMatchesPyTorch(_ c: ReferenceCase) throws {
        let f = try c.load()
        let logits = try f.inputs.tensor("logits", requiresGrad: true)
        let targets = try f.inputs.array("target").ints
        let params = f.params.case(c.name)
        let reduction: Reduction
        switch try params.string("reduction") {
        case "mean": reduction = .mean
        case "sum": reduction = .sum
        case "none": reduction = .none
        case let other: Issue.record("unknown reduction \(other)"); return
        }
        let smoothing = params.has("label_smoothing") ? Float(try params.double("label_smoothing")) : 0
        let ignore = f.params.has("ignore_index") ? Int(try f.params.double("ignore_index")) : -100
        let loss = try crossEntropy(logits, targets: targets, ignoreIndex: ignore, reduction: reduction,
                                    labelSmoothing: smoothing)
        try loss.sum().backward()
        let expected = f.expected.case(c.name)
        expectClose(loss, try expected.array("loss"), "loss")
        expectClose(logits.grad, try expected.array("grad_logits"), "grad_logits")
    }

    @Test(arguments: ReferenceCase.all("rope.json"))
    func ropeMatchesTransformers(_ c: ReferenceCase) throws {
        let f = try c.load()
        let q = try f.inputs.tensor("q", requiresGrad: true)
        let k = try f.inputs.tensor("k", requiresGrad: true)
        let positionIDs = try f.inputs.array("position_ids").ints  // [B, T], or [1, T] shared by the batch
        let (b, t, d) = (q.shape[0], q.shape[2], q.shape[3])
        let positions = positionIDs.count == t ? Array([[Int]](repeating: positionIDs, count: b).joined()) : positionIDs
        let theta = Float(try f.params.double("rope_theta"))

        expectClose(ropeInverseFrequencies(headDim: d, theta: theta), try f.expected.array("inv_freq").values,
                    rtol: 1e-6, atol: 0, "inv_freq")
        // HF's tables are [B, T, D] = cat(half, half).
        let (cosHalf, sinHalf) = ropeCosSin(positions: positionIDs, headDim: d, theta: theta)
        func full(_ half: [Float]) -> [Float] {
            var out: [Float] = []
            for start in stride(from: 0, to: half.count, by: d / 2) {
                let row = Array(half[start..<(start + d / 2)])
                out += row + row
            }
            return out
        }
        expectClose(full(cosHalf), try f.expected.array("cos").values, rtol: 1e-5, atol: 1e-6, "cos")
        expectClose(full(sinHalf), try f.expected.array("sin").values, rtol: 1e-5, atol: 1e-6, "sin")

        let qEmbed = try rope(q, positions: positions, theta: theta)
        let kEmbed = try rope(k, positions: positions, theta: theta)
        try qEmbed.backward(try f.inputs.array("grad_weight_q").floats)
        try kEmbed.backward(try f.inputs.array("grad_weight_k").floats)
        expectClose(qEmbed, try f.expected.array("q_embed"), "q_embed")
        expectClose(kEmbed, try f.expected.array("k_embed"), "k_embed")
        expectClose(q.grad, try f.expected.array("grad_q"), "grad_q")
        expectClose(k.grad, try f.expected.array("grad_k"), "grad_k")
    }

    @Test(arguments: ReferenceCase.all("causal_attention.json"))
    func causalAttentionMatchesPyTorch(_ c: ReferenceCase) throws {
        let f = try c.load()
        let inputs = f.inputs.case(c.name)
        let q = try inputs.tensor("q", requiresGrad: true)
        let k = try inputs.tensor("k", requiresGrad: true)
        let v = try inputs.tensor("v", requiresGrad: true)
        let out = try causalAttention(q: q, k: k, v: v)
        try out.backward(try inputs.array("grad_weight").floats)
        let expected = f.expected.case(c.name)
        expectClose(out, try expected.array("output"), "output")
        expectClose(q.grad, try expected.array("grad_q"), "grad_q")
        expectClose(k.grad, try expected.array("grad_k"), "grad_k")
        expectClose(v.grad, try expected.array("grad_v"), "grad_v")
    }

    @Test(arguments: ReferenceCase.all("log_probs_from_logits.json"))
    func logProbsMatchOpenRLHF(_ c: ReferenceCase) throws {
        let f = try c.load()
        let logits = try f.inputs.tensor("logits", requiresGrad: true)
        let labels = try f.inputs.array("labels").ints
        let temperature = Float(try f.params.case(c.name).double("temperature"))
        let out = try logProbs(logits, labels: labels, temperature: temperature)
        try out.backward(try f.inputs.array("grad_weight").floats)
        let expected = f.expected.case(c.name)
        expectClose(out, try expected.array("log_probs"), "log_probs")
        expectClose(logits.grad, try expected.array("grad_logits"), "grad_logits")
    }

    /// The plain-tensor parts of the masked-ops file: unmasked means per row and overall. The
    /// masked means and normalisations belong to the losses (Alignment) and are checked there.
    @Test(arguments: ReferenceCase.all("masked_ops.json", casesUnder: nil))
    func plainMeansMatchPyTorch(_ c: ReferenceCase) throws {
        let f = try c.load()
        let x = try f.inputs.tensor("x")
        expectClose(try x.mean(axis: -1), try f.expected.array("mean_no_mask_rows"), "mean_no_mask_rows")
        expectClose(x.mean(), try f.expected.array("mean_no_mask_all"), "mean_no_mask_all")
    }
}
