import Foundation

/// The process's resident memory as Linux reports it (`/proc/self/status`): for the run file's
/// memory columns and the benchmarks. Elsewhere every value is 0.
public enum ResidentMemory {
    /// Resident bytes now (`VmRSS`).
    public static var currentBytes: Int { statusBytes("VmRSS:") }

    /// The most resident bytes since the process started or since ``resetPeak()`` (`VmHWM`).
    public static var peakBytes: Int { statusBytes("VmHWM:") }

    /// Starts the peak over from the current resident size (writes 5 to `/proc/self/clear_refs`);
    /// it is process-wide, so work on other threads counts too. Heap memory freed earlier is first
    /// handed back to the system (`malloc_trim`), so the new peak counts what is live from here on,
    /// not what an earlier stage or benchmark freed and the allocator kept (see `keepFreedMemory`).
    public static func resetPeak() {
        #if os(Linux)
            if let symbol = dlsym(nil, "malloc_trim") {
                typealias MallocTrim = @convention(c) (Int) -> Int32
                _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
            }
            let fd = open("/proc/self/clear_refs", O_WRONLY)
            guard fd >= 0 else { return }
            _ = "5".withCString { write(fd, $0, 1) }
            close(fd)
        #endif
    }

    private static func statusBytes(_ key: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kb = Int(fields[1]) { return kb * 1024 }
        }
        return 0
    }
}

extension Tensor {
    /// The most elements any recorded or unrecorded operation returned on this thread since
    /// ``resetLargestActivation()``: the largest activation buffer of a forward.
    public static var largestActivationCount: Int { NoGradDepth.current.largestResult }

    /// Starts ``largestActivationCount`` over from 0 on this thread.
    public static func resetLargestActivation() { NoGradDepth.current.largestResult = 0 }
}
