import Dispatch
import Foundation
import Synchronization
@testable import Tensors
import Testing

/// The worker pool behind `Parallel.perform`: every index runs exactly once, region after region,
/// from nested and from concurrent callers.
@Suite struct WorkerPoolTests {
    /// Runs `perform` over `count` indices and returns how often each ran.
    func tally(_ pool: WorkerPool, _ count: Int, helpers: Int) -> [Int] {
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
        counts.initialize(repeating: 0)
        defer { counts.deallocate() }
        let ran = pool.run(count, helpers: helpers) { i in counts[i] += 1 }
        if !ran { for i in 0..<count { counts[i] += 1 } }
        return Array(counts)
    }

    @Test func everyIndexRunsOnceInEveryRegion() {
        let pool = WorkerPool(workers: 3)
        for region in 0..<3_000 {
            let count = [1, 2, 3, 7, 32, 100][region % 6]
            let counts = tally(pool, count, helpers: region % 4)
            #expect(counts == [Int](repeating: 1, count: count), "region \(region)")
        }
    }

    @Test func workersRunIndicesWhileTheCallerWaits() {
        // Slow bodies give the workers time to join: some index must run off the calling thread.
        let pool = WorkerPool(workers: 2)
        let caller = Thread.current
        let others = Atomic<Int>(0)
        var sawWorker = false
        for _ in 0..<50 where !sawWorker {
            _ = pool.run(8, helpers: 2) { _ in
                usleep(200)
                if Thread.current != caller { others.wrappingAdd(1, ordering: .relaxed) }
            }
            sawWorker = others.load(ordering: .relaxed) > 0
        }
        #expect(sawWorker)
    }

    @Test func nestedAndConcurrentCallsRunOnTheirOwnThread() {
        let pool = WorkerPool(workers: 2)
        let total = Atomic<Int>(0)
        // Nested: the inner region finds the pool busy and runs on the calling thread.
        let ran = pool.run(4, helpers: 2) { _ in
            #expect(!pool.run(3, helpers: 2) { _ in })
            total.wrappingAdd(1, ordering: .relaxed)
        }
        #expect(ran && total.load(ordering: .relaxed) == 4)

        // Concurrent callers through Parallel.perform: each gets all of its indices, whoever runs them.
        let sums = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
        sums.initialize(repeating: 0)
        defer { sums.deallocate() }
        withThreads(3) {
            DispatchQueue.concurrentPerform(iterations: 8) { caller in
                for _ in 0..<200 {
                    let parts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 16)
                    parts.initialize(repeating: 0)
                    Parallel.perform(16) { i in parts[i] = i + 1 }
                    sums[caller] += parts.reduce(0, +)
                    parts.deallocate()
                }
            }
        }
        #expect(Array(sums) == [Int](repeating: 200 * 136, count: 8))
    }
}
