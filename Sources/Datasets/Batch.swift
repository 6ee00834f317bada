import Foundation
import Tensors

// Collation: examples padded into [B, T] rows.
// Shapes: B = rows, T = the longest row (rounded up to `multipleOf`); everything row-major.

/// Which end of a row padding goes to: right for training, left for prompts to generate from.
public enum PaddingSide: String, Sendable, Codable {
    case right
    case left
}

/// Sequences padded to one length: ids, attention mask and loss mask, row-major [B, T].
public struct PaddedBatch: Sendable, Hashable {
    /// B.
    public var rows: Int
    /// T.
    public var length: Int
    /// Token ids, `padTokenID` at padding.
    public var inputIDs: [Int]
    /// 1 on tokens, 0 on padding.
    public var attentionMask: [Float]
    /// 1 on trained tokens (see ``SFTExample``), 0 elsewhere.
    public var lossMask: [Float]
    /// The unpadded length of each row.
    public var lengths: [Int]
    /// Where each row's tokens start (0 with right padding).
    public var starts: [Int]

    /// Pads `sequences` (with their loss masks) to the longest, rounded up to a multiple of `multipleOf`.
    public init(sequences: [[Int]], lossMasks: [[Float]], padTokenID: Int, side: PaddingSide = .right, multipleOf: Int = 1) {
        precondition(
            sequences.count == lossMasks.count && zip(sequences, lossMasks).allSatisfy { $0.count == $1.count },
            "PaddedBatch: every sequence needs a loss mask of its length")
        let longest = sequences.map(\.count).max() ?? 0
        let t = multipleOf > 1 ? (longest + multipleOf - 1) / multipleOf * multipleOf : longest
        rows = sequences.count
        length = t
        inputIDs = [Int](repeating: padTokenID, count: rows * t)
        attentionMask = [Float](repeating: 0, count: rows * t)
        lossMask = attentionMask
        lengths = sequences.map(\.count)
        starts = sequences.map { side == .right ? 0 : t - $0.count }
        for (row, (ids, mask)) in zip(sequences, lossMasks).enumerated() {
            let base = row * t + starts[row]
            for j in 0..<ids.count {
                inputIDs[base + j] = ids[j]
                attentionMask[base + j] = 1
                lossMask[base + j] = mask[j]
            }
        }
    }

    /// SFT examples, right-padded.
    public init(_ examples: [SFTExample], padTokenID: Int, multipleOf: Int = 1) {
        self.init(sequences: examples.map(\.ids), lossMasks: examples.map(\.lossMask), padTokenID: padTokenID, multipleOf: multipleOf)
    }

    /// Prompts, left-padded so that every row ends where generation starts.
    public init(prompts: [PromptExample], padTokenID: Int) {
        self.init(
            sequences: prompts.map(\.ids), lossMasks: prompts.map { [Float](repeating: 0, count: $0.ids.count) },
            padTokenID: padTokenID, side: .left)
    }

    /// The ids of row `i`, without padding.
    public func ids(row i: Int) -> [Int] { Array(inputIDs[(i * length + starts[i])..<(i * length + starts[i] + lengths[i])]) }

    /// The trained tokens that are prediction targets: Σ lossMask over every column but the first
    /// (position 0 predicts nothing). The local token count of ``LossAggregation``-style global means.
    public var targetCount: Int {
        var n = 0
        for row in 0..<rows { for t in 1..<Swift.max(length, 1) where lossMask[row * length + t] != 0 { n += 1 } }
        return n
    }

    /// The attention mask as a [B, T] tensor.
    public var attentionMaskTensor: Tensor { Tensor(shape: [rows, length], data: attentionMask) }
    /// The loss mask as a [B, T] tensor.
    public var lossMaskTensor: Tensor { Tensor(shape: [rows, length], data: lossMask) }
    /// The attention mask as the key mask of `causalAttention` (false at padding).
    public var keyMask: [Bool] { attentionMask.map { $0 != 0 } }
}

/// Preference pairs in one batch: the B chosen rows, then the B rejected rows, padded together so
/// one forward pass scores both (OpenRLHF's `concatenated_forward`).
public struct PreferenceBatch: Sendable, Hashable {
    /// 2B rows: `rows[i]` is pair i's chosen sequence, `rows[B + i]` its rejected one. The loss
    /// mask covers the responses (EOS included).
    public var rows: PaddedBatch
    /// B.
    public var pairs: Int
    /// The margin of each pair.
    public var margins: [Float]

    public init(_ examples: [PreferenceExample], padTokenID: Int, multipleOf: Int = 1) {
        let sequences = examples.map(\.chosen) + examples.map(\.rejected)
        rows = PaddedBatch(sequences, padTokenID: padTokenID, multipleOf: multipleOf)
        pairs = examples.count
        margins = examples.map(\.margin)
    }
}

/// A KTO batch: the B samples, then B mismatched pairs (prompt i with the response of sample
/// i + 1, cyclically) whose log-ratios estimate the KL reference point (OpenRLHF's collation for
/// `KTOLoss`).
public struct UnpairedBatch: Sendable, Hashable {
    /// 2B rows; the loss mask covers the responses.
    public var rows: PaddedBatch
    /// Per row: 1 desirable, 0 undesirable, -1 a mismatched KL row.
    public var labels: [Int]

    /// - Parameter maxLen: Mismatched pairs longer than this are cut with EOS kept last.
    public init(_ examples: [UnpairedExample], padTokenID: Int, eosTokenID: Int, maxLen: Int, multipleOf: Int = 1) {
        var sequences = examples.map { SFTExample(prompt: $0.promptIDs, response: $0.responseIDs) }
        for i in examples.indices {
            let prompt = examples[i].promptIDs, response = examples[(i + 1) % examples.count].responseIDs
            sequences.append(SFTExample(prompt: prompt, response: fitResponse(response, promptLength: prompt.count, maxLen: maxLen, eos: eosTokenID)))
        }
        rows = PaddedBatch(sequences, padTokenID: padTokenID, multipleOf: multipleOf)
        labels = examples.map { $0.label ? 1 : 0 } + [Int](repeating: -1, count: examples.count)
    }
}

/// A process-reward batch: the texts padded, with the step labels laid out on the same [B, T] grid.
public struct ProcessRewardBatch: Sendable, Hashable {
    /// The texts; the loss mask marks the placeholder positions.
    public var rows: PaddedBatch
    /// Reward-token ids at placeholder positions and -100 elsewhere (hard labels), row-major [B, T].
    public var tokenLabels: [Int]?
    /// Probabilities at placeholder positions and -100 elsewhere (soft labels), row-major [B, T].
    public var probabilityLabels: [Float]?

    /// - Precondition: All examples have the same kind of labels.
    public init(_ examples: [ProcessRewardExample], padTokenID: Int, multipleOf: Int = 1) {
        let masks = examples.map { e in e.ids.map { $0 == e.placeholderTokenID ? Float(1) : 0 } }
        rows = PaddedBatch(sequences: examples.map(\.ids), lossMasks: masks, padTokenID: padTokenID, multipleOf: multipleOf)
        let t = rows.length
        var tokens: [Int]? = nil, probabilities: [Float]? = nil
        for (row, e) in examples.enumerated() {
            let positions = e.ids.indices.filter { e.ids[$0] == e.placeholderTokenID }
            switch e.labels {
            case .tokens(let labels):
                precondition(probabilities == nil, "ProcessRewardBatch: mixed token and probability labels")
                if tokens == nil { tokens = [Int](repeating: -100, count: rows.rows * t) }
                for (p, label) in zip(positions, labels) { tokens![row * t + p] = label }
            case .probabilities(let labels):
                precondition(tokens == nil, "ProcessRewardBatch: mixed token and probability labels")
                if probabilities == nil { probabilities = [Float](repeating: -100, count: rows.rows * t) }
                for (p, label) in zip(positions, labels) { probabilities![row * t + p] = label }
            }
        }
        tokenLabels = tokens
        probabilityLabels = probabilities
    }
}
