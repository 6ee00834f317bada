import Alignment
import Datasets
import Foundation
import Models
import Tensors
import Tokenizers
import Training

/// One GRPO step on the tiny-Llama benchmark shape (vocabulary 512, hidden 256, intermediate 688,
/// 4 layers, 8 heads, 4 KV heads): 8 prompts of 32 tokens × 4 samples of 64 new tokens, one
/// optimizer step of 32 samples in micro-batches of 8, a reward function, no evaluation.
///
/// A first, shorter step warms the thread pool and the allocator; the second is measured.
///
/// - Returns: `rollout_s`, `experience_s`, `train_s`, `step_s` (their sum), `rollout_tokens_per_s`
///   (generated tokens over rollout seconds), `generated_tokens`, `samples`, `parameters`.
public func grpoStepBenchmark() throws -> [String: Any] {
    let tokenizer = ByteTokenizer()
    let config = ModelConfig.llama(
        vocabSize: 512, hiddenSize: 256, intermediateSize: 688, layers: 4, heads: 8, kvHeads: 4,
        maxPositions: 256, eosTokenIDs: [tokenizer.eosTokenID!])
    var options = PPOOptions()
    options.advantageEstimator = .groupNorm
    options.nSamplesPerPrompt = 4
    options.rolloutBatchSize = 8
    options.microRolloutBatchSize = 16
    options.trainBatchSize = 32
    options.microTrainBatchSize = 8
    options.generateMaxLen = 64
    options.initKLCoef = 0
    options.actorLearningRate = 1e-5
    options.training.lrScheduler = .constant

    var stream = RNG(seed: 2024).fork("grpo-benchmark-prompts")
    let prompts = (0..<options.rolloutBatchSize).map { i -> PromptExample in
        let ids = (0..<32).map { _ in 1 + stream.int(below: 255) }
        return PromptExample(text: "prompt \(i)", ids: ids)
    }
    // A cheap programmatic reward: the share of even bytes in the response text.
    let reward = RewardSource.function { _, response, _ in
        let bytes = Array(response.utf8)
        return bytes.isEmpty ? 0 : Double(bytes.filter { $0 % 2 == 0 }.count) / Double(bytes.count)
    }

    func step(generateMaxLen: Int) throws -> PPOSummary {
        let actor = CausalLM(config: config, rng: RNG(seed: 1))
        var o = options
        o.generateMaxLen = generateMaxLen
        return try trainPPO(
            actor: actor, reference: nil, critic: nil, reward: reward, prompts: prompts, tokenizer: tokenizer,
            options: o, context: RunContext(seed: 1))
    }
    _ = try step(generateMaxLen: 8)
    let summary = try step(generateMaxLen: options.generateMaxLen)
    let m = summary.lastRollout
    let rollout = m["time_rollout_s"] ?? 0, experience = m["time_experience_s"] ?? 0, train = m["time_train_s"] ?? 0
    let samples = options.rolloutSamples
    let tokens = Int(((m["response_length"] ?? 0) * Double(samples)).rounded())
    return [
        "rollout_s": rollout,
        "experience_s": experience,
        "train_s": train,
        "step_s": rollout + experience + train,
        "rollout_tokens_per_s": m["time_rollout_tokens_per_s"] ?? 0,
        "generated_tokens": tokens,
        "samples": samples,
        "parameters": config.parameterCount,
    ]
}
