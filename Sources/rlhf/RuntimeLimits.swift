import ArgumentParser
import Recipes
import Tensors

/// The options `run`, `repl` and `notebook` share that bound what the runtime may take.
struct RuntimeLimits: ParsableArguments {
    /// The most worker threads `--threads` accepts.
    static let maximumThreads = 256

    @Option(
        name: .customLong("memory-limit"),
        help: ArgumentHelp(
            "The memory budget: models, optimizer state and batches beyond it are refused (default: the memory available; K, M, G, T suffixes).",
            valueName: "bytes"))
    var memoryLimit: String?

    @Option(help: "Worker threads, 1 to \(RuntimeLimits.maximumThreads) (results are the same bits for any count).")
    var threads: Int?

    func validate() throws {
        if let memoryLimit, MemoryBudget.parse(memoryLimit) == nil {
            throw ValidationError("--memory-limit takes a positive size such as 4G or 512M, got \"\(memoryLimit)\"")
        }
        if let threads, !(1...RuntimeLimits.maximumThreads).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(RuntimeLimits.maximumThreads), got \(threads)")
        }
    }

    /// Sets the budget (for models and batches, and for the recipe's strings and collections
    /// together) and the thread count. Without `--threads`, ranks that share this machine share
    /// its cores.
    func apply(ranksOnThisMachine: Int = 1) {
        if let bytes = memoryLimit.flatMap(MemoryBudget.parse) { MemoryBudget.bytes = bytes }
        Limits.memoryBytes = MemoryBudget.bytes
        if let threads {
            Parallel.threads = threads
        } else if ranksOnThisMachine > 1 {
            Parallel.threads = max(1, Parallel.threads / ranksOnThisMachine)
        }
    }
}
