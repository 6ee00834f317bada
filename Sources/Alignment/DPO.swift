import Foundation
import Tensors

// Direct preference optimisation and its variants, from summed sequence log-probs.
// Shapes: N = preference pairs in the batch; every log-prob input is [N], the sum over a
// response's tokens of log π(y_t | x, y_<t).

/// What a preference loss returns: the loss to differentiate and the implicit rewards to log.
public struct PreferenceLossOutput {
    /// The scalar loss.
    public var loss: Tensor
    /// `β (log π(y_w|x) − log π_ref(y_w|x))` per pair (or per desirable sample), detached.
    public var chosenRewards: Tensor
    /// `β (log π(y_l|x) − log π_ref(y_l|x))` per pair (or per undesirable sample), detached.
    public var rejectedRewards: Tensor
    /// The NLL term of ``dpoLoss(policyChosenLogps:policyRejectedLogps:referenceChosenLogps:referenceRejectedLogps:beta:labelSmoothing:ipo:pairCount:)``'s
    /// NLL-regularised variant, before its coefficient; nil otherwise.
    public var nllLoss: Tensor?
    /// The KL estimate z₀ of ``ktoLoss(policyChosenLogps:policyRejectedLogps:policyKLLogps:referenceChosenLogps:referenceRejectedLogps:referenceKLLogps:beta:desirableWeight:undesirableWeight:sampleCount:)``
    /// (detached); nil otherwise.
    public var kl: Tensor?

    public init(loss: Tensor, chosenRewards: Tensor, rejectedRewards: Tensor, nllLoss: Tensor? = nil, kl: Tensor? = nil) {
        self.loss = loss
        self.chosenRewards = chosenRewards
        self.rejectedRewards = rejectedRewards
        self.nllLoss = nllLoss
        self.kl = kl
    }
}

/// The DPO loss and its cDPO and IPO variants: OpenRLHF's `DPOLoss`.
///
/// With `h = (log π(y_w) − log π(y_l)) − (log π_ref(y_w) − log π_ref(y_l))`:
/// - DPO, Eq. 7 of Rafailov et al. 2023 (https://arxiv.org/abs/2305.18290):
///   `L = −log σ(β h)`;
/// - cDPO, Eq. 3 of Mitchell 2023 (https://ericmitchell.ai/cdpo.pdf), labels flipped with
///   probability ε = `labelSmoothing`: `L = −(1 − ε) log σ(β h) − ε log σ(−β h)`;
/// - IPO, Eq. 17 of Azar et al. 2023 (https://arxiv.org/abs/2310.12036v2), when `ipo` is true
///   (`labelSmoothing` is then unused): `L = (h − 1/(2β))²`.
///
/// The loss is the mean over pairs, or the sum divided by `pairCount` (the pairs of every
/// micro-batch of the optimizer step) so that micro-batch losses add up to the step's mean.
///
/// - Parameters:
///   - policyChosenLogps: Summed log π of each chosen response, [N]; differentiated.
///   - policyRejectedLogps: Summed log π of each rejected response, [N]; differentiated.
///   - referenceChosenLogps: Same under the frozen reference, [N].
///   - referenceRejectedLogps: Same under the frozen reference, [N].
///   - beta: β, the strength of the implicit KL constraint.
public func dpoLoss(
    policyChosenLogps: Tensor, policyRejectedLogps: Tensor,
    referenceChosenLogps: Tensor, referenceRejectedLogps: Tensor,
    beta: Float, labelSmoothing: Float = 0, ipo: Bool = false,
    pairCount: Int? = nil
) throws -> PreferenceLossOutput {
    let piLogratios = try policyChosenLogps - policyRejectedLogps
    let refLogratios = try referenceChosenLogps - referenceRejectedLogps
    let logits = try piLogratios - refLogratios
    let losses: Tensor
    if ipo {
        losses = (logits - 1 / (2 * beta)).square()
    } else {
        losses =
            try (beta * logits).logSigmoid() * -(1 - labelSmoothing)
            - (-beta * logits).logSigmoid() * labelSmoothing
    }
    let loss = try sampleMean(losses, count: pairCount, function: "dpoLoss")
    let (chosenRewards, rejectedRewards) = try Tensor.withNoGrad {
        (try (policyChosenLogps - referenceChosenLogps) * beta, try (policyRejectedLogps - referenceRejectedLogps) * beta)
    }
    return PreferenceLossOutput(loss: loss, chosenRewards: chosenRewards, rejectedRewards: rejectedRewards)
}

/// DPO regularised by the negative log-likelihood of the chosen responses (OpenRLHF's
/// `--nll_loss_coef`; the NLL term of RPO, Pang et al. 2024, https://arxiv.org/abs/2404.19733):
/// `L = L_DPO + nllLossCoef · L_NLL`, with `L_NLL = −mean over pairs of (mean over the chosen
/// response's tokens of log π(y_t))`.
///
/// - Parameters:
///   - chosenTokenLogps: Per-token log π of the chosen responses, [N, T].
///   - chosenLossMask: 1 on the chosen responses' tokens, [N, T].
///   - nllLossCoef: The weight of the NLL term.
///   - pairCount: As in ``dpoLoss(policyChosenLogps:policyRejectedLogps:referenceChosenLogps:referenceRejectedLogps:beta:labelSmoothing:ipo:pairCount:)``;
///     it is also the NLL's global row count.
/// - Returns: `loss` is the sum; `nllLoss` holds the NLL term alone.
public func dpoLoss(
    policyChosenLogps: Tensor, policyRejectedLogps: Tensor,
    referenceChosenLogps: Tensor, referenceRejectedLogps: Tensor,
    chosenTokenLogps: Tensor, chosenLossMask: Tensor, nllLossCoef: Float,
    beta: Float, labelSmoothing: Float = 0, ipo: Bool = false,
    pairCount: Int? = nil
) throws -> PreferenceLossOutput {
    var output = try dpoLoss(
        policyChosenLogps: policyChosenLogps, policyRejectedLogps: policyRejectedLogps,
        referenceChosenLogps: referenceChosenLogps, referenceRejectedLogps: referenceRejectedLogps,
        beta: beta, labelSmoothing: labelSmoothing, ipo: ipo, pairCount: pairCount)
    let aggregation = pairCount.map { LossAggregation.sequenceMean(sequenceCount: $0) } ?? .sequenceMean
    let nll = try sftLoss(perTokenLogps: chosenTokenLogps, lossMask: chosenLossMask, aggregation: aggregation)
    output.loss = try output.loss + nll * nllLossCoef
    output.nllLoss = nll
    return output
}
