import Foundation

/// The learning rate of each optimizer step, as HuggingFace's schedulers give it.
///
/// `lr(at: step)` is the rate for the optimizer step with index `step` (0-based): the value a
/// PyTorch `LambdaLR` holds after `step` calls of `scheduler.step()`. With warmup the first step
/// therefore uses a rate of 0, as in HuggingFace and OpenRLHF.
///
/// ```swift
/// let schedule = LearningRateSchedule.cosineWithMinLR(lr: 5e-6, warmupSteps: 10, totalSteps: 300)
/// optimizer.learningRate = schedule.lr(at: step)
/// ```
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    /// The same rate at every step.
    case constant(lr: Float)
    /// Linear from 0 to `lr` over `warmupSteps`, then constant
    /// (`get_constant_schedule_with_warmup`).
    case linearWarmup(lr: Float, warmupSteps: Int)
    /// Linear warmup, then half a cosine from `lr` down to `minLR` at `totalSteps`
    /// (`get_cosine_with_min_lr_schedule_with_warmup`, OpenRLHF's default scheduler); `minLR`
    /// defaults to `0.1 · lr` as OpenRLHF sets it. Past `totalSteps` the cosine goes on, as in
    /// HuggingFace.
    case cosineWithMinLR(lr: Float, warmupSteps: Int, totalSteps: Int, minLR: Float? = nil)

    /// The rate for the optimizer step with index `step` (0-based).
    public func lr(at step: Int) -> Float {
        switch self {
        case .constant(let lr):
            return lr
        case .linearWarmup(let lr, let warmup):
            return Float(widened(lr) * warmupFactor(step, warmup))
        case .cosineWithMinLR(let lr, let warmup, let total, let minLR):
            let base = widened(lr)
            if step < warmup { return Float(base * warmupFactor(step, warmup)) }
            let minRate = minLR.map { widened($0) / base } ?? 0.1
            let progress = Double(step - warmup) / Double(max(1, total - warmup))
            // num_cycles = 0.5: half a cosine over the decay steps.
            var factor = 0.5 * (1 + cos(Double.pi * 0.5 * 2 * progress))
            factor = factor * (1 - minRate) + minRate
            return Float(base * max(0, factor))
        }
    }

    /// The warmup steps of the schedule (0 for none).
    public var warmupSteps: Int {
        switch self {
        case .constant: return 0
        case .linearWarmup(_, let w), .cosineWithMinLR(_, let w, _, _): return w
        }
    }
}

/// `step / max(1, warmup)` during warmup, else 1.
private func warmupFactor(_ step: Int, _ warmup: Int) -> Double {
    step < warmup ? Double(step) / Double(max(1, warmup)) : 1
}
