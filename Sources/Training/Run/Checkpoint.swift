import Foundation
import Models
import Tensors
import WeightFiles

/// The checkpoint folder protocol every trainer uses, offline and online.
///
/// A stage with a checkpoint folder (`ckptPath`) writes `ckptPath/step_N` every `saveSteps` steps
/// and once more, marked final, when it finishes. N counts the stage's steps: optimizer steps
/// offline, rollouts online (OpenRLHF's global step). A checkpoint is a folder:
/// ```
/// state.json                      CheckpointState: step, final, fingerprint, every model's optimizer
///                                 step and schedule, the eval history, the trainer's own state
///                                 (sampler cursor, random streams, KL coefficient, ...)
/// <role>/model.safetensors        the trained parameters of each model (`model`; `actor`, `critic`)
/// <role>/optimizer.safetensors    their AdamW moments: "<name>.exp_avg", "<name>.exp_avg_sq"
/// run.h5                          the run file as of that step, whose stage history a resume replays
/// ```
/// Everything is written into `step_N.partial` and renamed at the end, so a crash never leaves a
/// half-written `step_N`; only the newest `maxCkptNum` folders are kept.
public struct CheckpointFolder: Sendable {
    /// The folder holding the `step_N` checkpoints.
    public let root: URL
    /// How many checkpoints to keep (OpenRLHF `--max_ckpt_num`); older ones are removed.
    public let maxCkptNum: Int

    public init(root: URL, maxCkptNum: Int = 3) {
        self.root = root
        self.maxCkptNum = maxCkptNum
    }

    /// The folder of the checkpoint at `step`.
    public func directory(step: Int) -> URL { root.appendingPathComponent("step_\(step)") }

    /// The steps of every complete checkpoint, oldest first.
    public func steps() -> [Int] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: root.path) else { return [] }
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("step_"), let n = Int(name.dropFirst(5)) else { return nil }
            return fm.fileExists(atPath: directory(step: n).appendingPathComponent("state.json").path) ? n : nil
        }.sorted()
    }

    /// The newest complete checkpoint, or nil when there is none.
    public func latest() -> URL? { steps().last.map(directory(step:)) }

    /// Writes the checkpoint of `state.step`: each model's weights and moments, `state`, and a copy
    /// of `runFile` (whose every committed step is flushed). Then removes all but the newest
    /// `maxCkptNum` checkpoints.
    ///
    /// - Parameter name: The folder to write instead of `step_N` (`best`); it is replaced whole and
    ///   never pruned, and a resume never reads it.
    public func save<Extra: Codable>(_ state: CheckpointState<Extra>, models: [CheckpointedModel], runFile: String?, as name: String? = nil)
        throws
    {
        let fm = FileManager.default
        let directory = name.map { root.appendingPathComponent($0) } ?? directory(step: state.step)
        let partial = root.appendingPathComponent((name ?? "step_\(state.step)") + ".partial")
        try? fm.removeItem(at: partial)
        try fm.createDirectory(at: partial, withIntermediateDirectories: true)
        for model in models { try model.write(to: partial.appendingPathComponent(model.role)) }
        var state = state
        state.runFile = runFile == nil ? nil : "run.h5"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(state).write(to: partial.appendingPathComponent("state.json"))
        if let runFile { try fm.copyItem(at: URL(fileURLWithPath: runFile), to: partial.appendingPathComponent("run.h5")) }
        if fm.fileExists(atPath: directory.path) { try fm.removeItem(at: directory) }
        try fm.moveItem(at: partial, to: directory)
        guard name == nil else { return }
        for step in steps().dropLast(max(maxCkptNum, 1)) { try fm.removeItem(at: self.directory(step: step)) }
    }

    /// Reads the state of the checkpoint in `directory`.
    public static func state<Extra: Codable>(in directory: URL, as: Extra.Type) throws -> CheckpointState<Extra> {
        let url = directory.appendingPathComponent("state.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.checkpoint("\(directory.path) is not a checkpoint (no state.json)")
        }
        do {
            return try JSONDecoder().decode(CheckpointState<Extra>.self, from: Data(contentsOf: url))
        } catch {
            throw TrainingError.checkpoint("\(url.path): cannot read the saved state; was it written by another trainer or version? (\(error))")
        }
    }
}

/// What `state.json` of a checkpoint holds; `Extra` is the trainer's own state.
public struct CheckpointState<Extra: Codable>: Codable {
    /// The version of this layout.
    public var format = 2
    /// The trainer (`sft`, `dpo`, `grpo`, ...).
    public var kind: String
    /// The stage's name in the run file.
    public var stage: String
    /// Steps completed (optimizer steps offline, rollouts online).
    public var step: Int
    /// The steps the stage was planned for.
    public var totalSteps: Int
    /// Whether the stage had finished: a resume restores it and trains no further.
    public var final: Bool
    /// The caller's fingerprint of what the run was made from (a hash of the recipe text).
    public var fingerprint: String
    /// Each trained model's optimizer position.
    public var models: [CheckpointedModel.State]
    /// Every evaluation so far.
    public var evalHistory: [EvalRecord]
    /// The summary metrics after the last step.
    public var metrics: [String: Double]
    /// The copy of the run file in the checkpoint folder, when the run is recorded.
    public var runFile: String?
    /// The trainer's own state: sampler cursor, random streams, KL coefficient, ...
    public var extra: Extra
}

/// One trained model of a stage, as a checkpoint holds it: its parameters and optimizer.
public struct CheckpointedModel {
    /// Its sub-folder in the checkpoint (`model`, `actor`, `critic`).
    public let role: String
    /// Its parameters, optimizer, schedule, step and stage.
    public let loop: OptimizerLoop

    public init(role: String, loop: OptimizerLoop) {
        self.role = role
        self.loop = loop
    }

    /// A model's optimizer position in `state.json`.
    public struct State: Codable, Equatable, Sendable {
        public var role: String
        /// The run-file stage its steps are recorded in.
        public var stage: String
        /// Optimizer steps completed (the schedule's position).
        public var step: Int
        public var schedule: LearningRateSchedule
        /// AdamW's step count of each parameter.
        public var optimizerSteps: [String: Int]
    }

    /// Its position now.
    var state: State {
        var steps: [String: Int] = [:]
        for (index, m) in loop.optimizer.state.parameters.enumerated() { steps[loop.parameters[index].name] = m.step }
        return State(role: role, stage: loop.stage.name, step: loop.step, schedule: loop.schedule, optimizerSteps: steps)
    }

    /// Writes the weights and AdamW moments into `directory`.
    func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var weights: [String: SafetensorsTensor] = [:]
        for (name, t) in loop.parameters { weights[name] = SafetensorsTensor(shape: t.shape, values: t.data) }
        try SafetensorsFile.write(weights, to: directory.appendingPathComponent("model.safetensors"))
        var moments: [String: SafetensorsTensor] = [:]
        for (index, m) in loop.optimizer.state.parameters.enumerated() where !m.expAvg.isEmpty {
            let name = loop.parameters[index].name
            moments[name + ".exp_avg"] = SafetensorsTensor(shape: [m.count], values: m.expAvg)
            moments[name + ".exp_avg_sq"] = SafetensorsTensor(shape: [m.count], values: m.expAvgSq)
        }
        try SafetensorsFile.write(moments, to: directory.appendingPathComponent("optimizer.safetensors"))
    }

    /// Restores the weights, the AdamW moments and step counts, and the optimizer step from
    /// `directory` and `saved`.
    func restore(from directory: URL, _ saved: State) throws {
        guard saved.schedule == loop.schedule else {
            throw TrainingError.checkpoint(
                "\(directory.path) was written with the \(role)'s schedule \(saved.schedule), this run has \(loop.schedule); "
                    + "resume with the same options, or use another ckptPath")
        }
        let weights = try SafetensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        for (name, t) in loop.parameters {
            guard weights.tensors[name] != nil else {
                throw TrainingError.checkpoint("\(directory.path) has no weights for \(name); was it written by another model?")
            }
            let values = try weights.floats(name)
            guard values.count == t.count else {
                throw TrainingError.checkpoint("\(name) has \(values.count) values in \(directory.path), the model has \(t.count)")
            }
            t.data = values
        }
        let moments = try SafetensorsFile(url: directory.appendingPathComponent("optimizer.safetensors"))
        var state = loop.optimizer.state
        for (index, (name, _)) in loop.parameters.enumerated() {
            state.parameters[index].step = saved.optimizerSteps[name] ?? 0
            if moments.tensors[name + ".exp_avg"] != nil {
                state.parameters[index].expAvg = try moments.floats(name + ".exp_avg")
                state.parameters[index].expAvgSq = try moments.floats(name + ".exp_avg_sq")
            } else {
                state.parameters[index].expAvg = []
                state.parameters[index].expAvgSq = []
            }
        }
        try loop.optimizer.restore(state)
        loop.step = saved.step
    }
}
