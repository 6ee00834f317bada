/// Why a collective could not complete.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// Another rank reported an error; every rank stops with it.
    case rankFailed(rank: Int, message: String)
    /// The wait was abandoned: a stop signal arrived (a peer died and `mpirun` ended the job, or a
    /// person or scheduler stopped it).
    case stopped
    /// MPI itself returned an error code.
    case mpi(operation: String, code: Int32)

    public var description: String {
        switch self {
        case .rankFailed(let rank, let message): return "rank \(rank) failed: \(message)"
        case .stopped:
            return "stopped while waiting for the other ranks (a rank ended or the job was stopped); completed steps are kept"
        case .mpi(let operation, let code): return "MPI \(operation) failed with error code \(code)"
        }
    }
}
