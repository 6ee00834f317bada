// The writer side of the run file: one HDF5 file per run (layout in docs/run-file.md).
//
// Crash safety, as measured on libhdf5 1.10 (docs/run-file.md, "Nothing lost"): a step's rows are
// written and the file flushed, then each table's `committed` count is bumped and the file flushed
// again. A run killed at any moment leaves a file that opens in plain h5py, whose committed counts
// cover every step that `commit(step:)` finished; a row torn by the kill lies past the count and
// reads as NaN. The earliest file format is used on purpose: a killed SWMR (latest-format) file
// refuses a plain `h5py.File(path)` until `h5clear -s`.

import CHDF5
import Foundation

/// The attributes on the root group of a run file.
public struct RunAttributes: Sendable, Equatable {
    /// The run's name; reports go to `results/<name>` by default.
    public var name: String
    /// The full source text of the recipe that made the run.
    public var recipe: String
    /// The seed every random stream was forked from.
    public var seed: UInt64
    /// The worker thread count (results are bit-identical only at the same count).
    public var threads: Int
    /// The swift-rlhf version that wrote the file.
    public var version: String
    /// When the run started (ISO 8601); nil takes the current time. Never used in a report; with
    /// the `/<stage>/timing` groups, the only value that differs between two same-seed runs.
    public var created: String?
    /// Further root attributes (host, command line, ...).
    public var extra: [String: ConfigValue]

    public init(
        name: String, recipe: String = "", seed: UInt64 = 0, threads: Int = 1, version: String = "",
        created: String? = nil, extra: [String: ConfigValue] = [:]
    ) {
        self.name = name
        self.recipe = recipe
        self.seed = seed
        self.threads = threads
        self.version = version
        self.created = created
        self.extra = extra
    }
}

/// The state shared by a run file and its stages.
final class OpenFile {
    let path: String
    var id: hid_t
    var isOpen = true

    init(path: String, id: hid_t) {
        self.path = path
        self.id = id
    }

    func ensureOpen() throws {
        guard isOpen else { throw RunFileError.closed(path: path) }
    }

    /// Flushes every buffered row and attribute to the file.
    func flush() throws {
        guard H5Fflush(id, H5F_SCOPE_LOCAL) >= 0 else {
            throw RunFileError.writeFailed(path: path, object: "the file (flush)", reason: HDF5.lastError())
        }
    }

    func writeFailed(_ object: String) -> RunFileError {
        .writeFailed(path: path, object: object, reason: HDF5.lastError())
    }
}

/// An open run file being written: root attributes, the resolved config, and one group per stage.
///
/// ```swift
/// let run = try RunFile.create(at: "runs/quickstart.h5", attributes: RunAttributes(name: "quickstart", seed: 42))
/// try run.setConfig(["learningRate": 3e-3, "packing": true])
/// let sft = try run.stage("sft")
/// try sft.record(metrics: ["loss": 2.31, "lr": 3e-3])
/// try sft.record(tensor: "model.embed_tokens.weight", kind: .grad, stats: TensorStatistics(grad))
/// try sft.commit(step: 0)
/// try run.close()
/// ```
///
/// A `RunFile` is not thread-safe; record from one thread. Calls into HDF5 are serialized across
/// all run files and readers of the process.
public final class RunFile {
    /// The value of the root `format` attribute.
    public static let format = "swift-rlhf/run/1"

    /// The file's path.
    public let path: String
    let file: OpenFile
    private let config: hid_t
    private var stages: [String: StageRecorder] = [:]
    private var stageOrder: [String] = []
    private var failed = false

    private init(file: OpenFile, config: hid_t) {
        self.path = file.path
        self.file = file
        self.config = config
    }

    /// Creates (or replaces) the run file at `path` and writes its root attributes.
    ///
    /// The file is created under a temporary name in the same folder and renamed into place, so an
    /// existing file or symbolic link at `path` is replaced, never written through.
    ///
    /// - Throws: `RunFileError.cannotCreate` when the file cannot be created.
    public static func create(at path: String, attributes: RunAttributes) throws -> RunFile {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).partial").path
        let file = try create(temporary: temporary, path: path, attributes: attributes)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? file.close()
            unlink(temporary)
            throw RunFileError.cannotCreate(path: path, reason: reason)
        }
        return file
    }

    private static func create(temporary: String, path: String, attributes: RunAttributes) throws -> RunFile {
        try HDF5.locked {
            let access = HDF5.fileAccess()
            defer { H5Pclose(access) }
            let creation = H5Pcreate(rlhf_H5P_FILE_CREATE())
            defer { H5Pclose(creation) }
            H5Pset_obj_track_times(creation, false)
            let id = H5Fcreate(temporary, rlhf_H5F_ACC_EXCL(), creation, access)
            guard id >= 0 else { throw RunFileError.cannotCreate(path: path, reason: HDF5.lastError()) }
            let file = OpenFile(path: path, id: id)
            let created = attributes.created ?? ISO8601DateFormatter().string(from: Date())
            var root: [(String, ConfigValue)] = [
                ("format", .string(format)), ("name", .string(attributes.name)),
                ("recipe", .string(attributes.recipe)), ("seed", .uint(attributes.seed)),
                ("threads", .int(attributes.threads)), ("version", .string(attributes.version)),
                ("created", .string(created)), ("status", .string("running")),
            ]
            let reserved = Set(root.map(\.0) + ["error", "error_stage", "error_step"])
            for key in attributes.extra.keys.sorted() where !reserved.contains(key) {
                root.append((key, attributes.extra[key]!))
            }
            for (key, value) in root {
                guard HDF5.writeAttribute(id, key, value) else {
                    let error = RunFileError.cannotCreate(path: path, reason: "attribute \(key): \(HDF5.lastError())")
                    H5Fclose(id)
                    throw error
                }
            }
            let plist = HDF5.groupCreation()
            defer { H5Pclose(plist) }
            let config = H5Gcreate2(id, "config", rlhf_H5P_DEFAULT(), plist, rlhf_H5P_DEFAULT())
            guard config >= 0 else {
                let error = RunFileError.cannotCreate(path: path, reason: "group /config: \(HDF5.lastError())")
                H5Fclose(id)
                throw error
            }
            try file.flush()
            return RunFile(file: file, config: config)
        }
    }

    /// Creates (or replaces) the run file at `url`.
    public static func create(at url: URL, attributes: RunAttributes) throws -> RunFile {
        try create(at: url.path, attributes: attributes)
    }

    /// Records resolved hyperparameters as attributes of `/config` (a key given again replaces
    /// the earlier value).
    public func setConfig(_ values: [String: ConfigValue]) throws {
        try HDF5.locked {
            try file.ensureOpen()
            for key in values.keys.sorted() {
                try validateAttributeName(key, path: path)
                guard HDF5.writeAttribute(config, key, values[key]!) else { throw file.writeFailed("/config attribute \(key)") }
            }
            try file.flush()
        }
    }

    /// Replaces the root `recipe` attribute: a REPL session's recipe is the statements that ran,
    /// which grow after the file was created.
    public func setRecipe(_ text: String) throws {
        try HDF5.locked {
            try file.ensureOpen()
            guard HDF5.writeAttribute(file.id, "recipe", .string(text)) else { throw file.writeFailed("root attribute recipe") }
            try file.flush()
        }
    }

    /// The recorder of stage `name`, creating the group `/<name>` on first use.
    ///
    /// - Parameters:
    ///   - name: A stage name such as `"sft"` or `"grpo"`; unique within the run.
    ///   - statsEvery: Keep tensor and activation statistics at steps that are multiples of this.
    ///     Scalar metrics are kept at every step.
    public func stage(_ name: String, statsEvery: Int = 1) throws -> StageRecorder {
        try HDF5.locked {
            try file.ensureOpen()
            if let existing = stages[name] { return existing }
            try validateName(name, what: "a stage name", reserved: ["config"], path: path)
            let recorder = try StageRecorder(
                file: file, name: name, index: stageOrder.count, statsEvery: max(1, statsEvery))
            stages[name] = recorder
            stageOrder.append(name)
            return recorder
        }
    }

    /// Records that the run failed: root attributes `error` (the message), `error_stage`,
    /// `error_step` when given, and `status = "failed"` — or `"interrupted"` when a signal
    /// (SIGINT, SIGTERM, SIGHUP) stopped it. Rows not yet committed are dropped; every committed
    /// step stays. Call `close()` afterwards.
    public func recordError(_ message: String, stage: String? = nil, step: Int? = nil, interrupted: Bool = false) throws {
        try HDF5.locked {
            try file.ensureOpen()
            failed = true
            let status = interrupted ? "interrupted" : "failed"
            var values: [(String, ConfigValue)] = [("error", .string(message)), ("status", .string(status))]
            if let stage { values.append(("error_stage", .string(stage))) }
            if let step { values.append(("error_step", .int(step))) }
            for (key, value) in values {
                guard HDF5.writeAttribute(file.id, key, value) else { throw file.writeFailed("root attribute \(key)") }
            }
            try file.flush()
        }
    }

    /// Trims every dataset to its committed rows, sets `status` to `"complete"` (unless an error
    /// was recorded) and closes the file. Rows not yet committed are dropped. Closing twice is
    /// allowed.
    public func close() throws {
        try HDF5.locked {
            guard file.isOpen else { return }
            defer {
                for name in stageOrder { stages[name]!.closeObjects() }
                H5Gclose(config)
                H5Fclose(file.id)
                file.isOpen = false
            }
            for name in stageOrder { try stages[name]!.trim() }
            if !failed {
                guard HDF5.writeAttribute(file.id, "status", .string("complete")) else {
                    throw file.writeFailed("root attribute status")
                }
            }
            try file.flush()
        }
    }

    deinit { try? close() }
}

/// Checks that `name` can be an HDF5 link name in a run file.
func validateName(_ name: String, what: String, reserved: Set<String>, path: String) throws {
    let reason: String?
    if name.isEmpty {
        reason = "\(what) cannot be empty"
    } else if name.utf8.contains(0) {
        reason = "\(what) cannot contain a NUL byte (HDF5 ends a name there)"
    } else if name.contains("/") {
        reason = "\(what) cannot contain \"/\" (HDF5 reads it as a group separator)"
    } else if name == "." || name == ".." {
        reason = "\(what) cannot be \".\" or \"..\""
    } else if reserved.contains(name) {
        reason = "\"\(name)\" is reserved in this group of the run file"
    } else {
        reason = nil
    }
    if let reason { throw RunFileError.invalidName(path: path, name: name, reason: reason) }
}

/// Checks that `name` can be an attribute name.
func validateAttributeName(_ name: String, path: String) throws {
    if name.isEmpty { throw RunFileError.invalidName(path: path, name: name, reason: "an attribute name cannot be empty") }
    if name.utf8.contains(0) {
        throw RunFileError.invalidName(path: path, name: name, reason: "an attribute name cannot contain a NUL byte (HDF5 ends a name there)")
    }
}
