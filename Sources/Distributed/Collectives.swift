import CMPI
import Foundation

// The three collectives training needs. Each is MPI's non-blocking form completed by polling (see
// `wait`), and a plain copy in a world of one. None reduces arithmetic: sums are made by the
// callers in an order fixed by them, since MPI's reductions promise no order across rank counts.

extension World {
    /// Every rank's bytes, in rank order.
    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard usesMPI else { return [bytes] }
        let counts = try allGatherCounts(bytes.count)
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + counts[r - 1] }
        var received = [UInt8](repeating: 0, count: Int(counts.reduce(0, +)))
        var request: MPI_Request? = nil
        try bytes.withUnsafeBufferPointer { send in
            try received.withUnsafeMutableBufferPointer { receive in
                try check(
                    MPI_Iallgatherv(
                        send.baseAddress, Int32(send.count), rlhf_MPI_BYTE(), receive.baseAddress, counts, offsets, rlhf_MPI_BYTE(),
                        rlhf_MPI_COMM_WORLD(), &request), "Iallgatherv")
                try wait(&request, "Iallgatherv")
            }
        }
        return (0..<size).map { r in Array(received[Int(offsets[r])..<Int(offsets[r] + counts[r])]) }
    }

    /// Every rank's floats, concatenated in rank order; `counts[r]` is how many rank r gives.
    public func allGather(_ floats: UnsafeBufferPointer<Float>, counts: [Int]) throws -> [Float] {
        guard usesMPI else { return Array(floats) }
        let counts32 = counts.map { Int32($0) }
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + counts32[r - 1] }
        var received = [Float](repeating: 0, count: counts.reduce(0, +))
        var request: MPI_Request? = nil
        try received.withUnsafeMutableBufferPointer { receive in
            try check(
                MPI_Iallgatherv(
                    floats.baseAddress, Int32(floats.count), rlhf_MPI_FLOAT(), receive.baseAddress, counts32, offsets,
                    rlhf_MPI_FLOAT(), rlhf_MPI_COMM_WORLD(), &request), "Iallgatherv")
            try wait(&request, "Iallgatherv")
        }
        return received
    }

    /// Sends `send[offset[r] ..< offset[r] + sendCounts[r]]` to each rank r and returns what each
    /// rank sent here, concatenated in rank order (`receiveCounts[r]` floats from rank r).
    public func allToAll(
        _ send: UnsafeBufferPointer<Float>, sendCounts: [Int], sendOffsets: [Int], receiveCounts: [Int]
    ) throws -> [Float] {
        guard usesMPI else { return Array(send[sendOffsets[0]..<(sendOffsets[0] + sendCounts[0])]) }
        var receiveOffsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { receiveOffsets[r] = receiveOffsets[r - 1] + Int32(receiveCounts[r - 1]) }
        var received = [Float](repeating: 0, count: receiveCounts.reduce(0, +))
        var request: MPI_Request? = nil
        try received.withUnsafeMutableBufferPointer { receive in
            try check(
                MPI_Ialltoallv(
                    send.baseAddress, sendCounts.map { Int32($0) }, sendOffsets.map { Int32($0) }, rlhf_MPI_FLOAT(),
                    receive.baseAddress, receiveCounts.map { Int32($0) }, receiveOffsets, rlhf_MPI_FLOAT(),
                    rlhf_MPI_COMM_WORLD(), &request), "Ialltoallv")
            try wait(&request, "Ialltoallv")
        }
        return received
    }

    /// Waits until every rank arrives.
    public func barrier() throws {
        guard usesMPI else { return }
        var request: MPI_Request? = nil
        try check(MPI_Ibarrier(rlhf_MPI_COMM_WORLD(), &request), "Ibarrier")
        try wait(&request, "Ibarrier")
    }

    private func allGatherCounts(_ count: Int) throws -> [Int32] {
        var mine = Int32(count)
        var counts = [Int32](repeating: 0, count: size)
        var request: MPI_Request? = nil
        try check(
            MPI_Iallgather(&mine, 1, rlhf_MPI_INT(), &counts, 1, rlhf_MPI_INT(), rlhf_MPI_COMM_WORLD(), &request), "Iallgather")
        try wait(&request, "Iallgather")
        return counts
    }

    /// Polls `request` until it completes. Polling (rather than a blocking call) lets a rank leave
    /// when a stop signal arrives — `mpirun` sends SIGTERM to the survivors when a rank dies — so it
    /// can record what happened instead of hanging in MPI.
    private func wait(_ request: inout MPI_Request?, _ operation: String) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { collectiveNanoseconds += DispatchTime.now().uptimeNanoseconds - started }
        var done: Int32 = 0
        var polls = 0
        while true {
            try check(MPI_Test(&request, &done, rlhf_MPI_STATUS_IGNORE()), operation)
            if done != 0 { return }
            if World.shouldStop() { throw DistributedError.stopped }
            polls += 1
            if polls > 2_000 { usleep(50) }
        }
    }

    private func check(_ code: Int32, _ operation: String) throws {
        if code != rlhf_MPI_SUCCESS() { throw DistributedError.mpi(operation: operation, code: code) }
    }
}
