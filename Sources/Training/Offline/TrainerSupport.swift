import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors

// The epoch/step driver every offline trainer shares (SFT, reward model, DPO, KTO, KD, PRM), and
// the pieces an online trainer can reuse: metric sums, evaluation scheduling, checkpoints with
// resume, activation statistics.
//
// One optimizer step takes `trainBatchSize` samples from the sampler and hands them to the trainer
// `microTrainBatchSize` at a time. The step's global denominator (its target tokens, sequences or
// pairs) is counted over ALL of the step's samples before the first micro-batch runs, so every
// micro-batch's loss is `sum / denominator` and the micro-batch gradients add up to the gradient of
// one mean over the whole step: accumulating k micro-batches equals one k× batch.

// MARK: - Results

/// One evaluation: the training step it followed (0 = before training) and its metrics.
public struct EvalRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var metrics: [String: Double]

    public init(step: Int, metrics: [String: Double]) {
        self.step = step
        self.metrics = metrics
    }
}

/// What a trainer returns: the steps it ran, the last step's metrics and every evaluation.
public struct TrainingSummary: Sendable {
    /// The stage's name in the run file (`sft`, `dpo_2`, ...).
    public var stage: String
    /// Optimizer steps completed, including those before a resume.
    public var steps: Int
    /// The steps the run was planned for.
    public var totalSteps: Int
    /// The metrics of the last step (loss, lr, grad_norm, and the trainer's own).
    public var metrics: [String: Double]
    /// Every evaluation, in order; the first is at step 0 (before training) when there is eval data.
    public var evalHistory: [EvalRecord]
    /// The checkpoint step the run resumed from, if it did.
    public var resumedFromStep: Int?
    /// Whether the caller stopped the run (through `RunContext.onProgress`) before `totalSteps`.
    public var stopped: Bool

    /// The metrics of the last evaluation.
    public var finalEval: [String: Double]? { evalHistory.last?.metrics }
    /// The metrics of the first evaluation (before training, unless resumed past it).
    public var initialEval: [String: Double]? { evalHistory.first?.metrics }
}

// MARK: - Metric sums

/// Sums of metrics over micro-batches (or eval batches): each metric is a mean `sum / count`, or a
/// total that the micro-batches' shares add up to.
///
/// Adding happens in micro-batch order, so the result is deterministic.
public struct MetricSums: Sendable, Codable {
    private var sums: [String: Double] = [:]
    private var counts: [String: Double] = [:]
    private var totals: [String: Double] = [:]

    public init() {}

    /// Adds `sum` over `count` items to the mean `name`.
    public mutating func add(_ name: String, sum: Double, count: Double) {
        sums[name, default: 0] += sum
        counts[name, default: 0] += count
    }

    /// Adds each value of `values` as one item of the mean `name`.
    public mutating func add(_ name: String, values: [Float]) {
        add(name, sum: values.reduce(0.0) { $0 + Double($1) }, count: Double(values.count))
    }

    /// Adds a share of the total `name` (e.g. a micro-batch's part of a global-denominator loss).
    public mutating func addTotal(_ name: String, _ value: Double) {
        totals[name, default: 0] += value
    }

    /// Adds everything `other` holds.
    public mutating func merge(_ other: MetricSums) {
        for (k, v) in other.sums { sums[k, default: 0] += v }
        for (k, v) in other.counts { counts[k, default: 0] += v }
        for (k, v) in other.totals { totals[k, default: 0] += v }
    }

    /// The sum of the mean `name` (nil if never added).
    public func sum(_ name: String) -> Double? { sums[name] }

    /// Each mean (metrics with a count of 0 are left out) and each total.
    public var values: [String: Double] {
        var result = totals
        for (k, s) in sums where (counts[k] ?? 0) > 0 { result[k] = s / counts[k]! }
        return result
    }
}

// MARK: - Micro-batches

/// One micro-batch of an optimizer step, as the driver hands it to a trainer.
public struct MicroBatch<Example> {
    /// The micro-batch's samples.
    public let examples: [Example]
    /// Their indices in the training data (to look up per-sample caches such as reference log-probs).
    public let indices: [Int]
    /// The position of this micro-batch in its step (0 first).
    public let index: Int
    /// Every sample of the step, in order; the micro-batches are consecutive slices of it.
    public let step: [Example]
    /// The step's global denominator: what `denominator` counted over `step`.
    public let denominator: Int
    /// Token or sequence mean (`TrainingOptions.lossAggregation`).
    public let level: LossAggregation.Level
    /// Whether this pass should record activation statistics (the first micro-batch of a step whose
    /// statistics are kept).
    public let recordsActivations: Bool

    /// The loss aggregation over the step's global denominator.
    public var aggregation: LossAggregation { LossAggregation(level: level, denominator: denominator) }
}

/// What a trainer's micro-batch pass returns to the driver.
public struct MicroResult: Codable {
    /// This micro-batch's share of the step loss (the shares add up to the step loss).
    public var loss: Double
    /// Further metrics (means and totals) of the micro-batch.
    public var metrics: MetricSums
    /// Tokens processed, for throughput.
    public var tokens: Int

    public init(loss: Double, metrics: MetricSums = MetricSums(), tokens: Int = 0) {
        self.loss = loss
        self.metrics = metrics
        self.tokens = tokens
    }
}

// MARK: - The driver

/// Runs an offline trainer: epochs of shuffled samples, optimizer steps of micro-batches with one
/// global denominator per step; evaluation, checkpoints, resume, progress and stopping come from
/// the ``StageRunner`` every trainer shares.
///
/// A trainer builds a driver for its parameters and data, then calls ``run(denominator:micro:evaluate:)``
/// with three closures: what to count over a step, how to run one micro-batch's forward and
/// backward, and how to evaluate. Everything else — the sampler, the schedule, recording, eval and
/// checkpoint cadence, resuming bit for bit — is shared.
///
/// ```swift
/// let driver = try TrainingDriver(kind: "sft", data: data, eval: eval, options: options,
///                                 parameters: model.trainableParameters(), transformer: model.transformer,
///                                 config: [:], loadCheckpoint: false, context: context)
/// return try driver.run(
///     denominator: { step in step.reduce(0) { $0 + tokens($1) } },
///     micro: { mb in
///         let loss = try lossOf(mb.examples, aggregation: mb.aggregation)
///         try loss.backward()
///         return MicroResult(loss: Double(try loss.item))
///     },
///     evaluate: { eval in try evaluate(model, eval) })
/// ```
///
/// Steps: an epoch yields `data.count / trainBatchSize` steps (an incomplete last batch is dropped,
/// as OpenRLHF does); the run lasts `maxEpochs` epochs or `maxSteps` steps, whichever is fewer.
///
/// Evaluation: before the first step (step 0), every `evalSteps` steps and after the last; each is
/// recorded under `/<stage>/eval` and reported as ``TrainingProgress/eval(stage:step:metrics:)``.
///
/// Checkpoints: every `saveSteps` steps, and a final one at the end, into `ckptPath/step_N`
/// (``CheckpointFolder``): the weights and AdamW state under `model/`, the sampler cursor, the
/// random stream and the eval history in `state.json`, and the run file as of that step. Resuming
/// (`loadCheckpoint`, or the context's ``ResumePolicy``) restores the newest one and replays the
/// stage's history into the new run file, so an interrupted and resumed run records the same
/// datasets as an uninterrupted one (wall-clock timings aside).
public final class TrainingDriver<Example> {
    /// The stage (its name, recorder and random stream).
    public let stage: Stage
    /// The options the run uses.
    public let options: TrainingOptions
    /// The optimizer loop (parameters, AdamW, schedule, step count).
    public let loop: OptimizerLoop
    /// The training samples.
    public let data: [Example]
    /// The held-out samples (may be empty: no evaluation).
    public let evalData: [Example]
    /// Optimizer steps per epoch.
    public let stepsPerEpoch: Int
    /// Optimizer steps of the whole run.
    public let totalSteps: Int
    /// The sample order; its cursor is saved with every checkpoint.
    public private(set) var sampler: Sampler
    /// Every evaluation so far.
    public var evalHistory: [EvalRecord] { runner.evalHistory }

    private let transformers: [Transformer]
    private let runner: StageRunner<OfflineState>

    /// Opens the stage and checks the options.
    ///
    /// - Parameters:
    ///   - kind: The stage kind (`sft`, `rm`, `dpo`, `kto`, `kd`, `prm`); the stage is named after it.
    ///   - parameters: The trained parameters (HF names).
    ///   - transformer: The trained model's stack, whose activations are recorded.
    ///   - config: The trainer's own options for the run file, added to `options.configValues`.
    ///   - loadCheckpoint: Resume from the latest checkpoint in `options.ckptPath` when there is one
    ///     (as `options.loadCheckpoint` does).
    /// - Throws: ``TrainingError/invalidOption(_:_:)`` or ``TrainingError/invalidData(_:)``.
    public init(
        kind: String, data: [Example], eval: [Example], options: TrainingOptions,
        parameters: [(name: String, tensor: Tensor)], transformer: Transformer?,
        config: [String: ConfigValue], loadCheckpoint: Bool, context: RunContext
    ) throws {
        let loadCheckpoint = loadCheckpoint || options.loadCheckpoint
        var options = options
        options.loadCheckpoint = loadCheckpoint
        try options.validate()
        if options.useLigerKernel == true && kind != "sft" {
            throw TrainingError.invalidOption("useLigerKernel", "fuses the LM head with the SFT loss only; remove it from this \(kind) stage")
        }
        if let maxSteps = options.maxSteps, maxSteps < 1 {
            throw TrainingError.invalidOption("maxSteps", "must be ≥ 1 (or nil), got \(maxSteps)")
        }
        guard !parameters.isEmpty else {
            throw TrainingError.invalidOption("model", "has no trainable parameters (is it frozen?)")
        }
        guard !data.isEmpty else { throw TrainingError.invalidData("\(kind): the training data is empty") }
        if let config = transformer?.config {
            try MemoryBudget.check(
                trainingBytes(config, trainable: parameters.reduce(0) { $0 + $1.tensor.count }, options: options),
                for:
                    "\(kind): training \(config.parameterCount) parameters at microTrainBatchSize \(options.microTrainBatchSize) × maxLen \(options.maxLen)"
            )
        }
        guard data.count >= options.trainBatchSize else {
            throw TrainingError.invalidData(
                "\(kind): \(data.count) training samples are fewer than trainBatchSize \(options.trainBatchSize); lower trainBatchSize or add data")
        }
        self.data = data
        self.evalData = eval
        self.options = options
        transformers = transformer.map { [$0] } ?? []
        stepsPerEpoch = data.count / options.trainBatchSize
        totalSteps = Swift.min(options.maxEpochs * stepsPerEpoch, options.maxSteps ?? Int.max)
        var values = options.configValues
        values["load_checkpoint"] = .bool(loadCheckpoint)
        values["train_samples"] = .int(data.count)
        values["eval_samples"] = .int(eval.count)
        values["total_steps"] = .int(totalSteps)
        for (k, v) in config { values[k] = v }
        stage = try context.beginStage(kind, config: values, statsEvery: options.statsEvery)
        do {
            loop = try OptimizerLoop(parameters: parameters, options: options, totalSteps: totalSteps, stage: stage)
        } catch {
            throw stage.fail(error, step: nil)
        }
        sampler = Sampler(count: data.count, rng: stage.rng.fork("sampler"))
        runner = StageRunner(
            kind: kind, stage: stage, models: [CheckpointedModel(role: "model", loop: loop)], totalSteps: totalSteps,
            evalEvery: options.evalSteps, saveSteps: options.saveSteps, ckptPath: options.ckptPath,
            maxCkptNum: options.maxCkptNum, loadCheckpoint: loadCheckpoint)
    }

    /// Trains to the end (or until the caller stops), evaluating and checkpointing on the way.
    ///
    /// - Parameters:
    ///   - denominator: The global denominator of a step, counted over all its samples: target
    ///     tokens (token mean), sequences (sequence mean) or pairs (pairwise losses). Must be > 0.
    ///   - micro: Runs one micro-batch's forward and backward with `mb.aggregation`, returning its
    ///     share of the step loss and its metrics.
    ///   - evaluate: Computes the eval metrics over the eval data (called under `Tensor.withNoGrad`);
    ///     nil, or empty eval data, skips evaluation.
    /// - Returns: The summary; ``TrainingSummary/stopped`` says whether the caller stopped early.
    /// - Throws: ``TrainingError``, or the trainer's error; the error is also recorded in the run file.
    public func run(
        denominator: ([Example]) throws -> Int,
        micro: (MicroBatch<Example>) throws -> MicroResult,
        evaluate: (([Example]) throws -> [String: Double])?
    ) throws -> TrainingSummary {
        let evalData = evalData
        var evaluation: (() throws -> [String: Double])? = nil
        if let evaluate, !evalData.isEmpty { evaluation = { try Tensor.withNoGrad { try evaluate(evalData) } } }
        let stopped = try runner.run(
            extra: { OfflineState(trainBatchSize: options.trainBatchSize, samples: data.count, sampler: sampler, rng: stage.rng) },
            restore: { saved, directory in try restore(saved, from: directory) },
            step: { stepNumber in try step(stepNumber, denominator: denominator, micro: micro) },
            evaluate: evaluation)
        return TrainingSummary(
            stage: stage.name, steps: loop.step, totalSteps: totalSteps, metrics: runner.metrics,
            evalHistory: runner.evalHistory, resumedFromStep: runner.resumedFromStep, stopped: stopped)
    }

    /// One optimizer step: the next `trainBatchSize` samples, in micro-batches.
    private func step(
        _ stepNumber: Int, denominator: ([Example]) throws -> Int,
        micro: (MicroBatch<Example>) throws -> MicroResult
    ) throws -> StepEnd {
        let remaining = sampler.count - sampler.cursor
        if remaining > 0 && remaining < options.trainBatchSize { _ = sampler.next(remaining) }  // drop the last
        let indices = sampler.next(options.trainBatchSize)
        let batch = indices.map { data[$0] }
        let count: Int
        do { count = try denominator(batch) } catch { throw stage.fail(error, step: stepNumber) }
        guard count > 0 else {
            throw stage.fail(
                TrainingError.invalidData("\(stage.name): step \(stepNumber) has nothing to train on (its denominator is 0)"),
                step: stepNumber)
        }
        let recordsStatistics = stage.recorder?.recordsStatistics(atStep: stepNumber) ?? false
        do {
            runner.metrics = try loop.step {
                var loss = 0.0, tokens = 0
                var sums = MetricSums()
                let size = options.microTrainBatchSize
                let starts = Array(stride(from: 0, to: batch.count, by: size))
                let results = try runMicroBatches(starts.count, parameters: loop.parameters.map(\.tensor), world: stage.context.world) { i in
                    let start = starts[i], end = Swift.min(starts[i] + size, batch.count)
                    return try micro(
                        MicroBatch(
                            examples: Array(batch[start..<end]), indices: Array(indices[start..<end]), index: i,
                            step: batch, denominator: count, level: options.lossAggregation,
                            recordsActivations: recordsStatistics && i == 0))
                }
                for result in results {
                    loss += result.loss
                    tokens += result.tokens
                    sums.merge(result.metrics)
                }
                return OptimizerLoop.StepResult(loss: loss, metrics: sums.values, tokens: tokens)
            }
        } catch TrainingError.stopped {
            // The step was recorded and reported before the loop threw; finish it (evaluation,
            // checkpoint) as an uninterrupted run would, then end the stage.
            return .stopAfter
        }
        return .next
    }

    /// Runs `body` (a forward pass of the trained model) while recording the activation statistics
    /// of every layer, when `micro` is the micro-batch whose statistics the step keeps.
    ///
    /// Only real tokens count: positions where `keyMask` is false (padding) are left out.
    public func recordingActivations<T>(_ micro: MicroBatch<Example>, keyMask: [Bool]?, _ body: () throws -> T) throws -> T {
        guard micro.recordsActivations, let recorder = stage.recorder, !transformers.isEmpty else { return try body() }
        var failure: Error?
        let previous = transformers.map(\.activationHook)
        for transformer in transformers {
            transformer.activationHook = { name, x in
                let width = x.shape.last ?? 1
                do {
                    if let keyMask, keyMask.count * width == x.count, keyMask.contains(false) {
                        var kept: [Float] = []
                        kept.reserveCapacity(x.count)
                        for (row, real) in keyMask.enumerated() where real { kept += x.data[(row * width)..<((row + 1) * width)] }
                        try kept.withUnsafeBufferPointer { try recorder.record(activation: name, values: $0) }
                    } else {
                        try x.data.withUnsafeBufferPointer { try recorder.record(activation: name, values: $0) }
                    }
                } catch {
                    if failure == nil { failure = error }
                }
            }
        }
        defer { for (transformer, hook) in zip(transformers, previous) { transformer.activationHook = hook } }
        let result = try body()
        if let failure { throw failure }
        return result
    }

    // MARK: Checkpoints

    /// The driver's own part of a checkpoint.
    struct OfflineState: Codable {
        var trainBatchSize: Int
        var samples: Int
        /// The sample order and cursor.
        var sampler: Sampler
        /// The stage's stream (from the seed); a resume must have the same.
        var rng: RNG
    }

    /// Checks that a checkpoint fits this run and restores the sampler.
    private func restore(_ saved: OfflineState, from directory: URL) throws {
        func mismatch(_ what: String, _ old: Any, _ now: Any) -> TrainingError {
            .checkpoint(
                "\(directory.path) was written with \(what) \(old), this run has \(now); resume with the same data and options, or use another ckptPath"
            )
        }
        guard saved.samples == data.count else { throw mismatch("training samples", saved.samples, data.count) }
        guard saved.trainBatchSize == options.trainBatchSize else {
            throw mismatch("trainBatchSize", saved.trainBatchSize, options.trainBatchSize)
        }
        guard saved.rng == stage.rng else {
            throw TrainingError.checkpoint(
                "\(directory.path) was written by a run with another seed; resume with the same seed, or use another ckptPath")
        }
        sampler = saved.sampler
    }
}

/// An estimate of the bytes a training stage holds: the model's weights, the trainable
/// parameters' gradients and AdamW moments, and one micro-batch's activations and logits (each
/// block keeps about 16 hidden-size and 4 MLP-size values per token for the backward pass).
func trainingBytes(_ config: ModelConfig, trainable: Int, options: TrainingOptions) -> Double {
    let tokens = Double(options.microTrainBatchSize) * Double(options.maxLen)
    let perToken = Double(config.layers) * (16 * Double(config.hiddenSize) + 4 * Double(config.intermediateSize)) + 3 * Double(config.vocabSize)
    return 4 * (Double(config.parameterCount) + 3 * Double(trainable) + tokens * perToken)
}
