import Alignment

// Each trainer's defaults, the ones recipes and the generated Swift API show: the options types'
// own defaults (OpenRLHF's), with batch sizes and learning rates that suit the small models and
// synthetic tasks this runs on. A default is declared here or in the options type, never twice.

extension TrainingOptions {
    /// An offline trainer's defaults with peak learning rate `learningRate`.
    public static func defaults(learningRate: Double) -> TrainingOptions {
        var o = TrainingOptions()
        o.learningRate = learningRate
        o.microTrainBatchSize = 16
        o.trainBatchSize = 64
        return o
    }

    public static let sft = defaults(learningRate: 1e-3)
    public static let rewardModel = defaults(learningRate: 1e-3)
    public static let dpo = defaults(learningRate: 5e-4)
    public static let kto = defaults(learningRate: 5e-4)
    public static let kd = defaults(learningRate: 1e-3)
    public static let prm = defaults(learningRate: 1e-3)
}

extension PPOOptions {
    /// The defaults of online RL with `estimator`: 16 prompts a rollout, 4 samples each for the
    /// group estimators (1 otherwise), 16-token responses, one learning rate of 1e-4 for actor and
    /// critic, held constant.
    public static func defaults(_ estimator: AdvantageEstimator) -> PPOOptions {
        var o = PPOOptions()
        o.advantageEstimator = estimator
        o.nSamplesPerPrompt = estimator.usesGroups ? 4 : 1
        o.rolloutBatchSize = 16
        o.microRolloutBatchSize = 16
        o.generateMaxLen = 16
        o.actorLearningRate = 1e-4
        o.criticLearningRate = 1e-4
        o.microTrainBatchSize = 16
        o.trainBatchSize = 64
        o.evalSteps = 0
        o.training.lrWarmupRatio = 0
        o.training.lrScheduler = .constant
        return o
    }
}
