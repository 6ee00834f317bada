// The reader side of the run file. It reads only committed rows: each table's `committed`
// attribute says how many rows were flushed before their count, so a file left by a killed run
// reads as the steps that finished.

import CHDF5
import Foundation

/// The error a failed run recorded in its file.
public struct RecordedError: Sendable, Equatable {
    public var message: String
    /// The stage that failed, when the run said.
    public var stage: String?
    /// The step that failed, when the run said.
    public var step: Int?

    public init(message: String, stage: String? = nil, step: Int? = nil) {
        self.message = message
        self.stage = stage
        self.step = step
    }
}

/// One group or dataset in a run file, as `rlhf inspect` lists them.
public struct RunObject: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case group, dataset }
    /// The object's path, e.g. `/sft/metrics/loss`.
    public var path: String
    public var kind: Kind
    /// The dataset's shape (empty for groups). Files of killed runs may hold fill rows past the
    /// committed count.
    public var shape: [Int]
    /// The element type: float64, int64, int32, string (empty for groups).
    public var type: String
    /// The object's attributes, in name order.
    public var attributes: [(String, ConfigValue)]

    public static func == (a: RunObject, b: RunObject) -> Bool {
        a.path == b.path && a.kind == b.kind && a.shape == b.shape && a.type == b.type
            && a.attributes.map(\.0) == b.attributes.map(\.0) && a.attributes.map(\.1) == b.attributes.map(\.1)
    }
}

/// An open run file being read. Everything it returns is limited to committed rows.
///
/// ```swift
/// let run = try RunReader(path: "runs/quickstart.h5")
/// let sft = try run.stage("sft")
/// let loss = try sft.metric("loss")            // one value per committed step
/// let grad = try sft.tensorStatistics("model.norm.weight", kind: .grad)
/// ```
public final class RunReader {
    /// The file's path.
    public let path: String
    let id: hid_t
    /// Every root attribute (format, name, recipe, seed, threads, version, created, status, ...).
    public let attributes: [String: ConfigValue]
    /// The run's resolved hyperparameters (`/config`).
    public let config: [String: ConfigValue]
    /// The stages in the order the run created them.
    public let stageNames: [String]
    /// The error the run recorded, if it failed.
    public let error: RecordedError?

    /// Opens a run file for reading.
    ///
    /// - Throws: `RunFileError.fileNotFound`, `.notHDF5`, `.unreadable` (truncated or damaged),
    ///   `.notARunFile` (an HDF5 file of another tool), `.unsupportedFormat`.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw RunFileError.fileNotFound(path: path)
        }
        let opened: hid_t = try HDF5.locked {
            let signature = H5Fis_hdf5(path)
            if signature == 0 { throw RunFileError.notHDF5(path: path) }
            if signature < 0 { throw RunFileError.unreadable(path: path, reason: HDF5.lastError()) }
            let access = HDF5.fileAccess()
            defer { H5Pclose(access) }
            let id = H5Fopen(path, rlhf_H5F_ACC_RDONLY(), access)
            guard id >= 0 else { throw RunFileError.unreadable(path: path, reason: HDF5.lastError()) }
            return id
        }
        id = opened
        do {
            let root = HDF5.locked { HDF5.readAttributes(opened) }
            attributes = Dictionary(root, uniquingKeysWith: { a, _ in a })
            guard let format = attributes["format"] else {
                let names = HDF5.locked { HDF5.memberNames(opened) }
                let held = names.isEmpty ? "an empty root group" : "root holds " + names.prefix(8).joined(separator: ", ")
                throw RunFileError.notARunFile(path: path, found: "no \"format\" attribute; \(held)")
            }
            guard case .string(let formatName) = format, formatName.hasPrefix("swift-rlhf/run/") else {
                throw RunFileError.notARunFile(path: path, found: "format is \"\(format)\"")
            }
            guard formatName == RunFile.format else {
                throw RunFileError.unsupportedFormat(path: path, format: formatName)
            }
            config = try HDF5.locked {
                guard HDF5.kind(of: "config", in: opened) == .group else { return [:] }
                let group = H5Gopen2(opened, "config", rlhf_H5P_DEFAULT())
                guard group >= 0 else { throw RunFileError.readFailed(path: path, object: "/config", reason: HDF5.lastError()) }
                defer { H5Gclose(group) }
                return Dictionary(HDF5.readAttributes(group), uniquingKeysWith: { a, _ in a })
            }
            stageNames = try HDF5.locked {
                var stages: [(Int, String)] = []
                for name in HDF5.memberNames(opened) where name != "config" && HDF5.kind(of: name, in: opened) == .group {
                    let group = H5Gopen2(opened, name, rlhf_H5P_DEFAULT())
                    guard group >= 0 else { throw RunFileError.readFailed(path: path, object: "/\(name)", reason: HDF5.lastError()) }
                    defer { H5Gclose(group) }
                    stages.append((HDF5.readAttribute(group, "index")?.intValue ?? Int.max, name))
                }
                return stages.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map(\.1)
            }
            if case .string(let message) = attributes["error"] {
                error = RecordedError(
                    message: message, stage: attributes["error_stage"]?.stringValue, step: attributes["error_step"]?.intValue)
            } else {
                error = nil
            }
        } catch {
            HDF5.locked { _ = H5Fclose(opened) }
            throw error
        }
    }

    /// Opens the run file at `url` for reading.
    public convenience init(url: URL) throws {
        try self.init(path: url.path)
    }

    deinit { HDF5.locked { _ = H5Fclose(id) } }

    /// The run's name (root attribute `name`, else the file name without extension).
    public var name: String {
        if let name = attributes["name"]?.stringValue, !name.isEmpty { return name }
        return URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }

    /// `"running"` while a run writes (or after it was killed), `"complete"`, `"failed"`, or
    /// `"interrupted"` (stopped by SIGINT, SIGTERM or SIGHUP, every committed step kept).
    public var status: String { attributes["status"]?.stringValue ?? "unknown" }

    /// The stage `name`.
    public func stage(_ name: String) throws -> StageReader {
        guard stageNames.contains(name) else {
            throw RunFileError.notFound(path: path, object: "stage \"\(name)\"", available: stageNames)
        }
        return try HDF5.locked { try StageReader(run: self, name: name) }
    }

    /// Every stage, in the order the run created them.
    public func stages() throws -> [StageReader] {
        try stageNames.map { try stage($0) }
    }

    /// Every group and dataset in the file, depth first, members in name order.
    public func objects() -> [RunObject] {
        HDF5.locked {
            var objects: [RunObject] = []
            func visit(_ group: hid_t, _ path: String) {
                for name in HDF5.memberNames(group) {
                    let child = path == "/" ? "/\(name)" : "\(path)/\(name)"
                    switch HDF5.kind(of: name, in: group) {
                    case .group:
                        let id = H5Gopen2(group, name, rlhf_H5P_DEFAULT())
                        guard id >= 0 else { continue }
                        objects.append(RunObject(path: child, kind: .group, shape: [], type: "", attributes: HDF5.readAttributes(id)))
                        visit(id, child)
                        H5Gclose(id)
                    case .dataset:
                        let id = H5Dopen2(group, name, rlhf_H5P_DEFAULT())
                        guard id >= 0 else { continue }
                        objects.append(
                            RunObject(
                                path: child, kind: .dataset, shape: HDF5.shape(of: id), type: HDF5.typeName(of: id),
                                attributes: HDF5.readAttributes(id)))
                        H5Dclose(id)
                    default:
                        continue
                    }
                }
            }
            visit(id, "/")
            _ = HDF5.errorStack()
            return objects
        }
    }
}

/// A committed table read from the file: its step column and its columns in creation order.
struct TableInfo {
    var committed: Int
    var steps: [Int]
    /// Column (or, for tensors, subgroup) names in `index` order.
    var names: [String]
}

/// One stage of a run file being read.
public final class StageReader {
    /// The stage's name.
    public let name: String
    /// The stage's resolved hyperparameters (`/<stage>/config`).
    public let config: [String: ConfigValue]
    /// Tensor and activation statistics were kept every `statsEvery` steps.
    public let statsEvery: Int
    /// The step number of each committed step, in order.
    public let steps: [Int]
    /// Scalar metric names, in the order they first appeared.
    public let metricNames: [String]
    /// Wall-clock value names (`/<stage>/timing`), in the order they first appeared.
    public let timingNames: [String]
    /// The step of each timing row.
    public let timingSteps: [Int]
    /// Parameter names with statistics, in the order they first appeared (the model's order).
    public let tensorNames: [String]
    /// The step of each tensor statistics row.
    public let tensorSteps: [Int]
    /// Layer names with activation statistics, in the order they first appeared.
    public let activationNames: [String]
    /// The step of each activation statistics row.
    public let activationSteps: [Int]
    /// Eval metric names, in the order they first appeared.
    public let evalNames: [String]
    /// The training step of each evaluation.
    public let evalSteps: [Int]
    /// The number of committed rollout samples.
    public let rolloutCount: Int

    private let run: RunReader
    private var path: String { run.path }

    /// The number of committed steps.
    public var committedSteps: Int { steps.count }

    init(run: RunReader, name: String) throws {
        self.run = run
        self.name = name
        let group = H5Gopen2(run.id, name, rlhf_H5P_DEFAULT())
        guard group >= 0 else { throw RunFileError.readFailed(path: run.path, object: "/\(name)", reason: HDF5.lastError()) }
        defer { H5Gclose(group) }
        statsEvery = HDF5.readAttribute(group, "stats_every")?.intValue ?? 1
        if HDF5.kind(of: "config", in: group) == .group {
            let id = H5Gopen2(group, "config", rlhf_H5P_DEFAULT())
            config = id >= 0 ? Dictionary(HDF5.readAttributes(id), uniquingKeysWith: { a, _ in a }) : [:]
            if id >= 0 { H5Gclose(id) }
        } else {
            config = [:]
        }
        let metrics = try Self.table(group, "metrics", run.path, "/\(name)")
        steps = metrics.steps
        metricNames = metrics.names
        let timing = try Self.table(group, "timing", run.path, "/\(name)")
        timingSteps = timing.steps
        timingNames = timing.names
        let tensors = try Self.table(group, "tensors", run.path, "/\(name)")
        tensorSteps = tensors.steps
        tensorNames = tensors.names
        let activations = try Self.table(group, "activations", run.path, "/\(name)")
        activationSteps = activations.steps
        activationNames = activations.names
        let eval = try Self.table(group, "eval", run.path, "/\(name)")
        evalSteps = eval.steps
        evalNames = eval.names
        rolloutCount = try Self.table(group, "rollouts", run.path, "/\(name)").committed
    }

    /// Reads a table's committed count, steps and member names (an absent table is empty).
    private static func table(_ stage: hid_t, _ label: String, _ path: String, _ prefix: String) throws -> TableInfo {
        guard HDF5.kind(of: label, in: stage) == .group else { return TableInfo(committed: 0, steps: [], names: []) }
        let group = H5Gopen2(stage, label, rlhf_H5P_DEFAULT())
        let object = "\(prefix)/\(label)"
        guard group >= 0 else { throw RunFileError.readFailed(path: path, object: object, reason: HDF5.lastError()) }
        defer { H5Gclose(group) }
        guard let committed = HDF5.readAttribute(group, "committed")?.intValue, committed >= 0 else {
            throw RunFileError.readFailed(path: path, object: object, reason: "no \"committed\" count")
        }
        let stepID = H5Dopen2(group, "step", rlhf_H5P_DEFAULT())
        guard stepID >= 0 else { throw RunFileError.readFailed(path: path, object: "\(object)/step", reason: HDF5.lastError()) }
        defer { H5Dclose(stepID) }
        guard let steps = readInt64s(stepID, rows: committed) else {
            throw RunFileError.readFailed(
                path: path, object: "\(object)/step",
                reason: "\(committed) rows committed but the dataset holds \(HDF5.shape(of: stepID).first ?? 0)")
        }
        var named: [(Int, String)] = []
        for member in HDF5.memberNames(group) where member != "step" {
            guard let kind = HDF5.kind(of: member, in: group) else { continue }
            let id = H5Oopen(group, member, rlhf_H5P_DEFAULT())
            guard id >= 0 else { continue }
            defer { H5Oclose(id) }
            // Columns without an index (the flat token arrays of rollouts) are not listed.
            guard kind != .other, let index = HDF5.readAttribute(id, "index")?.intValue else { continue }
            named.append((index, member))
        }
        _ = HDF5.errorStack()
        let names = named.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map(\.1)
        return TableInfo(committed: committed, steps: steps.map { Int($0) }, names: names)
    }

    // MARK: - Reading columns

    /// Opens `/<stage>/<relative>` as a dataset and reads its committed rows.
    private func read<T>(_ relative: String, _ body: (hid_t) -> T?) throws -> T {
        let object = "/\(name)/\(relative)"
        return try HDF5.locked {
            guard H5Lexists(run.id, name, rlhf_H5P_DEFAULT()) > 0 else {
                throw RunFileError.notFound(path: path, object: object, available: [])
            }
            let id = H5Dopen2(run.id, object, rlhf_H5P_DEFAULT())
            guard id >= 0 else { throw RunFileError.readFailed(path: path, object: object, reason: HDF5.lastError()) }
            defer { H5Dclose(id) }
            guard let values = body(id) else {
                let shape = HDF5.shape(of: id).map(String.init).joined(separator: "×")
                throw RunFileError.readFailed(
                    path: path, object: object, reason: "it holds \(shape) values, fewer than the committed rows or of another shape")
            }
            return values
        }
    }

    /// The values of scalar metric `metric`, one per committed step (NaN where a step did not record it).
    public func metric(_ metric: String) throws -> [Double] {
        guard metricNames.contains(metric) else {
            throw RunFileError.notFound(path: path, object: "metric \"\(metric)\" in stage \(name)", available: metricNames)
        }
        return try read("metrics/\(metric)") { readDoubles($0, rows: steps.count, width: 0) }
    }

    /// The kinds (value, grad, update) recorded for parameter `tensor`.
    public func tensorKinds(_ tensor: String) -> [TensorKind] {
        guard tensorNames.contains(tensor) else { return [] }
        return HDF5.locked {
            TensorKind.allCases.filter { kind in
                H5Lexists(run.id, "/\(name)/tensors/\(tensor)", rlhf_H5P_DEFAULT()) > 0
                    && H5Lexists(run.id, "/\(name)/tensors/\(tensor)/\(kind.rawValue)", rlhf_H5P_DEFAULT()) > 0
            }
        }
    }

    /// The statistics of parameter `tensor`'s `kind`, one per row of `tensorSteps`.
    public func tensorStatistics(_ tensor: String, kind: TensorKind) throws -> [TensorStatistics] {
        guard tensorNames.contains(tensor) else {
            throw RunFileError.notFound(path: path, object: "tensor \"\(tensor)\" in stage \(name)", available: tensorNames)
        }
        guard tensorKinds(tensor).contains(kind) else {
            throw RunFileError.notFound(
                path: path, object: "\(kind.rawValue) statistics of \"\(tensor)\" in stage \(name)",
                available: tensorKinds(tensor).map(\.rawValue))
        }
        return try statistics("tensors/\(tensor)/\(kind.rawValue)", rows: tensorSteps.count)
    }

    /// The activation statistics of `layer`, one per row of `activationSteps`.
    public func activationStatistics(_ layer: String) throws -> [TensorStatistics] {
        guard activationNames.contains(layer) else {
            throw RunFileError.notFound(path: path, object: "activation \"\(layer)\" in stage \(name)", available: activationNames)
        }
        return try statistics("activations/\(layer)", rows: activationSteps.count)
    }

    private func statistics(_ relative: String, rows: Int) throws -> [TensorStatistics] {
        let width = TensorStatistics.columns.count
        let flat = try read(relative) { readDoubles($0, rows: rows, width: width) }
        return (0..<rows).map { TensorStatistics(row: flat[($0 * width)..<(($0 + 1) * width)]) }
    }

    /// The values of wall-clock value `name`, one per timing row (see `timingSteps`; NaN where a
    /// step did not record it).
    public func timing(_ name: String) throws -> [Double] {
        guard timingNames.contains(name) else {
            throw RunFileError.notFound(path: path, object: "timing \"\(name)\" in stage \(self.name)", available: timingNames)
        }
        return try read("timing/\(name)") { readDoubles($0, rows: timingSteps.count, width: 0) }
    }

    /// The values of eval metric `metric`, one per evaluation (see `evalSteps`).
    public func eval(_ metric: String) throws -> [Double] {
        guard evalNames.contains(metric) else {
            throw RunFileError.notFound(path: path, object: "eval metric \"\(metric)\" in stage \(name)", available: evalNames)
        }
        return try read("eval/\(metric)") { readDoubles($0, rows: evalSteps.count, width: 0) }
    }

    /// The step of every committed rollout sample.
    public func rolloutSteps() throws -> [Int] {
        guard rolloutCount > 0 else { return [] }
        return try read("rollouts/step") { readInt64s($0, rows: rolloutCount) }.map { Int($0) }
    }

    /// Committed rollout samples `range` (all by default), with the step that generated each.
    public func rollouts(_ range: Range<Int>? = nil) throws -> [RecordedRollout] {
        let range = range ?? 0..<rolloutCount
        guard range.lowerBound >= 0, range.upperBound <= rolloutCount else {
            throw RunFileError.notFound(
                path: path, object: "rollout samples \(range.lowerBound)..<\(range.upperBound) in stage \(name)",
                available: ["0..<\(rolloutCount)"])
        }
        guard !range.isEmpty else { return [] }
        let n = range.upperBound
        let step = try read("rollouts/step") { readInt64s($0, rows: n) }
        let reward = try read("rollouts/reward") { readDoubles($0, rows: n, width: 0) }
        let promptOffset = try read("rollouts/prompt_offset") { readInt64s($0, rows: n) }
        let promptLength = try read("rollouts/prompt_length") { readInt64s($0, rows: n) }
        let responseOffset = try read("rollouts/response_offset") { readInt64s($0, rows: n) }
        let responseLength = try read("rollouts/response_length") { readInt64s($0, rows: n) }
        let texts = try ["prompt_text", "response_text"].map { label -> [String?] in
            let exists = HDF5.locked { H5Lexists(run.id, "/\(name)/rollouts/\(label)", rlhf_H5P_DEFAULT()) > 0 }
            return exists ? try read("rollouts/\(label)") { readStrings($0, rows: n) } : [String?](repeating: nil, count: n)
        }
        var samples: [RecordedRollout] = []
        for i in range {
            let (po, pl) = (Int(promptOffset[i]), Int(promptLength[i]))
            let (ro, rl) = (Int(responseOffset[i]), Int(responseLength[i]))
            let prompt = try read("rollouts/prompt_ids") { readInt32s($0, start: po, rows: pl) }
            let response = try read("rollouts/response_ids") { readInt32s($0, start: ro, rows: rl) }
            let advantages = try read("rollouts/advantages") { readDoubles($0, start: ro, rows: rl) }
            let logprobs = try read("rollouts/logprobs") { readDoubles($0, start: ro, rows: rl) }
            let sample = RolloutSample(
                promptIDs: prompt, responseIDs: response, reward: reward[i],
                advantages: advantages.allSatisfy(\.isNaN) ? [] : advantages,
                logprobs: logprobs.allSatisfy(\.isNaN) ? [] : logprobs,
                promptText: texts[0][i], responseText: texts[1][i])
            samples.append(RecordedRollout(step: Int(step[i]), sample: sample))
        }
        return samples
    }
}
