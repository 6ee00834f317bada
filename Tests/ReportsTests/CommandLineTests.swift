import FixtureSupport
import Foundation
import Recording
import Testing

/// `rlhf report` and `rlhf inspect` run as a user runs them (the binary `swift build --build-tests`
/// builds beside the tests).
@Suite("rlhf report and inspect")
struct CommandLineTests {
    func rlhf(_ arguments: [String], in directory: URL) throws -> RLHFCommand.Output {
        let binary = RLHFCommand.executable
        try #require(
            FileManager.default.isExecutableFile(atPath: binary.path),
            "no rlhf binary at \(binary.path); build it with `swift build --build-tests`")
        return try RLHFCommand.run(arguments, directory: directory)
    }

    @Test func reportWritesTheSameFilesEveryTime() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try ReportFixture.write(to: dir.appendingPathComponent("run.h5").path)
        let first = try rlhf(["report", "run.h5", "--out", "one"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("wrote one/report.md and "))
        #expect(try rlhf(["report", "run.h5", "--out", "two"], in: dir).status == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("one").path).sorted()
        #expect(names.contains("report.md") && names.contains("sft-grad-norm.svg"))
        for name in names {
            #expect(
                try Data(contentsOf: dir.appendingPathComponent("one/\(name)"))
                    == Data(contentsOf: dir.appendingPathComponent("two/\(name)")), "\(name) differs")
        }
        // Without --out the report goes to results/<run name>.
        #expect(try rlhf(["report", "run.h5"], in: dir).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("results/fixture_run/report.md").path))
    }

    @Test func inspectPrintsContentsAndExportsCSV() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try ReportFixture.write(to: dir.appendingPathComponent("run.h5").path)
        let text = try rlhf(["inspect", "run.h5"], in: dir)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("stage sft: 12 committed steps (0–11)"))
        #expect(text.stdout.contains("/sft/metrics/loss"))
        let csv = try rlhf(["inspect", "run.h5", "--csv", "loss", "lr", "--stage", "sft"], in: dir)
        #expect(csv.status == 0, "\(csv.stderr)")
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.first == "stage,step,loss,lr")
        #expect(lines.count == 13)
        let recipe = try rlhf(["inspect", "run.h5", "--recipe"], in: dir)
        #expect(recipe.stdout.hasPrefix("seed(7)\n"))
    }

    @Test(arguments: ["report", "inspect"])
    func missingTruncatedAndForeignFilesAreClearErrors(command: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try rlhf([command, "missing.h5"], in: dir)
        #expect(missing.status == 1)
        #expect(missing.stderr == "error: missing.h5: no such file. Check the path to the run's .h5 file.\n")

        try ReportFixture.write(to: dir.appendingPathComponent("good.h5").path)
        let data = try Data(contentsOf: dir.appendingPathComponent("good.h5"))
        try data.prefix(data.count / 3).write(to: dir.appendingPathComponent("cut.h5"))
        let truncated = try rlhf([command, "cut.h5"], in: dir)
        #expect(truncated.status == 1)
        #expect(truncated.stderr.hasPrefix("error: cut.h5: HDF5 cannot open this file ("))
        #expect(truncated.stderr.contains("truncated"))

        try Data("plain text\n".utf8).write(to: dir.appendingPathComponent("notes.h5"))
        let text = try rlhf([command, "notes.h5"], in: dir)
        #expect(text.status == 1)
        #expect(text.stderr.hasPrefix("error: notes.h5: not an HDF5 file"))

        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = [
            "python3", "-c", "import h5py, sys; h5py.File(sys.argv[1], 'w')['weights'] = [1.0]", dir.appendingPathComponent("foreign.h5").path,
        ]
        try python.run()
        python.waitUntilExit()
        try #require(python.terminationStatus == 0, "python3 with h5py is required: run scripts/setup")
        let foreign = try rlhf([command, "foreign.h5"], in: dir)
        #expect(foreign.status == 1)
        #expect(foreign.stderr.hasPrefix("error: foreign.h5: an HDF5 file, but not a swift-rlhf run file"))
        #expect(foreign.stdout.isEmpty)
    }
}
