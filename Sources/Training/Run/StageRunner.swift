import Foundation
import Recording
import Tensors

/// How one step of a stage ended.
public enum StepEnd: Sendable {
    /// Go on.
    case next
    /// The step is complete but the caller asked to stop: evaluate and checkpoint as an
    /// uninterrupted run would at this step, then end the stage.
    case stopAfter
    /// The caller stopped the stage inside the step: the step does not count, nothing more runs.
    case stopNow
}

/// The lifecycle every trainer shares, offline and online; each trainer brings its own step.
///
/// 1. resume: with `loadCheckpoint` (or the context's ``ResumePolicy/resume``), restore the newest
///    checkpoint of the stage's folder — weights and AdamW state of every model, the schedule
///    position, the eval history, the trainer's own state — and replay the stage's recorded history
///    from the checkpoint's copy of the run file into this run's file. A final checkpoint ends the
///    stage there: it trains no further.
/// 2. evaluate before the first step (step 0), when there is an evaluation;
/// 3. steps until `totalSteps` or a stop; after step n, evaluate when `n` is a multiple of
///    `evalEvery` (0: never in between) or the last, then checkpoint when `n` is a multiple of
///    `saveSteps`;
/// 4. after the last step, write the final checkpoint when the stage has a checkpoint folder.
///
/// Evaluations are recorded at the first model's optimizer step.
///
/// With a ``BestCheckpoint`` (OpenRLHF v0.9.9's `--best_metric_key`), an evaluation whose metric
/// is higher than every earlier one (the first always is) writes `ckptPath/best`, a checkpoint
/// like the others that is replaced by the next best and never pruned; every evaluation records
/// `best_step` (the stage step of that checkpoint) and `best_value` beside its metrics.
public final class StageRunner<Extra: Codable> {
    /// The trainer (`sft`, `dpo`, `grpo`, ...), checked on resume.
    public let kind: String
    /// The stage: its name, recorder, random stream and run context.
    public let stage: Stage
    /// The trained models (the first one's optimizer step numbers the evaluations).
    public let models: [CheckpointedModel]
    /// The stage's steps.
    public let totalSteps: Int
    /// Evaluate after every this many steps (and after the last); 0: only after the last.
    public let evalEvery: Int
    /// Checkpoint after every this many steps; 0 or less: only the final checkpoint.
    public let saveSteps: Int
    /// The checkpoint folder, when the stage has one.
    public let folder: CheckpointFolder?
    /// Steps completed.
    public private(set) var step = 0
    /// Every evaluation so far (those before a resume included).
    public private(set) var evalHistory: [EvalRecord] = []
    /// The summary metrics of the last step (restored on resume).
    public var metrics: [String: Double] = [:]
    /// The first model's optimizer step of the checkpoint the stage resumed from, if it did.
    public private(set) var resumedFromStep: Int?
    private let resumes: Bool
    /// The metric whose best value keeps a checkpoint, if any (set before ``run``).
    public var best: BestCheckpoint?
    /// The stage step and value of the best evaluation so far.
    public private(set) var bestSoFar: (step: Int, value: Double)?

    /// - Parameters:
    ///   - ckptPath: The stage's checkpoint folder; nil: `<checkpointRoot>/<stage name>` of the
    ///     context's resume policy, or no checkpoints.
    ///   - loadCheckpoint: Resume from the newest checkpoint when there is one (also when the
    ///     context's resume policy says so).
    public init(
        kind: String, stage: Stage, models: [CheckpointedModel], totalSteps: Int, evalEvery: Int, saveSteps: Int,
        ckptPath: String?, maxCkptNum: Int, loadCheckpoint: Bool, best: BestCheckpoint? = nil
    ) {
        self.best = best
        self.kind = kind
        self.stage = stage
        self.models = models
        self.totalSteps = totalSteps
        self.evalEvery = max(evalEvery, 0)
        self.saveSteps = saveSteps
        let policy = stage.context.resume
        if let ckptPath, !ckptPath.isEmpty {
            folder = CheckpointFolder(root: URL(fileURLWithPath: ckptPath), maxCkptNum: maxCkptNum)
        } else if let root = policy.checkpointRoot {
            folder = CheckpointFolder(root: root.appendingPathComponent(stage.name), maxCkptNum: maxCkptNum)
        } else {
            folder = nil
        }
        resumes = loadCheckpoint || policy.resume
    }

    /// Runs the stage to its end (or until the caller stops).
    ///
    /// - Parameters:
    ///   - extra: The trainer's own state, saved with every checkpoint.
    ///   - restore: Checks a checkpoint's trainer state against this run (throwing
    ///     ``TrainingError/checkpoint(_:)`` with a way out) and restores it; called before any weight
    ///     changes.
    ///   - body: Step n (from 1): trains and records it.
    ///   - evaluate: The eval metrics now; nil: no evaluation.
    /// - Returns: Whether the caller stopped the stage before its end.
    /// - Throws: The first error, also recorded in the run file.
    public func run(
        extra: () -> Extra, restore: (Extra, URL) throws -> Void, step body: (Int) throws -> StepEnd,
        evaluate: (() throws -> [String: Double])?
    ) throws -> Bool {
        if saveSteps > 0 && folder == nil {
            throw stage.fail(TrainingError.invalidOption("ckptPath", "is needed by saveSteps; give the checkpoint folder"), step: nil)
        }
        if let best, folder == nil {
            throw stage.fail(
                TrainingError.invalidOption("ckptPath", "is needed by saveBest (\(best.key)); give the checkpoint folder"), step: nil)
        }
        if resumes, let directory = folder?.latest() {
            let final: Bool
            do { final = try resume(from: directory, restore: restore) } catch { throw stage.fail(error, step: nil) }
            if final { return false }
        }
        var stopped = false
        if step == 0, let evaluate { stopped = try runEvaluation(evaluate, extra: extra) }
        while !stopped && step < totalSteps {
            let end = try body(step + 1)
            if end == .stopNow { return true }
            step += 1
            if end == .stopAfter { stopped = true }
            if let evaluate, step == totalSteps || (evalEvery > 0 && step % evalEvery == 0) {
                if try runEvaluation(evaluate, extra: extra) { stopped = true }
            }
            if saveSteps > 0 && step % saveSteps == 0 && step < totalSteps { try save(extra(), final: false) }
        }
        if step == totalSteps { try save(extra(), final: true) }
        return stopped
    }

    /// Evaluates now, records and reports, and keeps the best checkpoint; true when the caller
    /// asked to stop.
    private func runEvaluation(_ evaluate: () throws -> [String: Double], extra: () -> Extra) throws -> Bool {
        let at = models.first?.loop.step ?? step
        var values: [String: Double]
        var improved = false
        do {
            values = try evaluate()
            if let best {
                guard let value = best.value(values) else {
                    throw TrainingError.invalidOption(
                        "saveBest",
                        "names \(best.key.debugDescription), which this evaluation does not measure; it measures "
                            + values.keys.sorted().joined(separator: ", "))
                }
                // Strictly higher, as OpenRLHF compares: the earliest of equal values stays.
                if value > bestSoFar?.value ?? -.infinity {
                    bestSoFar = (step, value)
                    improved = true
                }
                values["best_step"] = Double(bestSoFar!.step)
                values["best_value"] = bestSoFar!.value
            }
            try stage.recorder?.record(eval: values, at: at)
        } catch {
            throw stage.fail(error, step: at)
        }
        evalHistory.append(EvalRecord(step: at, metrics: values))
        if improved { try save(extra(), final: step == totalSteps, as: "best") }
        return stage.report(.eval(stage: stage.name, step: at, metrics: values))
    }

    /// Writes `ckptPath/step_N`, or `ckptPath/<name>` (nothing without a folder, or on a rank
    /// other than 0).
    private func save(_ extra: Extra, final: Bool, as name: String? = nil) throws {
        guard let folder, stage.context.world.isWriter else { return }
        let state = CheckpointState(
            kind: kind, stage: stage.name, step: step, totalSteps: totalSteps, final: final,
            fingerprint: stage.context.resume.fingerprint, models: models.map(\.state),
            evalHistory: evalHistory, metrics: metrics, runFile: nil, extra: extra)
        // Every step and evaluation so far is committed and flushed: the file on disk is whole.
        do {
            try folder.save(state, models: models, runFile: stage.context.runFile?.path, as: name)
        } catch { throw stage.fail(error, step: step) }
    }

    /// Restores the checkpoint in `directory`; true when it is final.
    private func resume(from directory: URL, restore: (Extra, URL) throws -> Void) throws -> Bool {
        let saved = try CheckpointFolder.state(in: directory, as: Extra.self)
        func mismatch(_ what: String, _ old: Any, _ now: Any) -> TrainingError {
            .checkpoint(
                "\(directory.path) was written by \(what) \(old), this run has \(now); resume with the same recipe, data and options, or use another ckptPath"
            )
        }
        guard saved.kind == kind else { throw mismatch("the trainer", saved.kind, kind) }
        guard saved.stage == stage.name else { throw mismatch("the stage", saved.stage, stage.name) }
        let policy = stage.context.resume
        if saved.fingerprint != policy.fingerprint && !policy.force {
            throw TrainingError.checkpoint(
                "\(directory.path) was written by a run of another recipe (fingerprint \(saved.fingerprint.isEmpty ? "none" : saved.fingerprint), "
                    + "this run \(policy.fingerprint.isEmpty ? "none" : policy.fingerprint)); rerun the recipe the checkpoint was written by, "
                    + "start over in another folder, or force the resume (rlhf run --resume --force)")
        }
        guard saved.totalSteps == totalSteps else { throw mismatch("a run of total steps", saved.totalSteps, totalSteps) }
        guard saved.models.map(\.role) == models.map(\.role) else {
            throw mismatch("the models", saved.models.map(\.role), models.map(\.role))
        }
        try restore(saved.extra, directory)
        for (model, state) in zip(models, saved.models) {
            try model.restore(from: directory.appendingPathComponent(model.role), state)
        }
        if stage.recorder != nil {
            guard let name = saved.runFile else {
                throw TrainingError.checkpoint(
                    "\(directory.path) holds no copy of the run file (the run was not recorded); resume without a run file")
            }
            for model in models {
                guard let recorder = model.loop.stage.recorder else { continue }
                try replayStageHistory(
                    from: directory.appendingPathComponent(name), stage: model.loop.stage.name, into: recorder,
                    throughStep: model.loop.step)
            }
        }
        step = saved.step
        evalHistory = saved.evalHistory
        if let last = evalHistory.last, let bestStep = last.metrics["best_step"], let value = last.metrics["best_value"] {
            bestSoFar = (Int(bestStep), value)
        }
        metrics = saved.metrics
        resumedFromStep = models.first?.loop.step ?? saved.step
        return saved.final
    }
}

/// The eval metric whose best value keeps a checkpoint (`saveBest`).
public struct BestCheckpoint {
    /// The metric as the option names it.
    public let key: String
    /// The metric's value in an evaluation's metrics, or nil when it is not there.
    public let value: ([String: Double]) -> Double?

    public init(key: String, value: @escaping ([String: Double]) -> Double?) {
        self.key = key
        self.value = value
    }
}
