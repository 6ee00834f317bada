import ArgumentParser
import Foundation
import Models
import Tensors
import Training

/// `rlhf bench`: speed of the kernels and models, as JSON, to set beside PyTorch's numbers
/// (`python bench/torch_baseline.py` on the same machine).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure kernel, training and generation speed; prints JSON.",
        discussion: "Sections: \(Bench.sections.map(\.name).joined(separator: ", ")).")

    @Option(help: "Worker threads.")
    var threads: Int = 2

    @Option(help: "Comma-separated sections to run (default: all).")
    var only: String?

    /// Every benchmark section, in the order they run.
    static let sections: [(name: String, run: () throws -> Any)] = [
        ("matmul", { MatmulBenchmark.run() }),
        ("train", { try ModelBenchmarks.training() }),
        ("sample", { try ModelBenchmarks.sampling() }),
        ("smollm2", { try ModelBenchmarks.smolLM2() }),
        ("grpo", { try grpoStepBenchmark() }),
        ("packing", { try packingBenchmark() }),
        ("recording", { try RecordingCost.run() }),
    ]

    func run() throws {
        Parallel.threads = threads
        let chosen = only.map { Set($0.split(separator: ",").map(String.init)) }
        if let chosen {
            let unknown = chosen.subtracting(Bench.sections.map(\.name))
            guard unknown.isEmpty else {
                throw ValidationError("unknown section(s) \(unknown.sorted().joined(separator: ", ")); choose from \(Bench.sections.map(\.name).joined(separator: ", "))")
            }
        }
        var results: [String: Any] = ["threads": threads, "decode_kernels": PackedMatrix.instructionSet]
        for section in Bench.sections where chosen?.contains(section.name) ?? true {
            results[section.name] = try section.run()
        }
        let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
