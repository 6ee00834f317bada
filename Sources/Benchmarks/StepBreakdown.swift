import Foundation
import Models
import Recording
import Tensors
import Training

// Where one training step's time goes: the step of `rlhf bench --only train` taken apart.
//
// The step is run as the trainers run it, cut at two places so each part can be timed on its own
// without changing what is computed: the decoder stack's output is handed to the LM head as a leaf,
// so the backward runs in two calls (the head's, then the stack's with the head's gradient). The
// attention and norm kernels run inside those calls; their share is timed apart on the same
// shapes (forward and backward, times the number of calls per step).

/// Phase timings of one training step, in milliseconds per step (medians over the timed steps).
enum StepBreakdown {
    /// The tiny Llama of `rlhf bench --only train`, and a SmolLM2-135M-shaped one (random weights).
    static func run() throws -> [String: Any] {
        [
            "tiny_llama_8x256": try breakdown(config: ModelBenchmarks.tinyLlama().config, batch: 8, length: 256, steps: 4),
            "smollm2_135m_shape_4x128": try breakdown(config: ScalingShapes.smolLM2_135M, batch: 4, length: 128, steps: 2),
        ]
    }

    /// Runs `steps` timed steps (after one warm-up) of next-token loss, backward, clipping, AdamW
    /// and the value / gradient / update statistics a recorded step computes.
    static func breakdown(config: ModelConfig, batch: Int, length: Int, steps: Int) throws -> [String: Any] {
        let model = CausalLM(config: config, rng: RNG(seed: 0))
        var rng = RNG(seed: 1)
        let vocab = config.vocabSize
        let ids = (0..<(batch * length)).map { _ in rng.int(below: vocab) }
        let labels = (0..<(batch * length)).map { i in i % length == length - 1 ? -1 : ids[i + 1] }
        let parameters = model.trainableParameters().map(\.tensor)
        let optimizer = AdamW(parameters: parameters, learningRate: 1e-5)
        var phases: [String: [Double]] = [:]
        var current: [String: Double] = [:]  // this step's milliseconds per phase
        func timed(_ phase: String, _ body: () throws -> Void) rethrows {
            current[phase, default: 0] += try ModelBenchmarks.seconds(body) * 1000
        }
        for step in 0...steps {
            current = [:]
            var hidden: Tensor!
            try timed("forward") { hidden = try model.forward(ids: ids, batch: batch, length: length) }
            let head = hidden.detached().requiringGrad()
            var loss: Tensor!
            try timed("lm_head_cross_entropy_forward") {
                loss = try -(logProbs(model.logits(head), labels: labels).sum()) * (1 / Float(labels.count))
            }
            try timed("lm_head_cross_entropy_backward") { try loss.backward() }
            let headGradient = head.grad!.data
            try timed("backward") { try hidden.backward(headGradient) }
            timed("gradient_clipping") { clipGradNorm(parameters, maxNorm: 1) }
            timed("statistics") { _ = TensorStatistics.of(parameters.compactMap { $0.grad?.data }, threads: Parallel.threads) }
            timed("adamw") { optimizer.step(updatesIntoGradients: true) }
            timed("statistics") { statistics(parameters) }
            model.zeroGrad()
            if step > 0 { for (phase, ms) in current { phases[phase, default: []].append(ms) } }
        }
        var result: [String: Any] = [
            "parameters": model.parameterCount, "batch": batch, "sequence": length, "steps": steps,
        ]
        var medians: [String: Double] = phases.mapValues(median)
        let step = medians.values.reduce(0, +)
        medians["attention_forward_backward"] = try attentionTime(config: config, batch: batch, length: length)
        medians["norms_forward_backward"] = try normTime(config: config, batch: batch, length: length)
        result["step_ms"] = step
        result["tokens_per_s"] = Double(batch * length) / step * 1000
        result["phase_ms"] = medians
        result["phase_share"] = medians.mapValues { $0 / step }
        result["note"] =
            "forward/backward are the decoder stack (attention and norms included; their kernels are also timed apart at the same shapes); the LM head and its cross-entropy are timed on their own"
        return result
    }

    /// The statistics a recorded step computes after its update, as `OptimizerLoop` does: values,
    /// and updates (which the optimizer wrote over the gradients); the gradients' before it.
    static func statistics(_ parameters: [Tensor]) {
        for buffers in [parameters.map(\.data), parameters.compactMap { $0.grad?.data }] {
            _ = TensorStatistics.of(buffers, threads: Parallel.threads)
        }
    }

    /// Milliseconds per step in the fused causal-attention kernel, forward and backward, for every layer.
    static func attentionTime(config: ModelConfig, batch: Int, length: Int) throws -> Double {
        var rng = RNG(seed: 3)
        let q = Tensor.randn([batch, config.heads, length, config.headDim], rng: &rng, requiresGrad: true)
        let k = Tensor.randn([batch, config.kvHeads, length, config.headDim], rng: &rng, requiresGrad: true)
        let v = Tensor.randn([batch, config.kvHeads, length, config.headDim], rng: &rng, requiresGrad: true)
        let seconds = try bestTime(repeats: 3) { try causalAttention(q: q, k: k, v: v).sum().backward() }
        return seconds * 1000 * Double(config.layers)
    }

    /// Milliseconds per step in RMSNorm, forward and backward: two per layer and the final one.
    static func normTime(config: ModelConfig, batch: Int, length: Int) throws -> Double {
        var rng = RNG(seed: 4)
        let x = Tensor.randn([batch, length, config.hiddenSize], rng: &rng, requiresGrad: true)
        let w = Tensor.ones([config.hiddenSize], requiresGrad: true)
        let seconds = try bestTime(repeats: 3) { try rmsNorm(x, weight: w, eps: config.normEps).sum().backward() }
        return seconds * 1000 * Double(2 * config.layers + 1)
    }
}

/// The middle value (the mean of the two middle values for an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
