import CMPI
import Foundation

/// The processes of a job: this process's rank among `size`, and the collectives between them.
///
/// A process started by `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`) joins the MPI job the first
/// time `World.shared` is read; any other process is a world of one, and every collective is a
/// copy. Rank 0 is the writer: it alone writes the run file, reports and checkpoints.
///
/// Every collective waits by polling, so a rank whose peer died (or that was asked to stop by a
/// signal) leaves the wait when `shouldStop` says so instead of hanging in MPI.
public final class World: @unchecked Sendable {
    /// This process's rank, 0 ..< size.
    public let rank: Int
    /// The number of processes in the job.
    public let size: Int
    /// Whether this process writes files (rank 0).
    public var isWriter: Bool { rank == 0 }
    /// Whether MPI was initialised (the process was started by `mpirun`).
    public let usesMPI: Bool
    /// Nanoseconds spent in collectives since the last ``takeCollectiveSeconds()``.
    var collectiveNanoseconds: UInt64 = 0

    /// The seconds this rank spent in collectives (moving data, and waiting for slower ranks)
    /// since the last call.
    public func takeCollectiveSeconds() -> Double {
        defer { collectiveNanoseconds = 0 }
        return Double(collectiveNanoseconds) / 1e9
    }

    /// Asked while a collective waits; true abandons the wait with ``DistributedError/stopped``.
    /// The command line sets it to "a stop signal arrived".
    public nonisolated(unsafe) static var shouldStop: () -> Bool = { false }

    /// The job this process belongs to.
    public static let shared: World = {
        let environment = ProcessInfo.processInfo.environment
        guard let size = environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init), size >= 1 else { return World() }
        return World.joinMPI()
    }()

    /// A world of one process.
    public init() {
        rank = 0
        size = 1
        usesMPI = false
    }

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
        usesMPI = true
    }

    private static func joinMPI() -> World {
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, rlhf_MPI_THREAD_SERIALIZED(), &provided)
        MPI_Comm_set_errhandler(rlhf_MPI_COMM_WORLD(), rlhf_MPI_ERRORS_RETURN())
        var rank: Int32 = 0
        var size: Int32 = 0
        MPI_Comm_rank(rlhf_MPI_COMM_WORLD(), &rank)
        MPI_Comm_size(rlhf_MPI_COMM_WORLD(), &size)
        return World(rank: Int(rank), size: Int(size))
    }

    /// How many ranks of the job run on this machine (Open MPI's `OMPI_COMM_WORLD_LOCAL_SIZE`).
    public var ranksOnThisMachine: Int {
        guard usesMPI else { return 1 }
        return ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1
    }

    /// Leaves the MPI job (after the last collective); a world of one has nothing to do.
    public func finalize() {
        guard usesMPI else { return }
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// Ends every process of the job at once (a rank that cannot go on); `code` is the exit status.
    public func abort(code: Int32) -> Never {
        if usesMPI { MPI_Abort(rlhf_MPI_COMM_WORLD(), code) }
        exit(code)
    }
}
