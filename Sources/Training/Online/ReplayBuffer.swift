import Foundation
import Tensors

// The replay buffer of one rollout, as OpenRLHF's `NaiveReplayBuffer` with its `DataLoader`
// (`shuffle=True, drop_last=True`): each pass visits the samples in a fresh permutation, in
// micro-batches of `microTrainBatchSize`, and `trainBatchSize / microTrainBatchSize` consecutive
// micro-batches make one optimizer step. The advantage normalisation OpenRLHF applies to the
// whole buffer (`normalize("advantages")`) is done when the rollout's advantages are computed
// (`ExperienceMaker.computeAdvantages`), over the same samples.

/// A rollout's experience, served as shuffled micro-batches grouped into optimizer steps.
public struct ReplayBuffer: Sendable {
    /// The samples, in rollout order.
    public private(set) var items: [RolloutExperience]

    public init(_ items: [RolloutExperience] = []) {
        self.items = items
    }

    public var count: Int { items.count }

    public mutating func append(contentsOf samples: [RolloutExperience]) {
        items += samples
    }

    public mutating func clear() {
        items.removeAll()
    }

    /// One pass: the sample indices of each optimizer step, split into micro-batches.
    ///
    /// The order is `rng.permutation(count)`; a trailing part smaller than a micro-batch, and then
    /// micro-batches that do not fill a step, are dropped.
    public func steps(trainBatchSize: Int, microTrainBatchSize: Int, rng: RNG) -> [[[Int]]] {
        var stream = rng
        let order = stream.permutation(items.count)
        var micro: [[Int]] = []
        for start in stride(from: 0, to: order.count - microTrainBatchSize + 1, by: microTrainBatchSize) {
            micro.append(Array(order[start..<(start + microTrainBatchSize)]))
        }
        let perStep = max(trainBatchSize / microTrainBatchSize, 1)
        var steps: [[[Int]]] = []
        for start in stride(from: 0, to: micro.count - perStep + 1, by: perStep) {
            steps.append(Array(micro[start..<(start + perStep)]))
        }
        return steps
    }

    /// The samples at `indices`, collated for a training forward.
    func batch(_ indices: [Int], padTokenID: Int) -> ExperienceBatch {
        let samples = indices.map { items[$0] }
        let sequences = ActionBatch(
            samples.map { (prompt: $0.prompt.ids, response: $0.responseIDs) }, padTokenID: padTokenID, maskedRows: samples.map(\.lossMasked))
        return ExperienceBatch(
            sequences: sequences,
            oldLogProbs: sequences.padded(samples.map(\.actionLogProbs)),
            rolloutLogProbs: sequences.padded(samples.map(\.samplingLogProbs)),
            baseLogProbs: samples.allSatisfy({ !$0.baseActionLogProbs.isEmpty })
                ? sequences.padded(samples.map(\.baseActionLogProbs)) : nil,
            oldValues: samples.allSatisfy({ !$0.values.isEmpty }) ? sequences.padded(samples.map(\.values)) : nil,
            returns: sequences.padded(samples.map(\.returns)),
            advantages: sequences.padded(samples.map(\.advantages)))
    }
}

/// A micro-batch of experience, padded to [B, A].
struct ExperienceBatch {
    let sequences: ActionBatch
    let oldLogProbs: Tensor
    /// The sampler's log-probs, for truncated importance sampling.
    let rolloutLogProbs: Tensor
    let baseLogProbs: Tensor?
    let oldValues: Tensor?
    let returns: Tensor
    let advantages: Tensor
}
