import Alignment
import Foundation

/// Options every trainer shares, named as OpenRLHF names its flags (in Swift case).
///
/// `trainBatchSize` samples make one optimizer step, processed `microTrainBatchSize` at a time;
/// the loss of a step is one exact mean over all of them (`lossAggregation`: one mean over every
/// valid token of the step, or over its sequences, each a mean over its tokens), so gradient
/// accumulation never changes the result.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var learningRate: Double = 5e-6
    public var microTrainBatchSize: Int = 8
    public var trainBatchSize: Int = 32
    public var maxEpochs: Int = 1
    /// Stop after this many optimizer steps (nil: run every epoch).
    public var maxSteps: Int? = nil
    /// Global gradient-norm clip (0 disables).
    public var maxNorm: Double = 1.0
    /// Decoupled weight decay (AdamW).
    public var l2: Double = 0
    public var adamBetas: [Double] = [0.9, 0.95]
    public var lrWarmupRatio: Double = 0.03
    /// `cosine_with_min_lr` (default, min LR = 0.1 × LR), `constant`, or `constant_with_warmup`.
    public var lrScheduler: String = "cosine_with_min_lr"
    /// Evaluate every this many steps (and at the end); 0 or less: only at the end.
    public var evalSteps: Int = 0
    /// Write a checkpoint every this many steps into `ckptPath` (0 or less: never).
    public var saveSteps: Int = 0
    public var ckptPath: String? = nil
    /// Record parameter statistics every this many steps.
    public var statsEvery: Int = 1
    public var maxLen: Int = 512
    public var packing: Bool = false
    public var lossAggregation: LossAggregation.Level = .token

    public init() {}

    /// Checks the options, naming the first that is wrong and how to fix it.
    public func validate() throws {
        func fail(_ name: String, _ message: String) throws { throw TrainingError.invalidOption(name, message) }
        if !(learningRate > 0) { try fail("learningRate", "must be > 0, got \(learningRate)") }
        if microTrainBatchSize < 1 { try fail("microTrainBatchSize", "must be ≥ 1, got \(microTrainBatchSize)") }
        if trainBatchSize < microTrainBatchSize || trainBatchSize % microTrainBatchSize != 0 {
            try fail("trainBatchSize", "must be a multiple of microTrainBatchSize (\(microTrainBatchSize)), got \(trainBatchSize)")
        }
        if maxEpochs < 1 { try fail("maxEpochs", "must be ≥ 1, got \(maxEpochs)") }
        if adamBetas.count != 2 || !adamBetas.allSatisfy({ $0 >= 0 && $0 < 1 }) {
            try fail("adamBetas", "must be two numbers in [0, 1), got \(adamBetas)")
        }
        if !(0...1).contains(lrWarmupRatio) { try fail("lrWarmupRatio", "must be in [0, 1], got \(lrWarmupRatio)") }
        if !["cosine_with_min_lr", "constant", "constant_with_warmup"].contains(lrScheduler) {
            try fail("lrScheduler", "unknown schedule '\(lrScheduler)'; use cosine_with_min_lr, constant or constant_with_warmup")
        }
        if statsEvery < 1 { try fail("statsEvery", "must be ≥ 1, got \(statsEvery)") }
        if maxLen < 2 { try fail("maxLen", "must be ≥ 2, got \(maxLen)") }
    }

    /// The schedule for a run of `totalSteps` optimizer steps.
    public func schedule(totalSteps: Int) -> LearningRateSchedule {
        let warmup = Int((lrWarmupRatio * Double(totalSteps)).rounded(.up))
        switch lrScheduler {
        case "constant": return .constant(lr: Float(learningRate))
        case "constant_with_warmup": return .linearWarmup(lr: Float(learningRate), warmupSteps: warmup)
        default: return .cosineWithMinLR(lr: Float(learningRate), warmupSteps: warmup, totalSteps: totalSteps)
        }
    }
}

/// Errors from training: a bad option, a diverged loss, bad data reaching a trainer.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String, String)
    case nonFiniteLoss(stage: String, step: Int, detail: String)
    case invalidData(String)
    case checkpoint(String)
    case stopped(stage: String, step: Int)

    public var description: String {
        switch self {
        case .invalidOption(let name, let message): return "option '\(name)' \(message)"
        case .nonFiniteLoss(let stage, let step, let detail):
            return "\(stage): the loss is not finite at step \(step) (\(detail)); lower learningRate or maxNorm, or check the data"
        case .invalidData(let message): return message
        case .checkpoint(let message): return "checkpoint: \(message)"
        case .stopped(let stage, let step): return "\(stage): stopped at step \(step)"
        }
    }
}
