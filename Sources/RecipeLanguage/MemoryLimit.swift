// The total the recipe's strings and collections may take. The element limit
// (`Limits.collectionCount`) bounds each collection; this bounds them together: every string or
// collection the interpreter makes is charged, and once a megabyte has been charged since the
// last look, the process's resident memory is read (`/proc/self/statm`) and the recipe stops with
// a located error when that plus the new value would pass the budget. Values the recipe drops are
// freed as usual, so the measure is what the process really holds, not a running sum.

import Foundation

extension Limits {
    /// The memory the process may hold while a recipe makes values; `Int.max` (no check) unless
    /// a host sets it — `rlhf` sets the memory budget (the memory available, or `--memory-limit`).
    public nonisolated(unsafe) static var memoryBytes = Int.max

    /// How many bytes may be charged between two reads of the resident memory.
    static let measureEvery = 1 << 20

    private static let lock = NSLock()
    private nonisolated(unsafe) static var unmeasured = 0

    /// Charges a value the recipe is about to make (or just made) against `memoryBytes`.
    ///
    /// - Throws: `RecipeError` of kind `.limit` naming `what`, its size, what the process holds
    ///   and the budget.
    static func charge(bytes: Int, for what: @autoclosure () -> String) throws {
        guard memoryBytes != Int.max, bytes > 0 else { return }
        lock.lock()
        unmeasured = unmeasured > Int.max - bytes ? Int.max : unmeasured + bytes
        let measure = unmeasured >= measureEvery
        if measure { unmeasured = 0 }
        lock.unlock()
        guard measure else { return }
        let resident = residentBytes()
        guard resident > memoryBytes - min(bytes, memoryBytes) else { return }
        throw RecipeError(
            .limit,
            "\(what()) of about \(megabytes(bytes)) would take the process past the memory budget of "
                + "\(megabytes(memoryBytes)) (it holds \(megabytes(resident)); the budget is the memory available, "
                + "or --memory-limit): the recipe's strings and collections count against it together")
    }

    /// Charges a collection of `count` elements.
    static func charge(elements count: Int, for what: @autoclosure () -> String) throws {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Value>.stride)
        try charge(bytes: overflow ? Int.max : bytes, for: what())
    }

    /// Charges a value just made: its string bytes or its elements.
    static func charge(_ value: Value) throws {
        switch value {
        case .string(let s): try charge(bytes: s.utf8.count, for: "a string")
        case .array(let a), .tuple(let a): try charge(elements: a.count, for: "an array")
        case .dictionary(let d): try charge(elements: 2 * d.count, for: "a dictionary")
        default: break
        }
    }

    /// The process's resident memory in bytes (0 where `/proc` is missing).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func megabytes(_ bytes: Int) -> String { "\((bytes + (1 << 19)) >> 20) MB" }
}
