import Foundation

// The tokenized examples of each dataset kind, and the container the loaders return.
// Every id sequence is unpadded; collation (Batch.swift, Packing.swift) pads or packs them.

/// A supervised fine-tuning example: one token sequence and which of its tokens are trained.
///
/// `lossMask[t] == 1` means token `ids[t]` is a target (predicted from `ids[..<t]`): every
/// response (assistant) token including the first one and the final EOS, and 0 on the prompt.
/// A trainer computes `logProbs(logits[:, ..<T-1], labels: ids[:, 1...])` and uses
/// `lossMask[:, 1...]`. In pretrain mode every token is a target.
public struct SFTExample: Sendable, Hashable, Codable {
    /// The token ids, prompt then response, unpadded.
    public var ids: [Int]
    /// 1 where `ids[t]` is trained, 0 elsewhere; as many entries as `ids`.
    public var lossMask: [Float]

    public init(ids: [Int], lossMask: [Float]) {
        precondition(ids.count == lossMask.count, "SFTExample: \(ids.count) ids, \(lossMask.count) mask entries")
        self.ids = ids
        self.lossMask = lossMask
    }
}

/// A preference pair: one prompt, a chosen and a rejected response (each ending with EOS).
public struct PreferenceExample: Sendable, Hashable, Codable {
    /// The prompt's ids (the template or chat template applied).
    public var promptIDs: [Int]
    /// The chosen response's ids, ending with EOS.
    public var chosenIDs: [Int]
    /// The rejected response's ids, ending with EOS.
    public var rejectedIDs: [Int]
    /// The reward-model margin of the pair (0 when the data has none).
    public var margin: Float

    public init(promptIDs: [Int], chosenIDs: [Int], rejectedIDs: [Int], margin: Float = 0) {
        self.promptIDs = promptIDs
        self.chosenIDs = chosenIDs
        self.rejectedIDs = rejectedIDs
        self.margin = margin
    }

    /// The chosen sequence as an SFT example (the response trained).
    public var chosen: SFTExample { SFTExample(prompt: promptIDs, response: chosenIDs) }
    /// The rejected sequence as an SFT example (the response trained).
    public var rejected: SFTExample { SFTExample(prompt: promptIDs, response: rejectedIDs) }
}

/// A response labelled desirable or undesirable, for KTO.
public struct UnpairedExample: Sendable, Hashable, Codable {
    /// The prompt's ids (the template or chat template applied).
    public var promptIDs: [Int]
    /// The response, ending with EOS.
    public var responseIDs: [Int]
    /// True for a desirable response.
    public var label: Bool

    public init(promptIDs: [Int], responseIDs: [Int], label: Bool) {
        self.promptIDs = promptIDs
        self.responseIDs = responseIDs
        self.label = label
    }
}

/// A prompt for online RL: its text (after the template), its ids, and what the reward and the
/// evaluation need.
public struct PromptExample: Sendable, Hashable, Codable {
    /// The prompt as the model sees it (template or chat template applied).
    public var text: String
    /// The ids of `text`.
    public var ids: [Int]
    /// The reference answer handed to the reward function ("" when the data has none).
    public var label: String
    /// The data source, for per-source evaluation (pass@k per `datasource`); "default" when absent.
    public var datasource: String

    public init(text: String, ids: [Int], label: String = "", datasource: String = "default") {
        self.text = text
        self.ids = ids
        self.label = label
        self.datasource = datasource
    }
}

/// The labels of a process-reward example, one per placeholder token kept after truncation.
public enum StepLabels: Sendable, Hashable, Codable {
    /// The token id of each step's reward token ("+" / "-").
    case tokens([Int])
    /// The probability that each step is correct.
    case probabilities([Float])

    /// The number of labelled steps.
    public var count: Int {
        switch self {
        case .tokens(let t): return t.count
        case .probabilities(let p): return p.count
        }
    }
}

/// A process-reward example: a text whose steps end with a placeholder token, and a label per step.
public struct ProcessRewardExample: Sendable, Hashable, Codable {
    /// The text's ids, placeholders included.
    public var ids: [Int]
    /// The labels of the placeholders of `ids`, in order.
    public var labels: StepLabels
    /// The placeholder token's id.
    public var placeholderTokenID: Int

    public init(ids: [Int], labels: StepLabels, placeholderTokenID: Int) {
        self.ids = ids
        self.labels = labels
        self.placeholderTokenID = placeholderTokenID
    }
}

extension SFTExample {
    /// The sequence `prompt + response` with the response (all of it) trained.
    public init(prompt: [Int], response: [Int]) {
        self.init(
            ids: prompt + response,
            lossMask: [Float](repeating: 0, count: prompt.count) + [Float](repeating: 1, count: response.count))
    }
}

/// A record a loader left out, and why (OpenRLHF drops such samples silently).
public struct SkippedRecord: Sendable, Hashable {
    /// The record's file (or in-memory source).
    public var file: String
    /// The record's line.
    public var line: Int
    /// Why it was left out.
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }
}

/// The examples a loader produced from a data source, and the records it skipped.
public struct Dataset<Example: Sendable>: Sendable, RandomAccessCollection {
    /// The examples, in file order.
    public var examples: [Example]
    /// The records left out (prompt too long for `maxLen`, empty response), with their reasons.
    public var skipped: [SkippedRecord]

    public init(examples: [Example], skipped: [SkippedRecord] = []) {
        self.examples = examples
        self.skipped = skipped
    }

    public var startIndex: Int { examples.startIndex }
    public var endIndex: Int { examples.endIndex }
    public subscript(position: Int) -> Example { examples[position] }

    /// The examples at `indices` (a sampler's batch), in that order.
    public func batch(_ indices: [Int]) -> [Example] { indices.map { examples[$0] } }
}
