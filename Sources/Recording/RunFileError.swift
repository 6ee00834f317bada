/// What went wrong with a run file: which file, what is wrong, and how to fix it.
public enum RunFileError: Error, CustomStringConvertible, Equatable {
    /// No file at the path.
    case fileNotFound(path: String)
    /// The file exists but is not HDF5 at all.
    case notHDF5(path: String)
    /// The file is HDF5 (or starts like it) but the library cannot open it: truncated, damaged.
    case unreadable(path: String, reason: String)
    /// An HDF5 file that was not written by swift-rlhf (no `format` attribute, or another one).
    case notARunFile(path: String, found: String)
    /// A run file of a newer format than this reader knows.
    case unsupportedFormat(path: String, format: String)
    /// The file could not be created.
    case cannotCreate(path: String, reason: String)
    /// Writing an object failed (disk full, file removed, closed).
    case writeFailed(path: String, object: String, reason: String)
    /// Reading an object failed, or it holds something the run file never writes.
    case readFailed(path: String, object: String, reason: String)
    /// A stage, metric, tensor or layer name cannot be an HDF5 object name here.
    case invalidName(path: String, name: String, reason: String)
    /// A recorded value breaks a rule of the file: a step that does not increase, per-token
    /// arrays whose length is not the response's.
    case invalidRecord(path: String, what: String, reason: String)
    /// A stage, metric, tensor, layer or eval metric the file does not hold.
    case notFound(path: String, object: String, available: [String])
    /// The file was closed before this call.
    case closed(path: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file. Check the path to the run's .h5 file."
        case .notHDF5(let path):
            return "\(path): not an HDF5 file (no HDF5 signature). Give the .h5 run file that `rlhf run` wrote."
        case .unreadable(let path, let reason):
            return
                "\(path): HDF5 cannot open this file (\(reason)). It is truncated or damaged; if it was being copied, copy it again from the run's machine."
        case .notARunFile(let path, let found):
            return
                "\(path): an HDF5 file, but not a swift-rlhf run file (\(found)). Give a file written by `rlhf run`; other HDF5 files can be read with h5py or h5dump."
        case .unsupportedFormat(let path, let format):
            return "\(path): run file format \"\(format)\" is newer than this tool reads (\(RunFile.format)). Update swift-rlhf."
        case .cannotCreate(let path, let reason):
            return "\(path): cannot create the run file (\(reason)). Check that the folder exists and is writable."
        case .writeFailed(let path, let object, let reason):
            return
                "\(path): writing \(object) failed (\(reason)). Check free disk space and that the file was not removed while the run was writing it."
        case .readFailed(let path, let object, let reason):
            return "\(path): reading \(object) failed (\(reason)). The file may be damaged; `h5dump -H \(path)` shows what HDF5 can still read."
        case .invalidName(let path, let name, let reason):
            return "\(path): \"\(name)\" cannot be recorded: \(reason). Rename it."
        case .invalidRecord(let path, let what, let reason):
            return "\(path): cannot record \(what): \(reason)."
        case .notFound(let path, let object, let available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "\(path): no \(object) in this run file. Available: \(list)."
        case .closed(let path):
            return "\(path): the run file is already closed. Record before calling close()."
        }
    }
}
