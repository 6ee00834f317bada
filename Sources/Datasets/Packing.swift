import Foundation
import Tensors

// Packing: several samples share one row, with positions restarting at 0 per sample and segment
// ids that keep attention inside each sample, so a packed batch computes exactly what the padded
// batch computes, without the padding.
// Shapes: R = packed rows, L = the longest packed row (at most maxLen); everything row-major [R, L].

/// Where one sample sits in a packed batch.
public struct Placement: Sendable, Hashable, Codable {
    /// The packed row.
    public var row: Int
    /// Its first position in the row.
    public var start: Int
    /// Its number of tokens.
    public var count: Int

    public init(row: Int, start: Int, count: Int) {
        self.row = row
        self.start = start
        self.count = count
    }
}

/// Samples packed greedily into rows of at most `maxLen` tokens.
///
/// Packing is first-fit in the samples' order: each sample goes into the first row with room
/// for it, else a new row, so the layout depends only on the lengths and `maxLen`. In each row,
/// `positions` count 0, 1, 2, … from each sample's start, and `segments` number the samples
/// 1, 2, 3, … (0 at padding), for `causalAttention(…, segments:)`, which lets a token see only
/// its own sample.
///
/// A sample's first token is never a target (nothing of that sample comes before it), so its
/// loss mask entry is 0 even where the sample's own mask says 1 (pretrain mode); with targets
/// taken as `ids[:, 1...]` the packed loss then equals the padded loss token for token.
public struct PackedBatch: Sendable, Hashable {
    /// R.
    public var rows: Int
    /// L.
    public var length: Int
    /// Token ids, `padTokenID` at padding.
    public var inputIDs: [Int]
    /// Position of each token within its own sample (0 at padding).
    public var positions: [Int]
    /// 1-based sample number within the row; 0 at padding.
    public var segments: [Int]
    /// 1 on tokens, 0 on padding.
    public var attentionMask: [Float]
    /// 1 on trained tokens, 0 elsewhere (and at each sample's first token).
    public var lossMask: [Float]
    /// Where each input sample went, in input order.
    public var placements: [Placement]

    /// Packs `sequences` with their loss masks into rows of at most `maxLen` tokens.
    ///
    /// - Throws: ``DatasetError/invalidOption(_:)`` when a sequence is longer than `maxLen`.
    public init(sequences: [[Int]], lossMasks: [[Float]], maxLen: Int, padTokenID: Int) throws {
        guard sequences.count == lossMasks.count, zip(sequences, lossMasks).allSatisfy({ $0.count == $1.count }) else {
            throw DatasetError.invalidOption("packing: every sequence needs a loss mask of its length")
        }
        if let long = sequences.firstIndex(where: { $0.count > maxLen }) {
            throw DatasetError.invalidOption(
                "packing: sample \(long) has \(sequences[long].count) tokens, more than maxLen \(maxLen); truncate it first")
        }
        var used: [Int] = []
        var rowSamples: [[Int]] = []
        var placements: [Placement] = []
        for (i, s) in sequences.enumerated() {
            if let row = used.firstIndex(where: { $0 + s.count <= maxLen }) {
                placements.append(Placement(row: row, start: used[row], count: s.count))
                used[row] += s.count
                rowSamples[row].append(i)
            } else {
                placements.append(Placement(row: used.count, start: 0, count: s.count))
                used.append(s.count)
                rowSamples.append([i])
            }
        }
        rows = used.count
        length = used.max() ?? 0
        let total = rows * length
        inputIDs = [Int](repeating: padTokenID, count: total)
        positions = [Int](repeating: 0, count: total)
        segments = positions
        attentionMask = [Float](repeating: 0, count: total)
        lossMask = attentionMask
        self.placements = placements
        for (row, samples) in rowSamples.enumerated() {
            for (k, i) in samples.enumerated() {
                let p = placements[i], base = row * length + p.start
                for j in 0..<p.count {
                    inputIDs[base + j] = sequences[i][j]
                    positions[base + j] = j
                    segments[base + j] = k + 1
                    attentionMask[base + j] = 1
                    lossMask[base + j] = j == 0 ? 0 : lossMasks[i][j]
                }
            }
        }
    }

    /// SFT examples packed into rows of at most `maxLen` tokens.
    public init(_ examples: [SFTExample], maxLen: Int, padTokenID: Int) throws {
        try self.init(sequences: examples.map(\.ids), lossMasks: examples.map(\.lossMask), maxLen: maxLen, padTokenID: padTokenID)
    }

    /// The trained tokens that are prediction targets (Σ lossMask); equals the padded batch's
    /// ``PaddedBatch/targetCount`` for the same samples.
    public var targetCount: Int { lossMask.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }

    /// The ids of sample `i` (input order).
    public func ids(sample i: Int) -> [Int] {
        let p = placements[i]
        return Array(inputIDs[(p.row * length + p.start)..<(p.row * length + p.start + p.count)])
    }

    /// `values` laid out like the batch ([R, L] row-major) cut back into one array per sample.
    public func unpack<T>(_ values: [T]) -> [[T]] {
        placements.map { p in Array(values[(p.row * length + p.start)..<(p.row * length + p.start + p.count)]) }
    }

    /// The loss mask as an [R, L] tensor.
    public var lossMaskTensor: Tensor { Tensor(shape: [rows, length], data: lossMask) }
    /// The attention mask as an [R, L] tensor.
    public var attentionMaskTensor: Tensor { Tensor(shape: [rows, length], data: attentionMask) }
    /// The key mask of `causalAttention` (false at padding).
    public var keyMask: [Bool] { attentionMask.map { $0 != 0 } }
}
