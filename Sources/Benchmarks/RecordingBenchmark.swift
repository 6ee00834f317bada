// The cost of recording every statistic, for `rlhf bench`: per step, three statistics passes
// (value, grad, update) over every parameter, one over every activation, and the commit.

import Foundation
import Recording

/// Measures what recording costs per step on a model-shaped set of buffers.
public enum RecordingBenchmark {
    /// Element counts of a Llama's parameters in model order (embedding, per layer: input norm,
    /// q, k, v, o, post-attention norm, gate, up, down; final norm, untied head).
    public static func llamaParameters(vocab: Int, hidden: Int, layers: Int, intermediate: Int, kvHidden: Int) -> [Int] {
        var sizes = [vocab * hidden]
        for _ in 0..<layers {
            sizes += [hidden, hidden * hidden, kvHidden * hidden, kvHidden * hidden, hidden * hidden]
            sizes += [hidden, intermediate * hidden, intermediate * hidden, hidden * intermediate]
        }
        return sizes + [hidden, vocab * hidden]
    }

    /// The tiny Llama of `rlhf bench` (vocab 512, width 256, 4 layers, MLP 688, 4 KV heads of 32):
    /// 39 tensors, 3,164,416 parameters.
    public static let tinyLlamaParameters = llamaParameters(vocab: 512, hidden: 256, layers: 4, intermediate: 688, kvHidden: 128)

    /// Its activations for a batch of 8 × 256 tokens: one per layer output and the final norm.
    public static let tinyLlamaActivations: [Int] = Array(repeating: 8 * 256 * 256, count: 5)

    /// Records `steps` steps into a run file in `directory` and returns milliseconds per step:
    /// `statistics_ms` (computing), `write_ms` (writing, flushing, committing), `total_ms`,
    /// with `parameters` and `tensors` for context. Statistics use `threads` threads. The file is removed afterwards.
    public static func run(
        parameters: [Int] = tinyLlamaParameters, activations: [Int] = tinyLlamaActivations, steps: Int = 20,
        directory: URL = FileManager.default.temporaryDirectory, threads: Int = 2
    ) throws -> [String: Double] {
        let buffers = parameters.enumerated().map { t, n in
            (0..<n).map { Float(sin(Double($0 &* 7 &+ t))) * 0.02 }
        }
        let activationBuffers = activations.map { n in (0..<n).map { Float(cos(Double($0))) } }
        let path = directory.appendingPathComponent("recording-benchmark-\(getpid()).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try RunFile.create(at: path, attributes: RunAttributes(name: "benchmark", created: ""))
        let stage = try run.stage("bench")
        let names = parameters.indices.map { "model.tensor.\($0).weight" }
        var statisticsSeconds = 0.0
        var writeSeconds = 0.0
        for step in 0..<steps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            // The value, grad and update passes each read a buffer of every parameter's size.
            var stats: [(String, TensorKind, TensorStatistics)] = []
            for kind in TensorKind.allCases {
                let computed = TensorStatistics.of(buffers, threads: threads)
                for (t, s) in computed.enumerated() { stats.append((names[t], kind, s)) }
            }
            let layerStats = TensorStatistics.of(activationBuffers, threads: threads)
            let t1 = DispatchTime.now().uptimeNanoseconds
            try stage.record(metrics: ["loss": 1 / Double(step + 1), "lr": 1e-3, "grad_norm": 1])
            for (name, kind, s) in stats { try stage.record(tensor: name, kind: kind, stats: s) }
            for (l, s) in layerStats.enumerated() { try stage.record(activation: "model.layers.\(l)", stats: s) }
            try stage.commit(step: step)
            let t2 = DispatchTime.now().uptimeNanoseconds
            // The first step creates every dataset; it is timed apart from the steady state.
            if step > 0 {
                statisticsSeconds += Double(t1 - t0) / 1e9
                writeSeconds += Double(t2 - t1) / 1e9
            }
        }
        try run.close()
        let measured = Double(max(steps - 1, 1))
        return [
            "parameters": Double(parameters.reduce(0, +)), "tensors": Double(parameters.count),
            "statistics_ms": statisticsSeconds / measured * 1000, "write_ms": writeSeconds / measured * 1000,
            "total_ms": (statisticsSeconds + writeSeconds) / measured * 1000,
        ]
    }
}
