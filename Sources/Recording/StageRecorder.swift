// One stage of a run (`/<stage>` in the file): scalar metrics, wall-clock timings, tensor and
// activation statistics, rollout samples and evaluations, gathered per step in memory and written
// by `commit(step:)`.

import CHDF5

/// Which buffer of a parameter a statistics row describes.
public enum TensorKind: String, Sendable, CaseIterable, Comparable {
    /// The parameter's values after the step.
    case value
    /// The gradient the step used (after accumulation and clipping).
    case grad
    /// The change the optimizer applied (new value minus old value).
    case update

    public static func < (a: TensorKind, b: TensorKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Records one stage of a run. Get one from `RunFile.stage(_:statsEvery:)`.
///
/// Between two commits, `record` calls gather a step's values in memory; `commit(step:)` writes
/// them, flushes, then bumps the committed counts and flushes again. A name seen for the first
/// time creates its dataset, so metric sets may differ between stages and may grow during one.
public final class StageRecorder {
    /// The stage's name, its group in the file.
    public let name: String
    /// Tensor and activation statistics are kept at steps that are multiples of this.
    public let statsEvery: Int

    private let file: OpenFile
    private let group: hid_t
    private let metrics: Table
    private var tensors: Table?
    private var activations: Table?
    private var eval: Table?
    private var timing: Table?
    private var rollouts: RolloutWriter?
    private var config: hid_t?
    private var lastStep: Int?
    private var lastEvalStep: Int?

    private var pendingMetrics: [String: Double] = [:]
    private var pendingTimings: [String: Double] = [:]
    private var pendingTensors: [TensorKey: TensorStatistics] = [:]
    private var tensorOrder: [TensorKey] = []
    private var pendingActivations: [String: TensorStatistics] = [:]
    private var activationOrder: [String] = []
    private var pendingRollouts: [RolloutSample] = []

    private struct TensorKey: Hashable {
        var name: String
        var kind: TensorKind
    }

    private var prefix: String { "/\(name)" }

    init(file: OpenFile, name: String, index: Int, statsEvery: Int) throws {
        self.file = file
        self.name = name
        self.statsEvery = statsEvery
        let plist = HDF5.groupCreation()
        defer { H5Pclose(plist) }
        let group = H5Gcreate2(file.id, name, rlhf_H5P_DEFAULT(), plist, rlhf_H5P_DEFAULT())
        guard group >= 0 else { throw file.writeFailed("group /\(name)") }
        guard HDF5.writeAttribute(group, "index", .int(index)),
            HDF5.writeAttribute(group, "stats_every", .int(statsEvery))
        else {
            let error = file.writeFailed("attributes of /\(name)")
            H5Gclose(group)
            throw error
        }
        guard let metrics = Table.create(in: group, name: "metrics", path: "/\(name)/metrics", chunkRows: 512) else {
            let error = file.writeFailed("group /\(name)/metrics")
            H5Gclose(group)
            throw error
        }
        self.group = group
        self.metrics = metrics
        try file.flush()
    }

    /// The number of steps committed so far.
    public var committedSteps: Int { metrics.committed }

    /// Whether tensor and activation statistics recorded for `step` will be kept (`statsEvery`
    /// thins them). Check it before computing statistics to skip the work at thinned steps.
    public func recordsStatistics(atStep step: Int) -> Bool {
        statsEvery <= 1 || step % statsEvery == 0
    }

    // MARK: - Per step

    /// Records scalar metrics of the current step (a name given twice keeps the last value).
    public func record(metrics values: [String: Double]) throws {
        try file.ensureOpen()
        for (key, value) in values {
            try validateName(key, what: "a metric name", reserved: ["step"], path: file.path)
            pendingMetrics[key] = value
        }
    }

    /// Records wall-clock values of the current step (seconds, tokens per second, bytes), kept apart
    /// from the metrics under `/<stage>/timing` because they differ between two runs of the same
    /// seed. A name given twice keeps the last value.
    public func record(timing values: [String: Double]) throws {
        try file.ensureOpen()
        for (key, value) in values {
            try validateName(key, what: "a timing name", reserved: ["step"], path: file.path)
            pendingTimings[key] = value
        }
    }

    /// Records one scalar metric of the current step.
    public func record(metric name: String, _ value: Double) throws {
        try record(metrics: [name: value])
    }

    /// Records the statistics of one parameter's values, gradient or update for the current step.
    public func record(tensor name: String, kind: TensorKind, stats: TensorStatistics) throws {
        try file.ensureOpen()
        try validateName(name, what: "a tensor name", reserved: ["step"], path: file.path)
        let key = TensorKey(name: name, kind: kind)
        if pendingTensors.updateValue(stats, forKey: key) == nil { tensorOrder.append(key) }
    }

    /// Computes and records the statistics of `values` (one fused pass, see `TensorStatistics`).
    public func record(tensor name: String, kind: TensorKind, values: UnsafeBufferPointer<Float>) throws {
        try record(tensor: name, kind: kind, stats: TensorStatistics(values))
    }

    /// Computes (on up to `threads` threads) and records the statistics of many parameters' buffers
    /// of one kind, in the order given. The statistics do not depend on `threads`.
    public func record(tensors: [(name: String, values: UnsafeBufferPointer<Float>)], kind: TensorKind, threads: Int = 2)
        throws
    {
        let stats = TensorStatistics.of(tensors.map(\.values), threads: threads)
        for (tensor, s) in zip(tensors, stats) { try record(tensor: tensor.name, kind: kind, stats: s) }
    }

    /// Records the statistics of one layer's output activations for the current step.
    public func record(activation layer: String, stats: TensorStatistics) throws {
        try file.ensureOpen()
        try validateName(layer, what: "a layer name", reserved: ["step"], path: file.path)
        if pendingActivations.updateValue(stats, forKey: layer) == nil { activationOrder.append(layer) }
    }

    /// Computes and records the statistics of one layer's output activations.
    public func record(activation layer: String, values: UnsafeBufferPointer<Float>) throws {
        try record(activation: layer, stats: TensorStatistics(values))
    }

    /// Records rollout samples generated in the current step (appended to earlier ones).
    public func record(rollouts samples: [RolloutSample]) throws {
        try file.ensureOpen()
        for (i, sample) in samples.enumerated() {
            for (label, values) in [("advantages", sample.advantages), ("logprobs", sample.logprobs)]
            where !values.isEmpty && values.count != sample.responseIDs.count {
                throw RunFileError.invalidRecord(
                    path: file.path, what: "rollout sample \(i)",
                    reason: "\(label) has \(values.count) values for \(sample.responseIDs.count) response tokens (give one per token, or none)")
            }
        }
        pendingRollouts.append(contentsOf: samples)
    }

    /// Writes the current step: every value recorded since the last commit, under step number
    /// `step`. Returns when the rows and then the committed counts are flushed to the file.
    ///
    /// Steps must increase. Tensor and activation statistics are dropped at steps that
    /// `recordsStatistics(atStep:)` thins out.
    public func commit(step: Int) throws {
        try HDF5.locked {
            try file.ensureOpen()
            defer { clearPending() }
            if let lastStep, step <= lastStep {
                throw RunFileError.invalidRecord(
                    path: file.path, what: "step \(step)",
                    reason: "stage \(name) already committed step \(lastStep); steps must increase")
            }
            var written: [Table] = [metrics]
            try writeStep(metrics, step)
            for key in pendingMetrics.keys.sorted() {
                guard let column = metrics.column(key), column.write(row: metrics.committed, [pendingMetrics[key]!])
                else { throw file.writeFailed("\(prefix)/metrics/\(key)") }
            }
            if !pendingTimings.isEmpty {
                let table = try self.table(\.timing, "timing", chunkRows: 512)
                try writeStep(table, step)
                for key in pendingTimings.keys.sorted() {
                    guard let column = table.column(key), column.write(row: table.committed, [pendingTimings[key]!])
                    else { throw file.writeFailed("\(prefix)/timing/\(key)") }
                }
                written.append(table)
            }
            if recordsStatistics(atStep: step) {
                if !tensorOrder.isEmpty {
                    let table = try self.table(\.tensors, "tensors", chunkRows: 128)
                    try writeStep(table, step)
                    for key in tensorOrder {
                        guard
                            let column = table.column(
                                key.kind.rawValue, in: key.name, width: TensorStatistics.columns.count,
                                attributes: [("columns", .strings(TensorStatistics.columns))]),
                            column.write(row: table.committed, pendingTensors[key]!.row)
                        else { throw file.writeFailed("\(prefix)/tensors/\(key.name)/\(key.kind.rawValue)") }
                    }
                    written.append(table)
                }
                if !activationOrder.isEmpty {
                    let table = try self.table(\.activations, "activations", chunkRows: 128)
                    try writeStep(table, step)
                    for layer in activationOrder {
                        guard
                            let column = table.column(
                                layer, width: TensorStatistics.columns.count,
                                attributes: [("columns", .strings(TensorStatistics.columns))]),
                            column.write(row: table.committed, pendingActivations[layer]!.row)
                        else { throw file.writeFailed("\(prefix)/activations/\(layer)") }
                    }
                    written.append(table)
                }
            }
            if !pendingRollouts.isEmpty {
                if rollouts == nil {
                    guard let writer = RolloutWriter(in: group, path: "\(prefix)/rollouts") else {
                        throw file.writeFailed("\(prefix)/rollouts")
                    }
                    rollouts = writer
                }
                guard rollouts!.write(pendingRollouts, step: step) else { throw file.writeFailed("\(prefix)/rollouts") }
            }
            try file.flush()

            for table in written {
                table.committed += 1
                guard table.writeCommitted() else { throw file.writeFailed("\(table.path) attribute committed") }
            }
            if !pendingRollouts.isEmpty {
                rollouts!.commit(pendingRollouts)
                guard rollouts!.table.writeCommitted() else { throw file.writeFailed("\(prefix)/rollouts attribute committed") }
            }
            try file.flush()
            lastStep = step
        }
    }

    // MARK: - Evaluation and settings

    /// Records evaluation metrics measured at training step `step`, written and committed at once.
    public func record(eval values: [String: Double], at step: Int) throws {
        try HDF5.locked {
            try file.ensureOpen()
            for key in values.keys { try validateName(key, what: "an eval metric name", reserved: ["step"], path: file.path) }
            if let lastEvalStep, step < lastEvalStep {
                throw RunFileError.invalidRecord(
                    path: file.path, what: "an evaluation at step \(step)",
                    reason: "stage \(name) already recorded an evaluation at step \(lastEvalStep); eval steps must not decrease")
            }
            let table = try self.table(\.eval, "eval", chunkRows: 512)
            try writeStep(table, step)
            for key in values.keys.sorted() {
                guard let column = table.column(key), column.write(row: table.committed, [values[key]!]) else {
                    throw file.writeFailed("\(prefix)/eval/\(key)")
                }
            }
            try file.flush()
            table.committed += 1
            guard table.writeCommitted() else { throw file.writeFailed("\(prefix)/eval attribute committed") }
            try file.flush()
            lastEvalStep = step
        }
    }

    /// Records the stage's resolved hyperparameters as attributes of `/<stage>/config`.
    public func setConfig(_ values: [String: ConfigValue]) throws {
        try HDF5.locked {
            try file.ensureOpen()
            if config == nil {
                let plist = HDF5.groupCreation()
                defer { H5Pclose(plist) }
                let id = H5Gcreate2(group, "config", rlhf_H5P_DEFAULT(), plist, rlhf_H5P_DEFAULT())
                guard id >= 0 else { throw file.writeFailed("\(prefix)/config") }
                config = id
            }
            for key in values.keys.sorted() {
                try validateAttributeName(key, path: file.path)
                guard HDF5.writeAttribute(config!, key, values[key]!) else {
                    throw file.writeFailed("\(prefix)/config attribute \(key)")
                }
            }
            try file.flush()
        }
    }

    // MARK: - Internals

    private func table(_ keyPath: ReferenceWritableKeyPath<StageRecorder, Table?>, _ label: String, chunkRows: Int) throws
        -> Table
    {
        if let table = self[keyPath: keyPath] { return table }
        guard let table = Table.create(in: group, name: label, path: "\(prefix)/\(label)", chunkRows: chunkRows) else {
            throw file.writeFailed("\(prefix)/\(label)")
        }
        self[keyPath: keyPath] = table
        return table
    }

    private func writeStep(_ table: Table, _ step: Int) throws {
        guard table.step.write(row: table.committed, [Int64(step)]) else { throw file.writeFailed("\(table.path)/step") }
    }

    private func clearPending() {
        pendingMetrics.removeAll(keepingCapacity: true)
        pendingTimings.removeAll(keepingCapacity: true)
        pendingTensors.removeAll(keepingCapacity: true)
        tensorOrder.removeAll(keepingCapacity: true)
        pendingActivations.removeAll(keepingCapacity: true)
        activationOrder.removeAll(keepingCapacity: true)
        pendingRollouts.removeAll(keepingCapacity: true)
    }

    /// Trims every dataset to its committed rows (at close).
    func trim() throws {
        for table in [metrics, timing, tensors, activations, eval].compactMap({ $0 }) {
            guard table.trim() else { throw file.writeFailed("\(table.path) (trim)") }
        }
        if let rollouts, !rollouts.trim() { throw file.writeFailed("\(prefix)/rollouts (trim)") }
    }

    func closeObjects() {
        metrics.close()
        tensors?.close()
        activations?.close()
        eval?.close()
        timing?.close()
        rollouts?.close()
        if let config { H5Gclose(config) }
        H5Gclose(group)
    }
}

/// Writes rollout samples: per-sample rows in a table, token ids and per-token values flat.
final class RolloutWriter {
    let table: Table
    private let promptIDs: Column
    private let responseIDs: Column
    private let advantages: Column
    private let logprobs: Column
    private var promptTokens = 0
    private var responseTokens = 0

    init?(in parent: hid_t, path: String) {
        guard let table = Table.create(in: parent, name: "rollouts", path: path, chunkRows: 256),
            let promptIDs = Column.create(in: table.group, name: "prompt_ids", type: .int32, chunkRows: 4096, rows: 0),
            let responseIDs = Column.create(in: table.group, name: "response_ids", type: .int32, chunkRows: 4096, rows: 0),
            let advantages = Column.create(in: table.group, name: "advantages", type: .float64, chunkRows: 4096, rows: 0),
            let logprobs = Column.create(in: table.group, name: "logprobs", type: .float64, chunkRows: 4096, rows: 0)
        else { return nil }
        self.table = table
        self.promptIDs = promptIDs
        self.responseIDs = responseIDs
        self.advantages = advantages
        self.logprobs = logprobs
    }

    /// Writes `samples` after the committed ones (not yet counted: see `commit`).
    func write(_ samples: [RolloutSample], step: Int) -> Bool {
        let row = table.committed
        var promptOffsets: [Int64] = [], promptLengths: [Int64] = []
        var responseOffsets: [Int64] = [], responseLengths: [Int64] = []
        var prompt: [Int32] = [], response: [Int32] = [], advantage: [Double] = [], logprob: [Double] = []
        var p = promptTokens, r = responseTokens
        for sample in samples {
            promptOffsets.append(Int64(p))
            promptLengths.append(Int64(sample.promptIDs.count))
            responseOffsets.append(Int64(r))
            responseLengths.append(Int64(sample.responseIDs.count))
            prompt += sample.promptIDs
            response += sample.responseIDs
            let n = sample.responseIDs.count
            advantage += sample.advantages.isEmpty ? [Double](repeating: .nan, count: n) : sample.advantages
            logprob += sample.logprobs.isEmpty ? [Double](repeating: .nan, count: n) : sample.logprobs
            p += sample.promptIDs.count
            r += n
        }
        guard table.step.write(row: row, [Int64](repeating: Int64(step), count: samples.count)),
            let rewardColumn = table.column("reward"), rewardColumn.write(row: row, samples.map(\.reward)),
            let po = table.column("prompt_offset", type: .int64), po.write(row: row, promptOffsets),
            let pl = table.column("prompt_length", type: .int64), pl.write(row: row, promptLengths),
            let ro = table.column("response_offset", type: .int64), ro.write(row: row, responseOffsets),
            let rl = table.column("response_length", type: .int64), rl.write(row: row, responseLengths),
            promptIDs.write(row: promptTokens, prompt),
            responseIDs.write(row: responseTokens, response),
            advantages.write(row: responseTokens, advantage),
            logprobs.write(row: responseTokens, logprob)
        else { return false }
        for (label, texts) in [("prompt_text", samples.map(\.promptText)), ("response_text", samples.map(\.responseText))] {
            guard texts.contains(where: { $0 != nil }) || table.columns[label] != nil else { continue }
            guard let column = table.column(label, type: .string), column.write(row: row, texts) else { return false }
        }
        return true
    }

    /// Counts `samples` (written by `write`) as committed.
    func commit(_ samples: [RolloutSample]) {
        table.committed += samples.count
        promptTokens += samples.reduce(0) { $0 + $1.promptIDs.count }
        responseTokens += samples.reduce(0) { $0 + $1.responseIDs.count }
    }

    func trim() -> Bool {
        table.trim() && promptIDs.trim(to: promptTokens) && responseIDs.trim(to: responseTokens)
            && advantages.trim(to: responseTokens) && logprobs.trim(to: responseTokens)
    }

    func close() {
        promptIDs.close()
        responseIDs.close()
        advantages.close()
        logprobs.close()
        table.close()
    }
}
