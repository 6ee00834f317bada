import Benchmarks
import Testing

@Suite("Recording cost")
struct RecordingCostTests {
    /// Prints the per-step cost on the tiny-Llama shape; `rlhf bench` reports the same numbers.
    @Test func benchmarkRunsAndReportsItsCost() throws {
        let result = try RecordingBenchmark.run(steps: 6)
        #expect(result["tensors"] == 39)
        #expect(result["parameters"] == 3_164_416)
        print("recording cost per step: statistics \(result["statistics_ms"]!) ms, writes \(result["write_ms"]!) ms")
    }
}
