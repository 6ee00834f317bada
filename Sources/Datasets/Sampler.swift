import Foundation
import Tensors

/// Deterministic, resumable order over a dataset: a fresh shuffle each epoch from the run's RNG,
/// and a cursor counted in samples.
///
/// Epoch `e` visits `rng.fork("epoch-\(e)").permutation(count)` (or `0..<count` without
/// shuffling). The position is `(epoch, cursor)` with the cursor counted in samples, not
/// batches, so a sampler saved after any number of batches of any size and restored (it is
/// `Codable`) continues with exactly the samples an uninterrupted run would see next — whatever
/// batch size the resumed run uses.
///
/// ```swift
/// var sampler = Sampler(count: data.count, rng: rng.fork("sampler"))
/// let batch = data.batch(sampler.next(8))
/// ```
public struct Sampler: Sendable, Equatable, Codable {
    /// The number of samples.
    public let count: Int
    /// Whether each epoch is shuffled.
    public let shuffle: Bool
    /// The stream the epoch shuffles are forked from.
    public let rng: RNG
    /// The current epoch, from 0.
    public private(set) var epoch: Int = 0
    /// Samples already drawn in the current epoch.
    public private(set) var cursor: Int = 0
    /// The current epoch's order, kept so that drawing a batch does not reshuffle (not saved).
    private var cached: (epoch: Int, order: [Int])? = nil

    enum CodingKeys: String, CodingKey { case count, shuffle, rng, epoch, cursor }

    public static func == (a: Sampler, b: Sampler) -> Bool {
        a.count == b.count && a.shuffle == b.shuffle && a.rng == b.rng && a.epoch == b.epoch && a.cursor == b.cursor
    }

    /// A sampler over `count` samples at epoch 0, cursor 0; give it its own stream
    /// (`rng.fork("sampler")`).
    public init(count: Int, rng: RNG, shuffle: Bool = true) {
        precondition(count >= 0, "Sampler: negative count")
        self.count = count
        self.rng = rng
        self.shuffle = shuffle
    }

    /// The order in which epoch `e` visits the samples.
    public func order(epoch e: Int) -> [Int] {
        guard shuffle else { return Array(0..<count) }
        var stream = rng.fork("epoch-\(e)")
        return stream.permutation(count)
    }

    /// Samples drawn since the start (over all epochs).
    public var consumedSamples: Int { epoch * count + cursor }

    /// The next `n` sample indices of the current epoch, or fewer at its end (the last batch of
    /// an epoch may be short); an exhausted epoch moves on to the next first. Empty when there
    /// are no samples.
    public mutating func next(_ n: Int) -> [Int] {
        guard count > 0, n > 0 else { return [] }
        if cursor >= count { epoch += 1; cursor = 0 }
        let end = Swift.min(cursor + n, count)
        if cached?.epoch != epoch { cached = (epoch, order(epoch: epoch)) }
        let indices = Array(cached!.order[cursor..<end])
        cursor = end
        return indices
    }

    /// Whether the current epoch has been fully drawn.
    public var isEpochComplete: Bool { cursor >= count }

    /// Moves to `consumedSamples` samples from the start (e.g. from a checkpoint that stored only
    /// the count).
    public mutating func seek(consumedSamples: Int) {
        guard count > 0 else { return }
        epoch = consumedSamples / count
        cursor = consumedSamples % count
    }
}
