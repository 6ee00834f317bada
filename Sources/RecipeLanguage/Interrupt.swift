#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The Ctrl-C flag. A SIGINT handler sets it; the interpreter checks it at every statement, loop
/// iteration and call, and trainers check it between steps, so Ctrl-C stops the work in progress
/// and leaves the REPL session alive.
public enum Interrupt {
    /// Allocated once, before any handler is installed: a signal handler may only store to memory
    /// that already exists.
    private static let flag: UnsafeMutablePointer<sig_atomic_t> = {
        let pointer = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return pointer
    }()

    /// Whether Ctrl-C was pressed since the last `clear()`.
    public static var isRequested: Bool { flag.pointee != 0 }

    /// Asks the running work to stop at its next check.
    public static func request() { flag.pointee = 1 }

    public static func clear() { flag.pointee = 0 }

    /// Throws `RecipeError.interrupted` (and clears the flag) when Ctrl-C was pressed.
    public static func check() throws {
        if flag.pointee != 0 {
            flag.pointee = 0
            throw RecipeError.interrupted
        }
    }

    /// The signals that stop the running work as Ctrl-C does: a run records `interrupted` and
    /// keeps every completed step, whether a person pressed Ctrl-C, a scheduler sent SIGTERM or
    /// the terminal closed (SIGHUP).
    public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Routes SIGINT, SIGTERM and SIGHUP to the flag instead of ending the process.
    ///
    /// Call it from the main thread before other threads start: it also unblocks the signals,
    /// which a parent process may have left blocked, and threads inherit the mask of their creator.
    public static func installHandler() {
        _ = flag
        handlerFlag = flag
        var set = sigset_t()
        sigemptyset(&set)
        for number in signals {
            signal(number) { _ in handlerFlag?.pointee = 1 }
            sigaddset(&set, number)
        }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

/// The flag as the C signal handler sees it (a C callback cannot capture context).
private nonisolated(unsafe) var handlerFlag: UnsafeMutablePointer<sig_atomic_t>?
