import Distributed
import Foundation
import Recording
import Tensors

/// One optimizer step at a time: zero the gradients, let the trainer accumulate every micro-batch,
/// clip, update, and record the step — metrics, wall-clock timings (`time_step_s`,
/// `time_tokens_per_s`) and value, gradient and update statistics of every parameter — into the
/// stage's run-file group.
///
/// ```swift
/// let loop = try OptimizerLoop(parameters: model.trainableParameters, options: options,
///                              totalSteps: steps, stage: stage)
/// let metrics = try loop.step { () -> StepResult in
///     for micro in microBatches { try (lossOf(micro) * (1 / Float(totalTokens))).backward() }
///     return StepResult(loss: total, metrics: [...], tokens: totalTokens)
/// }
/// ```
public final class OptimizerLoop {
    /// The trained tensors with their names (HuggingFace names).
    public let parameters: [(name: String, tensor: Tensor)]
    public let optimizer: AdamW
    public let schedule: LearningRateSchedule
    public let options: TrainingOptions
    public let stage: Stage
    public let totalSteps: Int
    /// Optimizer steps completed.
    public internal(set) var step = 0

    public init(
        parameters: [(name: String, tensor: Tensor)], options: TrainingOptions, totalSteps: Int,
        stage: Stage
    ) throws {
        try options.validate()
        self.parameters = parameters
        self.options = options
        self.totalSteps = totalSteps
        self.stage = stage
        schedule = options.schedule(totalSteps: totalSteps)
        ResidentMemory.resetPeak()
        Tensor.resetLargestActivation()
        for (name, tensor) in parameters where tensor.name == nil { tensor.name = name }
        optimizer = AdamW(
            // The schedule owns the rate: every step sets it, starting from its value at step 0.
            parameters: parameters.map(\.tensor), learningRate: schedule.lr(at: 0),
            betas: (Float(options.adamBetas[0]), Float(options.adamBetas[1])), eps: 1e-8,
            weightDecay: Float(options.l2),
            excludeFromWeightDecay: { t in
                let name = t.name ?? ""
                return name.hasSuffix("bias") || name.contains("norm") || name.contains("ln_")
            })
    }

    /// What a trainer's micro-batch pass returns for one step.
    public struct StepResult {
        /// The step's loss (the exact mean over all its micro-batches).
        public var loss: Double
        /// Further metrics (accuracy, rewards, ...), recorded as they are.
        public var metrics: [String: Double]
        /// Tokens processed, for throughput.
        public var tokens: Int

        public init(loss: Double, metrics: [String: Double] = [:], tokens: Int = 0) {
            self.loss = loss
            self.metrics = metrics
            self.tokens = tokens
        }
    }

    /// Runs one optimizer step; `accumulate` runs every micro-batch's forward and backward.
    /// Returns the recorded metrics. Throws (after recording the error) on a non-finite loss.
    @discardableResult
    public func step(_ accumulate: () throws -> StepResult) throws -> [String: Double] {
        let stepNumber = step + 1
        for (_, t) in parameters { t.grad = nil }
        let lr = schedule.lr(at: step)
        optimizer.learningRate = lr
        let started = DispatchTime.now().uptimeNanoseconds
        let result: StepResult
        do {
            result = try Tensor.withBlockRecompute(options.gradientCheckpointing ?? false) { try accumulate() }
        } catch {
            throw stage.fail(error, step: stepNumber)
        }
        guard result.loss.isFinite else {
            throw stage.fail(
                TrainingError.nonFiniteLoss(stage: stage.name, step: stepNumber, detail: "loss = \(result.loss)"),
                step: stepNumber)
        }
        let gradNorm: Float
        if options.maxNorm > 0 {
            gradNorm = clipGradNorm(parameters.map(\.tensor), maxNorm: Float(options.maxNorm))
        } else {
            gradNorm = clipGradNorm(parameters.map(\.tensor), maxNorm: .infinity)
        }
        guard gradNorm.isFinite else {
            throw stage.fail(
                TrainingError.nonFiniteLoss(stage: stage.name, step: stepNumber, detail: "gradient norm = \(gradNorm)"),
                step: stepNumber)
        }
        let recordStats = stage.recorder?.recordsStatistics(atStep: stepNumber) ?? false
        let gradientStatistics = recordStats ? statistics { $0.grad?.data } : []
        // A recorded step's gradients become its updates (new − old value): no copy of the parameters.
        optimizer.step(updatesIntoGradients: recordStats)
        step = stepNumber
        var metrics = result.metrics
        metrics["loss"] = result.loss
        metrics["lr"] = Double(lr)
        metrics["grad_norm"] = Double(gradNorm)
        if let recorder = stage.recorder, recordStats {
            let values = statistics { $0.data }, updates = statistics { $0.grad?.data }
            for (index, (name, tensor)) in parameters.enumerated() {
                try recorder.record(tensor: name, kind: .value, stats: values[index]!)
                if let stats = gradientStatistics[index] { try recorder.record(tensor: name, kind: .grad, stats: stats) }
                // A parameter without a gradient did not change.
                try recorder.record(tensor: name, kind: .update, stats: updates[index] ?? TensorStatistics(zerosOf: tensor.count))
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if let recorder = stage.recorder {
            try recorder.record(metrics: metrics)
            var timing = ["time_step_s": seconds, "time_tokens_per_s": result.tokens > 0 ? Double(result.tokens) / seconds : 0]
            // Data parallel: the time spent exchanging gradients and results with the other ranks.
            if stage.context.world.usesMPI { timing["time_collectives_s"] = stage.context.world.takeCollectiveSeconds() }
            // Since the stage started: the process's peak resident bytes, the largest tensor an operation returned.
            timing["peak_rss_bytes"] = Double(ResidentMemory.peakBytes)
            timing["largest_activation_bytes"] = Double(Tensor.largestActivationCount * MemoryLayout<Float>.size)
            try recorder.record(timing: timing)
            try recorder.commit(step: stepNumber)
        }
        if stage.report(.step(stage: stage.name, step: stepNumber, totalSteps: totalSteps, metrics: metrics, tokens: result.tokens)) {
            throw TrainingError.stopped(stage: stage.name, step: stepNumber)
        }
        return metrics
    }

    /// The statistics of one buffer of every parameter (nil where it has none), on the worker threads.
    private func statistics(of buffer: (Tensor) -> [Float]?) -> [TensorStatistics?] {
        let buffers = parameters.map { buffer($0.tensor) }
        let present = buffers.compactMap { $0 }
        var computed = TensorStatistics.of(present, threads: Parallel.threads).makeIterator()
        return buffers.map { $0 == nil ? nil : computed.next() }
    }
}
