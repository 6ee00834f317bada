import Foundation
import Recording

// Resuming a run's record: the committed history of a stage, read from the copy of the run file a
// checkpoint keeps, written again into the stage of the resumed run's file. Values go through the
// public recorder as Float64 (and statistics rows as their seven Float64 columns), so every
// dataset of the resumed file holds the same bits as the file of an uninterrupted run.

/// Copies the history of stage `stage` in the run file at `source` — every committed step up to
/// and including `throughStep` (metrics, timings, tensor and activation statistics, rollouts) and every
/// evaluation at or before it — into `recorder`, in the original order.
///
/// Metrics and timings a step did not record (NaN in the file) are not recorded again, so each
/// dataset starts where it started in the original.
///
/// - Throws: A `RunFileError` when the copy cannot be read or lacks the stage.
public func replayStageHistory(from source: URL, stage: String, into recorder: StageRecorder, throughStep: Int) throws {
    let reader = try RunReader(url: source)
    let history = try reader.stage(stage)

    let metrics = try history.metricNames.map { ($0, try history.metric($0)) }
    let timings = try history.timingNames.map { ($0, try history.timing($0)) }
    let timingRow = Dictionary(history.timingSteps.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    var tensors: [(name: String, kind: TensorKind, rows: [TensorStatistics])] = []
    for name in history.tensorNames {
        for kind in history.tensorKinds(name) {
            tensors.append((name, kind, try history.tensorStatistics(name, kind: kind)))
        }
    }
    let tensorRow = Dictionary(history.tensorSteps.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    let activations = try history.activationNames.map { ($0, try history.activationStatistics($0)) }
    let activationRow = Dictionary(history.activationSteps.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    let rollouts = Dictionary(grouping: try history.rollouts(), by: \.step)

    for (row, step) in history.steps.enumerated() where step <= throughStep {
        var values: [String: Double] = [:]
        for (name, column) in metrics where !column[row].isNaN { values[name] = column[row] }
        try recorder.record(metrics: values)
        if let r = timingRow[step] {
            var seconds: [String: Double] = [:]
            for (name, column) in timings where !column[r].isNaN { seconds[name] = column[r] }
            try recorder.record(timing: seconds)
        }
        if let r = tensorRow[step] {
            for t in tensors { try recorder.record(tensor: t.name, kind: t.kind, stats: t.rows[r]) }
        }
        if let r = activationRow[step] {
            for (name, rows) in activations { try recorder.record(activation: name, stats: rows[r]) }
        }
        if let samples = rollouts[step] { try recorder.record(rollouts: samples.map(\.sample)) }
        try recorder.commit(step: step)
    }

    let evals = try history.evalNames.map { ($0, try history.eval($0)) }
    for (row, step) in history.evalSteps.enumerated() where step <= throughStep {
        var values: [String: Double] = [:]
        for (name, column) in evals where !column[row].isNaN { values[name] = column[row] }
        try recorder.record(eval: values, at: step)
    }
}
