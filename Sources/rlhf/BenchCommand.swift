import ArgumentParser
import Foundation
import Tensors

/// `rlhf bench`: speed of the kernels and models, as JSON, beside PyTorch's numbers.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure kernel and model speed; prints JSON.")

    @Option(help: "Worker threads.")
    var threads: Int = 2

    func run() throws {
        Parallel.threads = threads
        var results: [String: Any] = ["threads": threads]
        results["matmul"] = MatmulBenchmark.run()
        let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
