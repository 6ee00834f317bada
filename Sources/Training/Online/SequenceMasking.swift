import Alignment
import Foundation
import Tensors

// Sequence-level masking (`seqMaskTIS`) in the trainer: the loss applies Alignment's
// `sequenceMaskedImportanceWeights`; this counts what it left out, logged as `seq_masked` (the
// fraction of the step's sequences whose geometric-mean π_old / π_sampler fell outside the range).

/// How many of the batch's sequences (those the loss counts) sequence-level masking leaves out:
/// every weight of the row is 0. For the `seq_masked` metric.
func sequencesMasked(_ b: ExperienceBatch, low: Float, high: Float) throws -> Int {
    let mask = b.sequences.actionMask
    let weights = try sequenceMaskedImportanceWeights(
        oldLogProbs: b.oldLogProbs, rolloutLogProbs: b.rolloutLogProbs, actionMask: mask, low: low, high: high)
    let a = b.sequences.actions
    return (0..<b.sequences.batch).filter { i in
        let row = (i * a)..<((i + 1) * a)
        return row.contains { mask.data[$0] != 0 } && row.allSatisfy { weights.data[$0] == 0 }
    }.count
}
