import Foundation

/// How much memory a run may take: models, optimizer state and batches are estimated before
/// they are allocated, and what would exceed the budget is refused with an error instead of
/// being met by the kernel's out-of-memory killer or an allocation trap.
///
/// The budget defaults to the memory available when the process starts (`MemAvailable` in
/// `/proc/meminfo`, else the physical memory); `rlhf run|repl|notebook --memory-limit` sets it.
public enum MemoryBudget {
    /// The budget in bytes.
    nonisolated(unsafe) public static var bytes: Int = available()

    /// The memory available now: `MemAvailable` of `/proc/meminfo`, else the physical memory.
    public static func available() -> Int {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
                let fields = line.split(separator: " ")
                if fields.count >= 2, let kb = Int(fields[1]) { return kb.multipliedReportingOverflow(by: 1024).overflow ? Int.max : kb * 1024 }
            }
        }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory)
    }

    /// Throws when `bytes` (an estimate; a Double so that no product of sizes can overflow)
    /// exceeds the budget; `what` says what would take it.
    public static func check(_ bytes: Double, for what: String, budget: Int = MemoryBudget.bytes) throws {
        guard bytes.isFinite, bytes <= Double(budget) else {
            throw MemoryBudgetError(what: what, bytes: bytes, budget: budget)
        }
    }

    /// Parses `--memory-limit`: a byte count with an optional K, M, G or T suffix (powers of 1024).
    public static func parse(_ text: String) -> Int? {
        let units: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024, "T": 1024 * 1024 * 1024 * 1024]
        var number = text.uppercased()
        if number.hasSuffix("B") { number.removeLast() }
        var scale = 1.0
        if let last = number.last, let unit = units[last] {
            scale = unit
            number.removeLast()
        }
        guard let value = Double(number), value.isFinite, value > 0, value * scale < Double(Int.max) else { return nil }
        return Int(value * scale)
    }

    /// `1.5 GB`, for messages.
    public static func describe(_ bytes: Double) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"]
        var value = bytes, unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(value)) bytes" : String(format: "%.1f", value) + " " + units[unit]
    }
}

/// Work that would take more memory than ``MemoryBudget`` allows.
public struct MemoryBudgetError: Error, CustomStringConvertible, Equatable {
    public let what: String
    public let bytes: Double
    public let budget: Int

    public var description: String {
        "\(what) would take about \(MemoryBudget.describe(bytes)), more than the memory budget of "
            + "\(MemoryBudget.describe(Double(budget))) (the memory available, or --memory-limit); make it smaller"
    }
}
