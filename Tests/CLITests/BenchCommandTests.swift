import FixtureSupport
import Foundation
import Testing

@Suite struct BenchCommandTests {
    @Test func benchPrintsMatmulJSON() throws {
        let result = try RLHFCommand.run(["bench", "--only", "matmul", "--threads", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let rows = json?["matmul"] as? [[String: Any]] ?? []
        #expect(rows.contains { $0["shape"] as? String == "512x512x512" })
        #expect(rows.allSatisfy { ($0["tensor_gflops"] as? Double ?? 0) > 0 })
    }

    @Test func helpListsTheCommands() throws {
        let result = try RLHFCommand.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("bench"))
    }

    @Test func unknownCommandIsAnError() throws {
        let result = try RLHFCommand.run(["frobnicate"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("frobnicate"))
    }
}
