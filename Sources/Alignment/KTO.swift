import Foundation
import Tensors

// Kahneman–Tversky Optimisation from unpaired desirable / undesirable responses
// (Ethayarajh et al. 2024, https://arxiv.org/abs/2402.01306).
// Shapes: N_w desirable and N_l undesirable samples; every log-prob input is a summed
// sequence log-prob, one per sample.

/// KTO for batches with as many desirable as undesirable samples: OpenRLHF's `VanillaKTOLoss`.
///
/// With `r_w = log π(y_w) − log π_ref(y_w)` and `r_l` likewise, the reference points are the
/// batch means `z_w = max(mean r_w, 0)` and `z_l = max(mean r_l, 0)`, and
/// `L = mean(cat(1 − σ(β (r_w − z_l)), 1 − σ(β (z_w − r_l))))`.
/// The reference points are NOT detached: the gradient flows through the batch means (except
/// where the clamp at 0 is active), as in OpenRLHF and HALOs.
///
/// - Parameters:
///   - sampleCount: The samples (desirable plus undesirable) of the whole optimizer step, to divide
///     the summed losses by; nil for this batch's mean. The reference points stay per batch.
public func vanillaKTOLoss(
    policyChosenLogps: Tensor, policyRejectedLogps: Tensor,
    referenceChosenLogps: Tensor, referenceRejectedLogps: Tensor,
    beta: Float, sampleCount: Int? = nil
) throws -> PreferenceLossOutput {
    let chosenLogratios = try policyChosenLogps - referenceChosenLogps
    let rejectedLogratios = try policyRejectedLogps - referenceRejectedLogps
    let chosenKL = chosenLogratios.mean().clamp(min: 0)
    let rejectedKL = rejectedLogratios.mean().clamp(min: 0)
    let losses = try concat(
        [
            1 - (beta * (chosenLogratios - rejectedKL)).sigmoid(),
            1 - (beta * (chosenKL - rejectedLogratios)).sigmoid(),
        ], axis: 0)
    let loss = try sampleMean(losses, count: sampleCount, function: "vanillaKTOLoss")
    let (chosenRewards, rejectedRewards) = Tensor.withNoGrad { (chosenLogratios.detached() * beta, rejectedLogratios.detached() * beta) }
    return PreferenceLossOutput(loss: loss, chosenRewards: chosenRewards, rejectedRewards: rejectedRewards)
}

/// KTO for any mix of desirable and undesirable samples: OpenRLHF's `KTOLoss`.
///
/// The reference point is a KL estimate from mismatched pairs (prompt i with the response of
/// sample i + 1, built by the data collation): `z₀ = max(mean(log π(y'|x) − log π_ref(y'|x)), 0)`,
/// detached. Then, with loss-aversion weights λ_D = `desirableWeight`, λ_U = `undesirableWeight`,
///
///     L = mean(cat(λ_D (1 − σ(β (r_w − z₀))), λ_U (1 − σ(β (z₀ − r_l)))))
///
/// over the N_w + N_l samples (either side may be empty). OpenRLHF all-reduces z₀ over data
/// parallel ranks; a single process is the identity.
///
/// - Parameters:
///   - policyKLLogps: Summed log π of the mismatched responses, [N_KL].
///   - referenceKLLogps: Same under the reference, [N_KL].
///   - sampleCount: As in ``vanillaKTOLoss(policyChosenLogps:policyRejectedLogps:referenceChosenLogps:referenceRejectedLogps:beta:sampleCount:)``.
/// - Returns: `kl` holds z₀.
public func ktoLoss(
    policyChosenLogps: Tensor, policyRejectedLogps: Tensor, policyKLLogps: Tensor,
    referenceChosenLogps: Tensor, referenceRejectedLogps: Tensor, referenceKLLogps: Tensor,
    beta: Float, desirableWeight: Float = 1, undesirableWeight: Float = 1,
    sampleCount: Int? = nil
) throws -> PreferenceLossOutput {
    let kl = try Tensor.withNoGrad { try (policyKLLogps.detached() - referenceKLLogps.detached()).mean().clamp(min: 0) }
    var parts: [Tensor] = []
    var chosenRewards = Tensor(shape: [0], data: [])
    var rejectedRewards = Tensor(shape: [0], data: [])
    if policyChosenLogps.count > 0 {
        let chosenLogratios = try policyChosenLogps - referenceChosenLogps
        parts.append(try (1 - (beta * (chosenLogratios - kl)).sigmoid()) * desirableWeight)
        chosenRewards = chosenLogratios.detached() * beta
    }
    if policyRejectedLogps.count > 0 {
        let rejectedLogratios = try policyRejectedLogps - referenceRejectedLogps
        parts.append(try (1 - (beta * (kl - rejectedLogratios)).sigmoid()) * undesirableWeight)
        rejectedRewards = rejectedLogratios.detached() * beta
    }
    guard !parts.isEmpty else {
        throw AlignmentError.invalidArgument(function: "ktoLoss", message: "no desirable and no undesirable samples in the batch")
    }
    let losses = parts.count == 1 ? parts[0] : try concat(parts, axis: 0)
    let loss = try sampleMean(losses, count: sampleCount, function: "ktoLoss")
    return PreferenceLossOutput(loss: loss, chosenRewards: chosenRewards, rejectedRewards: rejectedRewards, kl: kl)
}
