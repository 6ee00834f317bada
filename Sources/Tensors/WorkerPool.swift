import CKernels
import Foundation
import Synchronization

/// Threads that stay alive between parallel regions and spin briefly before sleeping, so that a
/// region costs an atomic store and a few loads instead of waking threads through the kernel.
/// Decoding runs ~30 small regions per token; through `DispatchQueue.concurrentPerform` their
/// wake-ups cost more than the second core gave back.
///
/// One region runs at a time. The caller takes part: it claims indices like the workers, then
/// closes the region (workers that have not joined by then stay out of it) and waits for the
/// workers that joined to finish the index they hold. Which thread runs an index never changes
/// its bits.
final class WorkerPool: @unchecked Sendable {
    /// Generation (bits 32…63, wrapping), a "closed" bit and the number of workers that joined (low bits).
    private let state = Atomic<Int>(0)
    private let nextIndex = Atomic<Int>(0)
    private let left = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private static let closedBit = 1 << 31, joinedMask = (1 << 31) - 1
    /// The generation of a state; generations are only compared for equality, so they may wrap.
    @inline(__always) private static func generation(_ state: Int) -> Int { state >> 32 }

    /// The current region; written only while no worker can join.
    private nonisolated(unsafe) var body: ((Int) -> Void)?
    private nonisolated(unsafe) var count = 0
    /// How many workers may join the current region (atomic: a worker may read it as the next region starts).
    private let maxJoined = Atomic<Int>(0)

    private let lock = NSCondition()
    private nonisolated(unsafe) var sleepers = 0
    let workers: Int

    /// How long a worker spins for the next region before it sleeps.
    private static let spinNanoseconds: UInt64 = 200_000

    /// Starts `workers` threads. They hold the pool and live as long as the process.
    init(workers: Int) {
        self.workers = workers
        for index in 0..<workers {
            let thread = Thread { self.work() }
            thread.name = "rlhf-worker-\(index)"
            thread.start()
        }
    }

    /// Runs `body(i)` for `i` in `0..<count` on the caller and at most `helpers` workers.
    /// Returns false, running nothing, when another region is running (a nested or concurrent call).
    func run(_ count: Int, helpers: Int, _ body: (Int) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count = count
            maxJoined.store(min(helpers, workers), ordering: .relaxed)
            nextIndex.store(0, ordering: .relaxed)
            left.store(0, ordering: .relaxed)
            let generation = Self.generation(state.load(ordering: .relaxed)) &+ 1
            state.store(generation &<< 32, ordering: .releasing)
            lock.lock()
            if sleepers > 0 { lock.broadcast() }
            lock.unlock()

            claim(body, count)

            // Close the region, then wait for the workers inside it.
            var current = state.load(ordering: .acquiring)
            while true {
                let (exchanged, original) = state.compareExchange(
                    expected: current, desired: current | Self.closedBit,
                    ordering: .acquiringAndReleasing)
                if exchanged { break }
                current = original
            }
            let joined = current & Self.joinedMask
            while left.load(ordering: .acquiring) < joined { rlhf_spin_pause() }
            self.body = nil
        }
        return true
    }

    private func claim(_ body: (Int) -> Void, _ count: Int) {
        while true {
            let i = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= count { return }
            body(i)
        }
    }

    private func work() {
        var seen = 0
        while true {
            let current = waitForRegion(after: seen)
            guard current & Self.closedBit == 0, current & Self.joinedMask < maxJoined.load(ordering: .relaxed) else {
                seen = Self.generation(current)
                continue
            }
            // Another worker may have joined meanwhile: then look at the same region again.
            guard state.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing).exchanged
            else { continue }
            seen = Self.generation(current)
            joinRegion()
            left.wrappingAdd(1, ordering: .releasing)
        }
    }

    /// A worker's part of the region. Not inlined: its copy of `body` must be released before the
    /// worker reports that it left (`withoutActuallyEscaping` checks that nothing kept the closure).
    @inline(never) private func joinRegion() {
        claim(body!, count)
    }

    /// Spins, then sleeps, until a region newer than generation `seen` is published; returns the state.
    private func waitForRegion(after seen: Int) -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        var spins = 0
        while true {
            let current = state.load(ordering: .acquiring)
            if Self.generation(current) != seen { return current }
            spins += 1
            if spins & 255 != 0 {
                rlhf_spin_pause()
                continue
            }
            if DispatchTime.now().uptimeNanoseconds - start < Self.spinNanoseconds { continue }
            lock.lock()
            sleepers += 1
            while Self.generation(state.load(ordering: .acquiring)) == seen { lock.wait() }
            sleepers -= 1
            lock.unlock()
        }
    }
}
