import Foundation
import Models
import Tensors

/// Every benchmark of `rlhf bench`, by section, with results as JSON-ready values to set beside
/// PyTorch's numbers (`python bench/torch_baseline.py` on the same machine).
public enum BenchmarkSuite {
    /// Every section, in the order they run.
    public static let sections: [(name: String, run: () throws -> Any)] = [
        ("matmul", { MatmulBenchmark.run() }),
        ("train", { try ModelBenchmarks.training() }),
        ("breakdown", { try StepBreakdown.run() }),
        ("scaling", { try scalingBenchmark() }),
        ("recompute", { try recomputeBenchmark() }),
        ("sample", { try ModelBenchmarks.sampling() }),
        ("smollm2", { try ModelBenchmarks.smolLM2() }),
        ("grpo", { try grpoStepBenchmark() }),
        ("packing", { try packingBenchmark() }),
        ("recording", { try RecordingCost.run() }),
        ("ranks", { try ScaleOutBenchmark.run() }),
    ]

    /// Sections that take minutes: they run only when `only` names them.
    public static let onRequest: Set<String> = ["scaling", "recompute"]

    /// The section names, in the order they run.
    public static var names: [String] { sections.map(\.name) }

    /// Runs the sections named in `only` (every section but ``onRequest`` when nil) on `threads` worker threads and
    /// returns their results by section name, with the thread count and the decode kernels' instruction set.
    public static func run(only: Set<String>? = nil, threads: Int) throws -> [String: Any] {
        Parallel.threads = threads
        var results: [String: Any] = ["threads": threads, "decode_kernels": PackedMatrix.instructionSet]
        for section in sections where only?.contains(section.name) ?? !onRequest.contains(section.name) {
            results[section.name] = try section.run()
        }
        return results
    }
}
