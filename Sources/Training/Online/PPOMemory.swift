import Datasets
import Models
import Tensors

// What an online RL stage would take, estimated before it starts so that a run beyond the memory
// budget is refused with a message instead of being killed half-way: the policy with its
// gradients and AdamW moments and one training micro-batch's activations, the same for the
// critic, the weights of the reference and of every reward model, the sampler's KV cache and
// logits, and the rollout batch (per token: ids and seven per-token arrays of RolloutExperience).
// Sequences are as long as the longest prompt given (at most promptMaxLen) plus generateMaxLen.

/// Bytes per rollout token: its id (Int) and the seven Float arrays of `RolloutExperience`.
private let rolloutBytesPerToken = 8.0 + 7 * 4

/// The estimate of an online RL stage's memory, in bytes (a Double, so no product overflows).
func onlineTrainingBytes(
    actor: CausalLM, reference: CausalLM?, critic: ScalarModel?, reward: RewardSource, prompts: [PromptExample], options: PPOOptions
) -> Double {
    let longestPrompt = min(prompts.reduce(0) { max($0, $1.ids.count) }, options.promptMaxLen)
    let length = Double(longestPrompt) + Double(options.generateMaxLen)
    var training = options.training
    training.maxLen = Int(min(length, Double(Int.max / 2)))
    var bytes = trainingBytes(actor.config, trainable: actor.trainableParameters().reduce(0) { $0 + $1.tensor.count }, options: training)
    if let critic {
        bytes += trainingBytes(critic.config, trainable: critic.trainableParameters().reduce(0) { $0 + $1.tensor.count }, options: training)
    }
    if let reference { bytes += 4 * Double(reference.config.parameterCount) }
    bytes += reward.modelParameterCount * 4
    // The sampler: a KV cache and a row of logits per sequence of a micro rollout batch.
    let c = actor.config
    let rows = Double(options.microRolloutBatchSize)
    bytes += 4 * rows * (length * Double(c.layers) * 2 * Double(c.kvHeads) * Double(c.headDim) + Double(c.vocabSize))
    bytes += Double(options.rolloutBatchSize) * Double(options.nSamplesPerPrompt) * length * rolloutBytesPerToken
    return bytes
}

/// Refuses an online RL stage whose estimate exceeds the memory budget.
func checkOnlineTrainingMemory(
    actor: CausalLM, reference: CausalLM?, critic: ScalarModel?, reward: RewardSource, prompts: [PromptExample],
    options: PPOOptions, stage: String
) throws {
    let parts =
        ["policy"] + (critic == nil ? [] : ["critic"]) + (reference == nil ? [] : ["reference"])
        + (reward.modelParameterCount > 0 ? ["reward model"] : [])
    try MemoryBudget.check(
        onlineTrainingBytes(actor: actor, reference: reference, critic: critic, reward: reward, prompts: prompts, options: options),
        for: "\(stage): the \(parts.joined(separator: ", ")), optimizer state and a rollout batch of "
            + "rolloutBatchSize \(options.rolloutBatchSize) × nSamplesPerPrompt \(options.nSamplesPerPrompt) samples "
            + "× (the longest prompt, at most promptMaxLen \(options.promptMaxLen), + generateMaxLen \(options.generateMaxLen)) tokens")
}

extension RewardSource {
    /// The parameters of every reward model this source reads (0 for reward functions).
    var modelParameterCount: Double {
        switch self {
        case .model(let model, _): return Double(model.config.parameterCount)
        case .function, .components: return 0
        case .weighted(let parts): return parts.reduce(0) { $0 + $1.source.modelParameterCount }
        }
    }
}
