import Foundation

/// Runs work on a thread with a large stack.
///
/// The interpreter recurses once per nested expression and recipe call; a debug build's frames are
/// large, and the default stacks of secondary threads are small. Running every evaluation on a
/// 512 MB stack (reserved, touched only as needed) keeps the depth limits far from a crash.
enum LargeStack {
    static let size = 512 << 20

    static func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = Result { try body() }
            done.signal()
        }
        thread.stackSize = size
        thread.start()
        done.wait()
        return try box.result!.get()
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
