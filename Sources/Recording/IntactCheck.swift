// libhdf5 1.10 follows the global-heap references of variable-length strings without checking
// them, so a damaged run file can crash the reading process (SIGSEGV in H5HG_read) or spin in it
// forever (H5C_protect) instead of failing a call. A reader that must not die or hang — a
// recipe's `Run.open`, `rlhf inspect` — first reads every attribute and every string dataset in
// a forked child (HDF5's lock survives fork, see HDF5.swift), which it kills after a deadline.

import CHDF5
import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension RunReader {
    /// Throws `RunFileError.unreadable` when reading the attributes and strings of the file at
    /// `path` crashes the HDF5 library or has not finished after `seconds`; any other failure is
    /// left to the reader that follows. Where `fork` fails, nothing is checked.
    public static func checkIntact(path: String, seconds: Double = 60) throws {
        let child = fork()
        if child == 0 {
            for number in [SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP] { signal(number, SIG_DFL) }
            if let run = try? RunReader(path: path) {
                _ = run.objects()
                for stage in (try? run.stages()) ?? [] { _ = try? stage.rollouts() }
            }
            // Closing every file frees what HDF5 cached of this one; a damaged attribute message
            // crashed there (H5A__close) when the parent later closed another file.
            HDF5.locked { _ = H5close() }
            _exit(0)
        }
        guard child > 0 else { return }
        var status: Int32 = 0
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        while true {
            let done = waitpid(child, &status, WNOHANG)
            if done == child || (done < 0 && errno != EINTR) { break }
            if DispatchTime.now().uptimeNanoseconds > deadline {
                kill(child, SIGKILL)
                while waitpid(child, &status, 0) < 0 && errno == EINTR {}
                throw RunFileError.unreadable(
                    path: path,
                    reason: "reading it made the HDF5 library loop for \(Int(seconds)) s, so it holds references that lead outside its data")
            }
            usleep(2_000)
        }
        let signal = status & 0x7F
        guard signal == 0 else {
            throw RunFileError.unreadable(
                path: path, reason: "reading it crashed the HDF5 library with signal \(signal), so it holds references that lead outside its data")
        }
    }
}
