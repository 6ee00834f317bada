import Foundation
import Recording
import Testing

/// Run files edited to lie: every size the reader reads is bounded by the datasets' real extents.
@Suite struct CraftedFileTests {
    @Test func aCommittedCountBeyondTheDataIsAnErrorNotAnAllocation() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (table, committed) in [("metrics", "1e9"), ("metrics", "2**60"), ("tensors", "2**62"), ("rollouts", "10**12"), ("metrics", "-5")] {
            let path = dir.appendingPathComponent("\(table)-\(committed.filter(\.isNumber)).h5").path
            try SyntheticRun.write(to: path, steps: 3)
            try runPython(
                "import h5py, numpy, sys\nf = h5py.File(sys.argv[1], 'r+')\nf['sft/\(table)'].attrs['committed'] = numpy.int64(int(\(committed)))\nf.close()",
                [path])
            let start = Date()
            let error = try #require(throws: RunFileError.self) {
                let run = try RunReader(path: path)
                let sft = try run.stage("sft")
                _ = try sft.metric("loss")
                _ = try sft.rolloutSteps()
            }
            #expect(Date().timeIntervalSince(start) < 5, "\(table) committed=\(committed) took long")
            #expect("\(error)".contains("committed") || "\(error)".contains("holds"), "\(table) committed=\(committed): \(error)")
        }
    }
}
