/// One generated sample of an RL stage: its prompt, its response, and what the trainer made of it.
///
/// Token ids are variable-length; the run file stores them flat with per-sample offsets (see
/// docs/run-file.md). Per-token arrays (`advantages`, `logprobs`) are either empty or one value per
/// response token; an empty array is stored as NaN and reads back as empty.
public struct RolloutSample: Sendable, Equatable {
    public var promptIDs: [Int32]
    public var responseIDs: [Int32]
    /// The scalar reward of the whole response.
    public var reward: Double
    /// One advantage per response token (GRPO's per-sample advantage repeated), or empty.
    public var advantages: [Double]
    /// The policy's log-probability of each response token at sampling time, or empty.
    public var logprobs: [Double]
    /// The decoded prompt, when the caller has a tokenizer at hand.
    public var promptText: String?
    /// The decoded response, when the caller has a tokenizer at hand.
    public var responseText: String?

    public init(
        promptIDs: [Int32], responseIDs: [Int32], reward: Double, advantages: [Double] = [], logprobs: [Double] = [],
        promptText: String? = nil, responseText: String? = nil
    ) {
        self.promptIDs = promptIDs
        self.responseIDs = responseIDs
        self.reward = reward
        self.advantages = advantages
        self.logprobs = logprobs
        self.promptText = promptText
        self.responseText = responseText
    }

    /// The number of response tokens.
    public var length: Int { responseIDs.count }
}

/// A rollout sample read back from a run file, with the step that recorded it.
public struct RecordedRollout: Sendable, Equatable {
    public var step: Int
    public var sample: RolloutSample

    public init(step: Int, sample: RolloutSample) {
        self.step = step
        self.sample = sample
    }
}
