import Alignment
import Foundation

/// Options every trainer shares, named as OpenRLHF names its flags (in Swift case).
///
/// `trainBatchSize` samples make one optimizer step, processed `microTrainBatchSize` at a time;
/// the loss of a step is one exact mean over all of them (`lossAggregation`: one mean over every
/// valid token of the step, or over its sequences, each a mean over its tokens), so gradient
/// accumulation never changes the result.
///
/// The defaults here are OpenRLHF's; each trainer's `defaults` (e.g. `TrainingOptions.sft`) sets
/// the few that differ for the small models this runs on, and those are what recipes show. Every
/// field is a row of `options`, which docs, checks and records it.
public struct TrainingOptions: Codable, Equatable, Sendable, DeclaredOptions {
    public var learningRate: Double = 5e-6
    public var microTrainBatchSize: Int = 8
    public var trainBatchSize: Int = 32
    public var maxEpochs: Int = 1
    public var maxSteps: Int? = nil
    public var maxNorm: Double = 1.0
    public var l2: Double = 0
    public var adamBetas: [Double] = [0.9, 0.95]
    public var lrWarmupRatio: Double = 0.03
    public var lrScheduler: LRScheduler = .cosineWithMinLR
    public var evalSteps: Int = 0
    public var saveSteps: Int = 0
    public var ckptPath: String? = nil
    public var maxCkptNum: Int = 3
    public var loadCheckpoint: Bool = false
    public var statsEvery: Int = 1
    public var maxLen: Int = 512
    public var packing: Bool = false
    public var lossAggregation: LossAggregation.Level = .token
    public var gradientCheckpointing: Bool? = nil
    public var useLigerKernel: Bool? = nil

    public init() {}

    public static let options: [OptionRow<TrainingOptions>] = [
        .int("maxEpochs", \.maxEpochs, "Passes over the data.", check: between(1, 1_000_000)),
        .double("learningRate", \.learningRate, "Peak learning rate (AdamW).", check: positive),
        .int("microTrainBatchSize", \.microTrainBatchSize, "Samples per forward/backward.", check: between(1, 65_536)),
        .int("trainBatchSize", \.trainBatchSize, "Samples per optimizer step (one exact mean).") { n, o in
            n >= o.microTrainBatchSize && n % o.microTrainBatchSize == 0 && n <= 1 << 24
                ? nil : "must be a multiple of microTrainBatchSize (\(o.microTrainBatchSize)), at most 16_777_216, got \(n)"
        },
        .int("maxLen", \.maxLen, "Longest sequence in tokens; longer samples are cut.", check: between(2, 1_048_576)),
        .bool("packing", \.packing, flag: "packing_samples", "Pack samples into rows (no padding, no cross-sample attention)."),
        .choice("lossAggregation", \.lossAggregation, "One mean over the step's tokens, or over its sequences."),
        .bool(
            "gradientCheckpointing", \.gradientCheckpointing,
            "Keep only each block's input and recompute the block in the backward: less memory, same gradients, more time."),
        .bool(
            "useLigerKernel", \.useLigerKernel,
            "SFT: the LM head fused with its loss, 256 positions at a time, never the full logits (Liger's fused linear cross-entropy)."),
        .double("maxNorm", \.maxNorm, "Gradient-norm clip (0: off).", check: nonNegative),
        .double("l2", \.l2, "Decoupled weight decay (AdamW).", check: nonNegative),
        .doubles("adamBetas", \.adamBetas, "AdamW's β1 and β2.") { b, _ in
            b.count == 2 && b.allSatisfy({ $0 >= 0 && $0 < 1 }) ? nil : "must be two numbers in [0, 1), got \(b)"
        },
        .double("lrWarmupRatio", \.lrWarmupRatio, "Share of the steps warming up.", check: unitInterval),
        .choice("lrScheduler", \.lrScheduler, "How the learning rate moves over the steps."),
        .int("evalSteps", \.evalSteps, "Evaluate every this many steps (0: before and after).", check: between(-1, 1_000_000_000)),
        .int("statsEvery", \.statsEvery, "Record parameter statistics every this many steps.", check: atLeast(1)),
        .int("maxSteps", \.maxSteps, "Stop after this many steps (nil: every epoch).", check: between(1, 1_000_000_000)),
        .int("saveSteps", \.saveSteps, "Write a checkpoint into ckptPath every this many steps (0: never).", check: between(-1, 1_000_000_000)),
        .string("ckptPath", \.ckptPath, "The checkpoint folder (default under rlhf run: <out>/checkpoints/<stage>).") { path, o in
            !(path ?? "").isEmpty || !o.loadCheckpoint ? nil : "is needed by loadCheckpoint; give the checkpoint folder"
        },
        .int("maxCkptNum", \.maxCkptNum, "Checkpoints kept (the newest).", check: between(1, 10_000)),
        .bool("loadCheckpoint", \.loadCheckpoint, "Resume from the newest checkpoint in ckptPath when there is one."),
    ]

    /// The schedule for a run of `totalSteps` optimizer steps.
    public func schedule(totalSteps: Int) -> LearningRateSchedule {
        let warmup = Int((lrWarmupRatio * Double(totalSteps)).rounded(.up))
        switch lrScheduler {
        case .constant: return .constant(lr: Float(learningRate))
        case .constantWithWarmup: return .linearWarmup(lr: Float(learningRate), warmupSteps: warmup)
        case .cosineWithMinLR: return .cosineWithMinLR(lr: Float(learningRate), warmupSteps: warmup, totalSteps: totalSteps)
        }
    }
}

/// OpenRLHF's `--lr_scheduler`.
public enum LRScheduler: String, Codable, Sendable, OptionChoice {
    case cosineWithMinLR = "cosine_with_min_lr"
    case constant
    case constantWithWarmup = "constant_with_warmup"

    public var doc: String {
        switch self {
        case .cosineWithMinLR: return "Warm up, then half a cosine down to 0.1 × the rate (OpenRLHF's default)."
        case .constant: return "The same rate at every step (no warm-up)."
        case .constantWithWarmup: return "Warm up linearly, then constant."
        }
    }
}

extension LossAggregation.Level: OptionChoice {
    public static var typeName: String { "LossAggregation" }

    public var doc: String {
        switch self {
        case .token: return "One mean over every valid token of the step (OpenRLHF's token-level loss)."
        case .sequence: return "The mean over sequences of each sequence's token mean."
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
