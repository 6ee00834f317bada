import Distributed
import Foundation
import Recording
import Tensors

/// What a trainer reports while it runs; the caller may answer `.stop`.
public enum TrainingProgress: Sendable {
    /// An optimizer step finished.
    case step(stage: String, step: Int, totalSteps: Int, metrics: [String: Double], tokens: Int)
    /// An evaluation finished.
    case eval(stage: String, step: Int, metrics: [String: Double])
    /// A rollout batch was generated (online RL).
    case rollout(stage: String, step: Int, samples: Int)
}

/// The caller's answer to a progress report.
public enum ProgressDisposition: Sendable {
    case `continue`
    case stop
}

/// Where training stages report: the run file, the run's random stream, progress and stopping.
///
/// Each stage gets a unique name (`sft`, `dpo`, then `sft_2` for a second SFT), its own group in
/// the run file, and its own random stream forked by that name, so adding a stage never shifts
/// another stage's numbers.
public final class RunContext {
    /// The open run file, or nil to train without recording.
    public let runFile: RunFile?
    /// The run's root stream: the session's, forked by stage name for each stage.
    public let rng: RNG
    /// Called after every step and evaluation; `.stop` ends the stage after the current step.
    public var onProgress: ((TrainingProgress) -> ProgressDisposition)?
    /// How the run's stages checkpoint and resume (see ``ResumePolicy``).
    public var resume = ResumePolicy()
    /// The ranks training is spread over (data parallel); rank 0 alone writes checkpoints.
    public var world = World.shared
    private var stageCounts: [String: Int] = [:]

    public init(rng: RNG, runFile: RunFile? = nil) {
        self.runFile = runFile
        self.rng = rng
    }

    /// A context whose root stream is `RNG(seed: seed)`.
    public convenience init(seed: UInt64, runFile: RunFile? = nil) {
        self.init(rng: RNG(seed: seed), runFile: runFile)
    }

    /// Opens a stage: a unique name, its recorder (if recording) and its random stream.
    public func beginStage(_ kind: String, config: [String: ConfigValue], statsEvery: Int = 1) throws -> Stage {
        let n = (stageCounts[kind] ?? 0) + 1
        stageCounts[kind] = n
        let name = n == 1 ? kind : "\(kind)_\(n)"
        let recorder = try runFile?.stage(name, statsEvery: statsEvery)
        try recorder?.setConfig(config)
        return Stage(name: name, recorder: recorder, rng: rng.fork(name), context: self)
    }

    func report(_ progress: TrainingProgress) -> ProgressDisposition {
        onProgress?(progress) ?? .continue
    }
}

/// How a host resumes a run: every stage that has a checkpoint folder continues from its newest
/// checkpoint, or skips itself when that checkpoint is final.
///
/// ```swift
/// let context = RunContext(seed: 42, runFile: file)
/// context.resume = ResumePolicy(checkpointRoot: out.appendingPathComponent("checkpoints"),
///                               resume: true, fingerprint: sha256(recipeText))
/// ```
public struct ResumePolicy: Sendable, Equatable {
    /// Where stages whose options give no `ckptPath` keep their checkpoints: `<root>/<stage name>`
    /// (their final one; periodic ones need `saveSteps` with a `ckptPath`). Nil: only stages with
    /// a `ckptPath` checkpoint.
    public var checkpointRoot: URL?
    /// Resume every stage from its newest checkpoint when there is one (as `loadCheckpoint` does
    /// for one stage). A stage whose newest checkpoint is final restores its weights and history
    /// and trains no further.
    public var resume: Bool
    /// Written into every checkpoint (the host passes a hash of the recipe text); a resume from a
    /// checkpoint with another fingerprint is refused unless `force`.
    public var fingerprint: String
    /// Resume even when the fingerprint differs.
    public var force: Bool

    public init(checkpointRoot: URL? = nil, resume: Bool = false, fingerprint: String = "", force: Bool = false) {
        self.checkpointRoot = checkpointRoot
        self.resume = resume
        self.fingerprint = fingerprint
        self.force = force
    }
}

/// One stage of a run: its name, recorder and random stream.
public final class Stage {
    public let name: String
    public let recorder: StageRecorder?
    /// The stage's stream; fork it by purpose (`rng.fork("sampler")`).
    public let rng: RNG
    unowned let context: RunContext

    init(name: String, recorder: StageRecorder?, rng: RNG, context: RunContext) {
        self.name = name
        self.recorder = recorder
        self.rng = rng
        self.context = context
    }

    /// Reports progress; true when the caller asked to stop.
    public func report(_ progress: TrainingProgress) -> Bool {
        context.report(progress) == .stop
    }

    /// Records a failure in the run file (best effort) and returns the error to rethrow.
    public func fail(_ error: Error, step: Int?) -> Error {
        try? context.runFile?.recordError("\(error)", stage: name, step: step)
        return error
    }
}
