import Foundation
import Models
import Tensors
import Training

// How training cost grows with model size: tokens/s and peak resident memory of full-parameter
// training steps on Llama shapes from ~10M to SmolLM2-360M's (random weights), with the same
// shapes in `bench/torch_baseline.py --scaling`.

/// The model shapes of `rlhf bench --only scaling` (and of the SmolLM2 part of the breakdown).
enum ScalingShapes {
    /// ~10M parameters: vocabulary 8192, width 256, 8 layers, MLP 688, 8 heads (4 KV), untied head.
    static let llama10M = ModelConfig.llama(
        vocabSize: 8192, hiddenSize: 256, intermediateSize: 688, layers: 8, heads: 8, kvHeads: 4, maxPositions: 2048)
    /// ~35M parameters: vocabulary 8192, width 512, 9 layers, MLP 1376, 8 heads (4 KV), untied head.
    static let llama35M = ModelConfig.llama(
        vocabSize: 8192, hiddenSize: 512, intermediateSize: 1376, layers: 9, heads: 8, kvHeads: 4, maxPositions: 2048)
    /// SmolLM2-135M's shape (`HuggingFaceTB/SmolLM2-135M` config.json).
    static let smolLM2_135M = ModelConfig.llama(
        vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, layers: 30, heads: 9, kvHeads: 3, maxPositions: 8192,
        normEps: 1e-5, ropeTheta: 100_000, tieWordEmbeddings: true, initializerRange: 0.041666666666666664)
    /// SmolLM2-360M's shape.
    static let smolLM2_360M = ModelConfig.llama(
        vocabSize: 49152, hiddenSize: 960, intermediateSize: 2560, layers: 32, heads: 15, kvHeads: 5, maxPositions: 8192,
        normEps: 1e-5, ropeTheta: 100_000, tieWordEmbeddings: true, initializerRange: 0.02)

    static let all: [(name: String, config: ModelConfig)] = [
        ("llama-10m", llama10M), ("llama-35m", llama35M), ("smollm2-135m", smolLM2_135M), ("smollm2-360m", smolLM2_360M),
    ]
}

/// One full-parameter training step as the SFT trainer takes it: the mean next-token loss over
/// every position, backward, clipping at 1, AdamW. `fusedHead` computes the LM head and its loss
/// with ``fusedLinearCrossEntropy(_:weight:labels:weights:blockRows:)`` instead of full logits;
/// `recompute` recomputes each block in the backward (`gradientCheckpointing`).
final class TrainingStep {
    let model: CausalLM
    let ids: [Int]
    let labels: [Int]
    let batch: Int
    let length: Int
    let optimizer: AdamW
    let parameters: [Tensor]

    init(config: ModelConfig, batch: Int, length: Int) {
        model = CausalLM(config: config, rng: RNG(seed: 0))
        var rng = RNG(seed: 1)
        let tokens = (0..<(batch * length)).map { _ in rng.int(below: config.vocabSize) }
        ids = tokens
        labels = (0..<(batch * length)).map { i in i % length == length - 1 ? -1 : tokens[i + 1] }
        self.batch = batch
        self.length = length
        parameters = model.trainableParameters().map(\.tensor)
        optimizer = AdamW(parameters: parameters, learningRate: 1e-5)
    }

    func run(fusedHead: Bool, recompute: Bool = false) throws {
        let targets = Float(labels.filter { $0 >= 0 }.count)
        try Tensor.withBlockRecompute(recompute) {
            let hidden = try model.forward(ids: ids, batch: batch, length: length)
            if fusedHead {
                let weights = labels.map { $0 >= 0 ? 1 / targets : 0 }
                try fusedLinearCrossEntropy(hidden, weight: model.lmHead.weight, labels: labels, weights: weights).loss.backward()
            } else {
                try (-(logProbs(model.logits(hidden), labels: labels).sum()) * (1 / targets)).backward()
            }
        }
        clipGradNorm(parameters, maxNorm: 1)
        optimizer.step()
        model.zeroGrad()
    }

    /// Tokens per second (median of `steps` timed steps after one warm-up) and the peak resident
    /// bytes from the warm-up on.
    func measure(fusedHead: Bool, recompute: Bool = false, steps: Int) throws -> (tokensPerSecond: Double, peakBytes: Int) {
        ResidentMemory.resetPeak()
        try run(fusedHead: fusedHead, recompute: recompute)
        var times: [Double] = []
        for _ in 0..<steps { times.append(try ModelBenchmarks.seconds { try run(fusedHead: fusedHead, recompute: recompute) }) }
        return (Double(batch * length) / median(times), ResidentMemory.peakBytes)
    }
}

/// `rlhf bench --only scaling`: per shape, batch 4 × 128, plain (full logits) and fused LM head.
///
/// Peak memory is the process's resident peak since the shape's first step: the shapes run from
/// small to large, so memory an earlier shape freed and the allocator kept counts at most once.
func scalingBenchmark(batch: Int = 4, length: Int = 128, steps: Int = 2) throws -> [[String: Any]] {
    var rows: [[String: Any]] = []
    for (name, config) in ScalingShapes.all {
        var row: [String: Any] = ["model": name, "parameters": config.parameterCount, "batch": batch, "sequence": length]
        for fused in [false, true] {
            let step = TrainingStep(config: config, batch: batch, length: length)
            let (tokens, peak) = try step.measure(fusedHead: fused, steps: steps)
            let key = fused ? "fused_head" : "plain"
            row["\(key)_train_tokens_per_s"] = tokens
            row["\(key)_peak_rss_mb"] = Double(peak) / 1_048_576
        }
        rows.append(row)
    }
    return rows
}

/// Activation recompute at 8 × 512 on the SmolLM2-135M shape: time and peak memory with and
/// without it (fused LM head in both), in alternated order.
func recomputeBenchmark(batch: Int = 8, length: Int = 512, pairs: Int = 2) throws -> [String: Any] {
    let step = TrainingStep(config: ScalingShapes.smolLM2_135M, batch: batch, length: length)
    var plain: [(Double, Int)] = [], recompute: [(Double, Int)] = []
    for pair in 0..<pairs {
        for on in pair % 2 == 0 ? [false, true] : [true, false] {
            let measured = try step.measure(fusedHead: true, recompute: on, steps: 1)
            if on { recompute.append(measured) } else { plain.append(measured) }
        }
    }
    let plainTime = median(plain.map { 1 / $0.0 }), recomputeTime = median(recompute.map { 1 / $0.0 })
    let plainPeak = plain.map(\.1).min() ?? 0, recomputePeak = recompute.map(\.1).min() ?? 0
    return [
        "model": "smollm2-135m shape", "batch": batch, "sequence": length,
        "plain_tokens_per_s": 1 / plainTime, "recompute_tokens_per_s": 1 / recomputeTime,
        "time_ratio": recomputeTime / plainTime,
        "plain_peak_rss_mb": Double(plainPeak) / 1_048_576, "recompute_peak_rss_mb": Double(recomputePeak) / 1_048_576,
        "memory_ratio": Double(recomputePeak) / Double(max(plainPeak, 1)),
    ]
}
