// Behaviour of the estimators and variants that the reference fixtures do not pin.

import Alignment
import Foundation
import Testing
import Tensors

@Suite struct EstimatorTests {
    static let groupEstimators: [AdvantageEstimator] = [.rloo, .reinforceBaseline, .groupNorm, .drGRPO]

    @Test(arguments: groupEstimators)
    func groupEstimatorsRejectOneSamplePerPrompt(_ estimator: AdvantageEstimator) throws {
        let rewards = Tensor(shape: [3], data: [1, 0, 0.5])
        let expected = AlignmentError.groupTooSmall(estimator: estimator.rawValue, nSamplesPerPrompt: 1)
        #expect(throws: expected) { try shapedRewards(rewards, estimator: estimator, nSamplesPerPrompt: 1) }
        #expect(throws: expected) {
            try computeAdvantagesAndReturns(
                estimator: estimator, rewards: rewards, kl: .zeros([3, 2]), actionMask: .ones([3, 2]),
                klCoef: 0, nSamplesPerPrompt: 1)
        }
        #expect(expected.description.contains("nSamplesPerPrompt >= 2"))
    }

    @Test func ungroupedEstimatorsAcceptOneSamplePerPrompt() throws {
        let rewards = Tensor(shape: [2], data: [1, -1])
        let out = try computeAdvantagesAndReturns(
            estimator: .reinforce, rewards: rewards, kl: .zeros([2, 3]),
            actionMask: .ones([2, 3]), klCoef: 0.1, nSamplesPerPrompt: 1)
        #expect(out.shapedRewards.data == [1, -1])
        #expect(out.returns.data == [1, 1, 1, -1, -1, -1])
    }

    @Test func groupsMustDivideTheRollout() {
        #expect(throws: AlignmentError.self) {
            try shapedRewards(Tensor(shape: [5], data: [1, 2, 3, 4, 5]), estimator: .rloo, nSamplesPerPrompt: 2)
        }
    }

    @Test func groupEstimatorsRequireGammaOne() {
        #expect(throws: AlignmentError.self) {
            try computeAdvantagesAndReturns(
                estimator: .groupNorm, rewards: .zeros([4]), kl: .zeros([4, 2]), actionMask: .ones([4, 2]),
                klCoef: 0, gamma: 0.99, nSamplesPerPrompt: 2)
        }
    }

    @Test func gaeNeedsValues() {
        #expect(throws: AlignmentError.self) {
            try computeAdvantagesAndReturns(estimator: .gae, rewards: .zeros([2]), kl: .zeros([2, 2]), actionMask: .ones([2, 2]), klCoef: 0)
        }
    }

    /// The logged KL averages over valid tokens; OpenRLHF v0.7.0's over the padded length.
    @Test func sequenceKLAveragesOverValidTokens() throws {
        let kl = Tensor(shape: [2, 4], data: [1, 1, 0, 0, 2, 2, 2, 2])
        let mask = Tensor(shape: [2, 4], data: [1, 1, 0, 0, 1, 1, 1, 1])
        #expect(try sequenceKL(kl, actionMask: mask).data == [1, 2])
        #expect(try sequenceKL(kl, actionMask: nil).data == [0.5, 2])
    }

    @Test func nllRegularisedDPOAddsTheChosenNLL() throws {
        let pc = Tensor(shape: [2], data: [-3, -5], requiresGrad: true), pr = Tensor(shape: [2], data: [-4, -4])
        let rc = Tensor(shape: [2], data: [-3.5, -5]), rr = Tensor(shape: [2], data: [-4, -3.5])
        let tokens = Tensor(shape: [2, 3], data: [-1, -2, -9, -0.5, -0.5, -0.5])
        let mask = Tensor(shape: [2, 3], data: [1, 1, 0, 1, 1, 1])
        let plain = try dpoLoss(policyChosenLogps: pc, policyRejectedLogps: pr, referenceChosenLogps: rc, referenceRejectedLogps: rr, beta: 0.1)
        let out = try dpoLoss(
            policyChosenLogps: pc, policyRejectedLogps: pr, referenceChosenLogps: rc, referenceRejectedLogps: rr,
            chosenTokenLogps: tokens, chosenLossMask: mask, nllLossCoef: 0.5, beta: 0.1)
        let nll = (1.5 + 0.5) / 2 as Float
        #expect(abs(try out.nllLoss!.item - nll) < 1e-6)
        #expect(abs(try out.loss.item - (try plain.loss.item + 0.5 * nll)) < 1e-6)
    }

    @Test func ktoAcceptsOneSidedBatches() throws {
        let chosen = Tensor(shape: [2], data: [-1, -2], requiresGrad: true)
        let out = try ktoLoss(
            policyChosenLogps: chosen, policyRejectedLogps: Tensor(shape: [0], data: []),
            policyKLLogps: Tensor(shape: [2], data: [-3, -3]),
            referenceChosenLogps: Tensor(shape: [2], data: [-1, -2]),
            referenceRejectedLogps: Tensor(shape: [0], data: []),
            referenceKLLogps: Tensor(shape: [2], data: [-3, -3]), beta: 0.1)
        #expect(abs(try out.loss.item - 0.5) < 1e-6)
        #expect(out.rejectedRewards.count == 0)
    }

    @Test func klControllersRoundTripThroughCodable() throws {
        var controller = AdaptiveKLController(initKLCoef: 0.05, klTarget: 6, klHorizon: 10_000)
        controller.update(current: 8, nSteps: 512)
        let data = try JSONEncoder().encode(controller)
        #expect(try JSONDecoder().decode(AdaptiveKLController.self, from: data) == controller)
    }

    @Test func clipFractionCountsClippedValidTokens() throws {
        let logProbs = Tensor(shape: [1, 4], data: [0.5, 0, -0.5, 0.5])
        let old = Tensor.zeros([1, 4])
        let advantages = Tensor(shape: [1, 4], data: [1, 1, -1, -1])
        let mask = Tensor(shape: [1, 4], data: [1, 1, 1, 0])
        // Token 0: ratio e^0.5 > 1.2 with A > 0 → clipped; token 2: ratio e^-0.5 < 0.8 with A < 0 → clipped.
        #expect(try policyClipFraction(logProbs: logProbs, oldLogProbs: old, advantages: advantages, actionMask: mask) == 2 / 3)
    }
}
