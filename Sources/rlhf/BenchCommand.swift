import ArgumentParser
import Benchmarks
import Distributed
import Foundation

/// `rlhf bench`: speed of the kernels and models, as JSON, to set beside PyTorch's numbers
/// (`python bench/torch_baseline.py` on the same machine).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure kernel, training and generation speed; prints JSON.",
        discussion: "Sections: \(BenchmarkSuite.names.joined(separator: ", ")).")

    @Option(help: "Worker threads.")
    var threads: Int = 2

    @Option(help: "Comma-separated sections to run (default: all).")
    var only: String?

    func run() throws {
        let chosen = only.map { Set($0.split(separator: ",").map(String.init)) }
        if let chosen {
            let unknown = chosen.subtracting(BenchmarkSuite.names)
            guard unknown.isEmpty else {
                throw ValidationError(
                    "unknown section(s) \(unknown.sorted().joined(separator: ", ")); choose from \(BenchmarkSuite.names.joined(separator: ", "))")
            }
        }
        let results = try BenchmarkSuite.run(only: chosen, threads: threads)
        // Under mpirun (the `ranks` section's own child job) rank 0 alone prints.
        defer { World.shared.finalize() }
        guard World.shared.isWriter else { return }
        let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
