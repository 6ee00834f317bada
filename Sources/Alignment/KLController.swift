import Foundation

// Controllers of the KL coefficient β in the PPO reward r − β·KL (Ziegler et al. 2019,
// "Fine-Tuning Language Models from Human Preferences", https://arxiv.org/abs/1909.08593).
// Arithmetic in Float64, as OpenRLHF's numpy-based controllers.

/// A rule that updates the KL coefficient after each rollout from the KL it measured.
public protocol KLController: Sendable, Codable {
    /// The current coefficient β.
    var value: Double { get }
    /// Updates β after a rollout whose mean per-token KL was `current`, over `nSteps` samples.
    mutating func update(current: Double, nSteps: Int)
}

/// The adaptive KL controller of Ziegler et al. (2019), Section 2.2:
/// `e_t = clip(KL_t / KL_target − 1, −0.2, 0.2)`, `β_{t+1} = β_t (1 + K_β e_t)` with
/// `K_β = n_steps / horizon`.
///
/// OpenRLHF's `AdaptiveKLController(init_kl_coef, target, horizon)`; trainers call `update` once
/// per rollout with `nSteps = rolloutBatchSize × nSamplesPerPrompt`. What "current" means is
/// the caller's choice: swift-rlhf trainers pass the masked mean of ``sequenceKL(_:actionMask:)``
/// over the rollout (a true per-token KL); OpenRLHF v0.7.0 passed the mean over the padded
/// length (`sequenceKL(kl, actionMask: nil)`), which shrinks with padding.
///
/// ```swift
/// var controller = AdaptiveKLController(initKLCoef: 0.05, klTarget: 6, klHorizon: 10_000)
/// controller.update(current: 4.2, nSteps: 512)
/// ```
public struct AdaptiveKLController: KLController, Equatable {
    /// The current coefficient β, `initKLCoef` before the first update.
    public private(set) var value: Double
    /// The KL the controller steers towards.
    public let klTarget: Double
    /// The number of samples over which β may change by a factor e^{±0.2}.
    public let klHorizon: Double

    public init(initKLCoef: Double, klTarget: Double, klHorizon: Double) {
        self.value = initKLCoef
        self.klTarget = klTarget
        self.klHorizon = klHorizon
    }

    public mutating func update(current: Double, nSteps: Int) {
        let proportionalError = Swift.min(Swift.max(current / klTarget - 1, -0.2), 0.2)
        let mult = 1 + proportionalError * Double(nSteps) / klHorizon
        value *= mult
    }
}

/// A constant KL coefficient: OpenRLHF's `FixedKLController(kl_coef)`; `update` does nothing.
public struct FixedKLController: KLController, Equatable {
    /// The coefficient β, never changed.
    public private(set) var value: Double

    public init(klCoef: Double) { self.value = klCoef }

    public mutating func update(current: Double, nSteps: Int) {}
}
