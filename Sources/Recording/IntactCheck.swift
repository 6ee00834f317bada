// libhdf5 1.10 follows the global-heap references of variable-length strings without checking
// them, so a damaged run file can crash the reading process (SIGSEGV in H5HG_read) instead of
// failing a call. A reader that must not die — a recipe's `Run.open` — first reads every
// attribute and every string dataset in a forked child (HDF5's lock survives fork, see HDF5.swift).

import CHDF5

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension RunReader {
    /// Throws `RunFileError.unreadable` when reading the attributes and strings of the file at
    /// `path` crashes the HDF5 library; any other failure is left to the reader that follows.
    /// Where `fork` fails, nothing is checked.
    public static func checkIntact(path: String) throws {
        let child = fork()
        if child == 0 {
            for number in [SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP] { signal(number, SIG_DFL) }
            if let run = try? RunReader(path: path) {
                _ = run.objects()
                for stage in (try? run.stages()) ?? [] { _ = try? stage.rollouts() }
            }
            _exit(0)
        }
        guard child > 0 else { return }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        guard signal == 0 else {
            throw RunFileError.unreadable(
                path: path, reason: "reading it crashed the HDF5 library with signal \(signal), so it holds references that lead outside its data")
        }
    }
}
