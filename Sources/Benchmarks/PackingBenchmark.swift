import Datasets
import Foundation
import Models
import Tensors
import Tokenizers
import Training

// How much packing saves on data of mixed lengths: the same SFT steps, padded and packed.

/// Times SFT optimizer steps with padded rows and with packed rows on the same data of mixed
/// lengths (digit sorting with 1 to 24 digits: 4 to 74 tokens per sample).
///
/// Both runs start from the same weights and see the same samples in the same order; their losses
/// agree to float rounding (the returned `loss_relative_difference`), so the difference in time is
/// the padding alone.
///
/// - Parameters:
///   - steps: Timed steps per layout (after one untimed warm-up step).
///   - hiddenSize: The tiny Llama's width (2 layers, 4 heads).
///   - batchSize: Samples per step (one micro-batch).
/// - Returns: `padded_step_ms`, `packed_step_ms`, `speedup` (padded / packed time), the positions
///   each layout computes per step (`padded_positions`, `packed_positions`), the `real_tokens` per
///   step and the `padding_fraction` of the padded layout, and the settings.
public func packingBenchmark(steps: Int = 10, hiddenSize: Int = 128, batchSize: Int = 32) throws -> [String: Any] {
    let tokenizer = ByteTokenizer()
    let task = SyntheticTask.sortDigits(count: batchSize * (steps + 1), evalCount: 0, digits: 1...24)
    let data = try SFTDataset.load(task.demonstrations, tokenizer: tokenizer, maxLen: task.maxLen).examples
    let config = ModelConfig.llama(
        vocabSize: tokenizer.vocabularySize, hiddenSize: hiddenSize, intermediateSize: hiddenSize * 2,
        layers: 2, heads: 4, maxPositions: 256, eosTokenIDs: [tokenizer.eosTokenID!],
        padTokenID: tokenizer.padTokenID)
    let initial = CausalLM(config: config, rng: RNG(seed: 0))

    var options = TrainingOptions()
    options.learningRate = 1e-3
    options.trainBatchSize = batchSize
    options.microTrainBatchSize = batchSize
    options.lrWarmupRatio = 0
    options.lrScheduler = .constant
    options.maxLen = 2 * task.maxLen
    options.statsEvery = Int.max

    var results: [String: Any] = [:]
    var losses: [Double] = []
    var seconds: [Double] = []
    var positions: [Int] = []
    var realTokens = 0
    for packing in [false, true] {
        options.packing = packing
        let model = initial.copy()
        let context = RunContext(seed: 1)
        var started: UInt64 = 0
        var loss = 0.0
        context.onProgress = { progress in
            if case .step(_, let step, _, let metrics, _) = progress {
                if step == 1 { started = DispatchTime.now().uptimeNanoseconds }
                loss = metrics["loss"] ?? .nan
            }
            return .continue
        }
        options.maxSteps = steps + 1
        _ = try trainSFT(model, data: data, options: options, context: context)
        seconds.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 / Double(steps))
        losses.append(loss)
        // The layout of the first step's samples, to count computed positions.
        var sampler = Sampler(count: data.count, rng: context.rng.fork("sft").fork("sampler"))
        let first = sampler.next(batchSize).map { data[$0] }
        let batch = try TokenBatch(first, packing: packing, maxLen: options.maxLen, padTokenID: tokenizer.padTokenID!)
        positions.append(batch.rows * batch.length)
        realTokens = first.reduce(0) { $0 + $1.ids.count }
    }
    results["padded_step_ms"] = seconds[0] * 1000
    results["packed_step_ms"] = seconds[1] * 1000
    results["speedup"] = seconds[0] / seconds[1]
    results["padded_positions"] = positions[0]
    results["packed_positions"] = positions[1]
    results["real_tokens"] = realTokens
    results["padding_fraction"] = 1 - Double(realTokens) / Double(positions[0])
    results["loss_relative_difference"] = abs(losses[0] - losses[1]) / abs(losses[0])
    results["steps"] = steps
    results["batch_size"] = batchSize
    results["hidden_size"] = hiddenSize
    results["max_len"] = options.maxLen
    return results
}
