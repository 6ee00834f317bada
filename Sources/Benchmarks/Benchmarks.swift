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
                            sgemm(
                                transA: false, transB: false, m: m, n: n, k: k, a: pa.baseAddress!, lda: k,
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
                            cblas_sgemm(
                                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
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

/// What recording every statistic costs against one training step of the same model: the
/// tiny-Llama shape's value, gradient and update statistics plus activations, written and committed
/// (`RecordingBenchmark`), beside `rlhf bench --only train`'s step time (batch 8 × 256).
enum RecordingCost {
    static func run() throws -> [String: Any] {
        var result: [String: Any] = try RecordingBenchmark.run(threads: Parallel.threads)
        let training = try ModelBenchmarks.training()
        let stepMilliseconds = 1000 * Double(8 * 256) / (training["train_tokens_per_s"] as? Double ?? .nan)
        result["train_step_ms"] = stepMilliseconds
        result["share_of_step"] = (result["total_ms"] as? Double ?? .nan) / stepMilliseconds
        return result
    }
}
