import Benchmarks
import Testing

@Suite("Packing benchmark")
struct PackingBenchmarkTests {
    @Test func benchmarkReportsBothLayouts() throws {
        let results = try packingBenchmark(steps: 1, hiddenSize: 32, batchSize: 16)
        let padded = try #require(results["padded_positions"] as? Int), packed = try #require(results["packed_positions"] as? Int)
        #expect(packed < padded)
        #expect((results["loss_relative_difference"] as? Double ?? 1) < 1e-4)
        #expect((results["padded_step_ms"] as? Double ?? 0) > 0 && (results["packed_step_ms"] as? Double ?? 0) > 0)
    }
}
