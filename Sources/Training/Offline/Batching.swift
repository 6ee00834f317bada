import Alignment
import Datasets
import Foundation
import Models
import Tensors

// Micro-batch collation for the trainers: token sequences laid out for one forward pass, padded or
// packed, with the next-token targets a causal LM is trained on.
// Shapes: N = sequences, R = rows, L = tokens per row; every [R, L] array is row-major. Padded:
// R = N and L = the longest sequence. Packed: several sequences share a row of at most `maxLen`
// tokens, positions restart at 0 for each and segment ids keep attention inside each.

/// Sequences laid out for one forward pass — right-padded rows, or packed rows — and the targets
/// each position predicts.
///
/// Position `t` of a sequence predicts token `t + 1`; it is a *target* when that token is trained
/// (its loss-mask entry is 1) and belongs to the same sequence. So the first response token is the
/// target of the last prompt token, and the EOS the target of the token before it. Packed and
/// padded layouts of the same sequences have the same targets, so a loss computed from `labels` and
/// `targetMask` is the same either way (up to float rounding).
///
/// ```swift
/// let batch = try TokenBatch(examples, packing: true, maxLen: 512, padTokenID: 0)
/// let logits = try batch.logits(model)                           // [R, L, V]
/// let logps = try logProbs(logits, labels: batch.labels)         // [R, L], 0 where no target
/// let perSequence = try batch.sequenceSums(logps)                // [N]
/// ```
public struct TokenBatch: Sendable {
    /// R.
    public let rows: Int
    /// L.
    public let length: Int
    /// Token ids, [R, L]; the pad id at padding.
    public let inputIDs: [Int]
    /// Each token's position within its own sequence, [R, L] (packed only; nil for padded rows).
    public let positions: [Int]?
    /// 1-based sequence number within its row, 0 at padding, [R, L] (packed only).
    public let segments: [Int]?
    /// True on tokens, false on padding, [R, L].
    public let keyMask: [Bool]
    /// Where each sequence sits, in input order.
    public let placements: [Placement]
    /// The next-token target of each position, [R, L]: `ids[t + 1]` where it is trained and in the
    /// same sequence, else -1 (which `logProbs` reads as "no target").
    public let labels: [Int]
    /// 1 where `labels` holds a target, else 0, [R, L].
    public let targetMask: [Float]

    /// Lays out `sequences` (with their loss masks, 1 = trained) as padded or packed rows.
    ///
    /// - Throws: ``TrainingError/invalidData(_:)`` when a sequence is empty, longer than `maxLen`,
    ///   or its mask has another length.
    public init(sequences: [[Int]], lossMasks: [[Float]], packing: Bool, maxLen: Int, padTokenID: Int) throws {
        guard sequences.count == lossMasks.count else {
            throw TrainingError.invalidData("TokenBatch: \(sequences.count) sequences but \(lossMasks.count) loss masks")
        }
        for (i, (ids, mask)) in zip(sequences, lossMasks).enumerated() {
            guard !ids.isEmpty else { throw TrainingError.invalidData("TokenBatch: sequence \(i) is empty") }
            guard ids.count == mask.count else {
                throw TrainingError.invalidData("TokenBatch: sequence \(i) has \(ids.count) tokens but \(mask.count) loss-mask entries")
            }
            guard ids.count <= maxLen else {
                throw TrainingError.invalidData(
                    "TokenBatch: sequence \(i) has \(ids.count) tokens, more than maxLen \(maxLen); raise maxLen or truncate the data")
            }
        }
        if packing {
            let packed = try PackedBatch(sequences: sequences, lossMasks: lossMasks, maxLen: maxLen, padTokenID: padTokenID)
            rows = packed.rows
            length = packed.length
            inputIDs = packed.inputIDs
            positions = packed.positions
            segments = packed.segments
            keyMask = packed.keyMask
            placements = packed.placements
        } else {
            let padded = PaddedBatch(sequences: sequences, lossMasks: lossMasks, padTokenID: padTokenID)
            rows = padded.rows
            length = padded.length
            inputIDs = padded.inputIDs
            positions = nil
            segments = nil
            keyMask = padded.keyMask
            placements = (0..<padded.rows).map { Placement(row: $0, start: 0, count: padded.lengths[$0]) }
        }
        var labels = [Int](repeating: -1, count: rows * length)
        var targetMask = [Float](repeating: 0, count: rows * length)
        for (i, p) in placements.enumerated() {
            let base = p.row * length + p.start
            for t in 0..<(p.count - 1) where lossMasks[i][t + 1] != 0 {
                labels[base + t] = sequences[i][t + 1]
                targetMask[base + t] = 1
            }
        }
        self.labels = labels
        self.targetMask = targetMask
    }

    /// SFT examples (their loss masks say which tokens are trained).
    public init(_ examples: [SFTExample], packing: Bool, maxLen: Int, padTokenID: Int) throws {
        try self.init(
            sequences: examples.map(\.ids), lossMasks: examples.map(\.lossMask), packing: packing, maxLen: maxLen,
            padTokenID: padTokenID)
    }

    /// Whether several sequences may share a row.
    public var isPacked: Bool { segments != nil }

    /// N.
    public var sequenceCount: Int { placements.count }

    /// The number of target positions.
    public var targetCount: Int { targetMask.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }

    /// The number of target positions of each sequence.
    public var targetCounts: [Int] {
        placements.map { p in
            let base = p.row * length + p.start
            return (0..<p.count).reduce(0) { $0 + (targetMask[base + $1] != 0 ? 1 : 0) }
        }
    }

    /// Flat index (`row · L + t`) of each sequence's last token: where a reward model reads its score.
    public var lastTokenIndices: [Int] { placements.map { $0.row * length + $0.start + $0.count - 1 } }

    /// `targetMask` as an [R, L] tensor.
    public var targetMaskTensor: Tensor { Tensor(shape: [rows, length], data: targetMask) }

    /// Per-sequence arrays placed on the [R, L] grid, `fill` elsewhere (e.g. step labels of a PRM).
    public func layout<T>(_ perSequence: [[T]], fill: T) -> [T] {
        precondition(perSequence.count == placements.count, "layout: one array per sequence")
        var grid = [T](repeating: fill, count: rows * length)
        for (p, values) in zip(placements, perSequence) {
            precondition(values.count == p.count, "layout: one value per token")
            let base = p.row * length + p.start
            for (j, v) in values.enumerated() { grid[base + j] = v }
        }
        return grid
    }

    /// The causal LM's logits for the batch, [R, L, V].
    public func logits(_ model: CausalLM) throws -> Tensor {
        try model.logits(ids: inputIDs, batch: rows, length: length, positions: positions, segments: segments, keyMask: keyMask)
    }

    /// The causal LM's final hidden states for the batch (before the LM head), [R, L, D].
    public func hidden(_ model: CausalLM) throws -> Tensor {
        try model.forward(ids: inputIDs, batch: rows, length: length, positions: positions, segments: segments, keyMask: keyMask)
    }

    /// The reward model's score at each sequence's last token, [N].
    public func scores(_ model: ScalarModel) throws -> Tensor {
        try model.scores(
            ids: inputIDs, batch: rows, length: length, at: lastTokenIndices, positions: positions,
            segments: segments, keyMask: keyMask)
    }

    /// The sum over each sequence's target positions of `perToken` ([R, L]), or the mean when
    /// `mean` is true: [N], differentiable.
    ///
    /// Computed as one product with an [N, R·L] selection matrix, so it costs one small matmul
    /// whatever the layout.
    public func sequenceSums(_ perToken: Tensor, mean: Bool = false) throws -> Tensor {
        guard perToken.count == rows * length else {
            throw TrainingError.invalidData("sequenceSums: \(perToken.shape) values for a [\(rows), \(length)] batch")
        }
        let n = placements.count, width = rows * length
        var selection = [Float](repeating: 0, count: n * width)
        let counts = targetCounts
        for (i, p) in placements.enumerated() {
            let base = p.row * length + p.start
            let weight: Float = mean ? 1 / Float(Swift.max(counts[i], 1)) : 1
            for t in 0..<p.count where targetMask[base + t] != 0 { selection[i * width + base + t] = weight }
        }
        let product = try matmul(Tensor(shape: [n, width], data: selection), perToken.reshaped([width, 1]))
        return try product.reshaped([n])
    }

    /// Reduces a per-token loss [R, L] over the targets: one token mean, or the mean of the
    /// sequences' token means, over `aggregation`'s global denominator. Packed rows average each
    /// sequence by its segment, so the value equals the padded layout's.
    public func aggregate(_ perTokenLoss: Tensor, _ aggregation: LossAggregation) throws -> Tensor {
        if let segments {
            return try aggregateLoss(perTokenLoss, mask: targetMaskTensor, segments: segments, aggregation)
        }
        return try aggregateLoss(perTokenLoss, mask: targetMaskTensor, aggregation)
    }
}

// MARK: - Data checks

/// The target positions of a sequence: trained tokens after the first.
func targetCount(_ lossMask: [Float]) -> Int {
    lossMask.dropFirst().reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
}

/// Checks one token sequence of a dataset, naming it in the error.
///
/// - Parameters:
///   - what: Names the sequence, e.g. "training example 12 (chosen)".
///   - needsTarget: Whether at least one token after the first must be trained.
func checkSequence(
    _ ids: [Int], lossMask: [Float]? = nil, vocabSize: Int, maxLen: Int, what: String,
    needsTarget: Bool = true
) throws {
    guard ids.count >= 2 else {
        throw TrainingError.invalidData("\(what) has \(ids.count) token(s); a trained sequence needs at least 2")
    }
    guard ids.count <= maxLen else {
        throw TrainingError.invalidData("\(what) has \(ids.count) tokens, more than maxLen \(maxLen); raise maxLen or load the data with this maxLen")
    }
    if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= vocabSize }) {
        throw TrainingError.invalidData(
            "\(what): token \(ids[bad]) at position \(bad) is outside the model's vocabulary of \(vocabSize); was it tokenized for another model?")
    }
    if let lossMask {
        guard lossMask.count == ids.count else {
            throw TrainingError.invalidData("\(what) has \(ids.count) tokens but \(lossMask.count) loss-mask entries")
        }
        if needsTarget && targetCount(lossMask) == 0 {
            throw TrainingError.invalidData("\(what) trains no token (its loss mask is 0 after the first token); check the response or the template")
        }
    }
}

/// Rejects an eval split that is the training data itself.
func checkHeldOut<Example: Hashable>(train: [Example], eval: [Example], kind: String) throws {
    guard !eval.isEmpty else { return }
    let seen = Set(train)
    if eval.allSatisfy({ seen.contains($0) }) {
        throw TrainingError.invalidData(
            "\(kind): every eval example is also a training example; evaluate on a held-out split (e.g. the task's eval split)")
    }
}

/// The pad id of a model: its `pad_token_id`, else its first EOS, else 0 (padding is masked anyway).
func padTokenID(_ config: ModelConfig) -> Int {
    config.padTokenID ?? config.eosTokenIDs.first ?? 0
}

/// `items` cut into consecutive chunks of at most `size`.
func chunks<T>(_ items: [T], size: Int) -> [[T]] {
    stride(from: 0, to: items.count, by: Swift.max(size, 1)).map { Array(items[$0..<Swift.min($0 + size, items.count)]) }
}
