import CBLAS
import Foundation
import Recording
import Tensors

/// Seconds for `body`, best of `repeats` runs after one warm-up.
func bestTime(repeats: Int = 5, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return best
}

/// Matrix products through `Tensor` against the same `sgemm` called directly.
enum MatmulBenchmark {
    static func run() -> [[String: Any]] {
        var rng = RNG(seed: 0)
        var rows: [[String: Any]] = []
        for (m, k, n) in [(512, 512, 512), (2048, 256, 256), (2048, 256, 688), (256, 688, 256)] {
            let a = Tensor.randn([m, k], rng: &rng), b = Tensor.randn([k, n], rng: &rng)
            let flops = 2.0 * Double(m * n * k)
            let tensorTime = bestTime { _ = try! matmul(a, b) }
            var c = [Float](repeating: 0, count: m * n)
            let raw = bestTime {
                a.data.withUnsafeBufferPointer { pa in
                    b.data.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            sgemm(transA: false, transB: false, m: m, n: n, k: k, a: pa.baseAddress!, lda: k,
                                  b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
                        }
                    }
                }
            }
            openblas_set_num_threads(Int32(Parallel.threads))
            let openblasThreads = bestTime {
                a.data.withUnsafeBufferPointer { pa in
                    b.data.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                                        pa.baseAddress!, Int32(k), pb.baseAddress!, Int32(n), 0, pc.baseAddress!, Int32(n))
                        }
                    }
                }
            }
            openblas_set_num_threads(1)
            rows.append([
                "shape": "\(m)x\(k)x\(n)",
                "tensor_gflops": flops / tensorTime / 1e9,
                "sgemm_gflops": flops / raw / 1e9,
                "openblas_threaded_gflops": flops / openblasThreads / 1e9,
                "tensor_over_sgemm": raw / tensorTime,
            ])
        }
        return rows
    }
}

/// What recording every statistic costs: value, gradient and update statistics of every
/// tiny-Llama parameter written to a run file and committed, per step, against the time of one
/// training step of the same model (batch 8 × 256 tokens).
enum RecordingBenchmark {
    static func run(steps: Int = 6) throws -> [String: Any] {
        let model = ModelBenchmarks.tinyLlama()
        let parameters = model.parameters()
        var rng = RNG(seed: 2)
        let grads = parameters.map { Tensor.randn($0.tensor.shape, rng: &rng).data }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-bench-\(getpid()).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try RunFile.create(at: url, attributes: RunAttributes(name: "bench", recipe: "", seed: 0, threads: Parallel.threads,
                                                                           version: "bench"))
        let stage = try file.stage("train")
        var step = 0
        let perStep = try bestTime(repeats: steps) {
            step += 1
            for ((name, tensor), grad) in zip(parameters, grads) {
                try tensor.data.withUnsafeBufferPointer { try stage.record(tensor: name, kind: .value, values: $0) }
                try grad.withUnsafeBufferPointer { try stage.record(tensor: name, kind: .grad, values: $0) }
                try grad.withUnsafeBufferPointer { try stage.record(tensor: name, kind: .update, values: $0) }
            }
            try stage.record(metrics: ["loss": 1, "lr": 1e-4, "grad_norm": 1])
            try stage.commit(step: step)
        }
        try file.close()
        let training = try ModelBenchmarks.training()
        let tokensPerSecond = training["train_tokens_per_s"] as? Double ?? .nan
        let stepSeconds = Double(8 * 256) / tokensPerSecond
        return [
            "parameters": parameters.count,
            "values_per_step": 3 * model.parameterCount,
            "record_seconds_per_step": perStep,
            "train_step_seconds": stepSeconds,
            "share_of_step": perStep / stepSeconds,
        ]
    }
}
