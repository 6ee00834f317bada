import FixtureSupport
import Foundation
import Testing
@testable import Recipes

/// Symbolic links cannot lead what a recipe or `rlhf run` writes out of the output folder.
@Suite struct SandboxTests {
    @Test func savingDataThroughADanglingLinkIsRefused() throws {
        let h = Harness()
        let out = h.session.outputDirectory
        let outside = out.deletingLastPathComponent().appendingPathComponent("outside-\(UUID())")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: out.appendingPathComponent("dangle.jsonl").path, withDestinationPath: "../\(outside.lastPathComponent)/created.jsonl")
        let error = h.error("SyntheticTask.sortDigits(count: 4, evalCount: 1).demonstrations.save(\"dangle.jsonl\")")
        #expect(error.contains("symbolic link"), "\(error)")
        #expect(!FileManager.default.fileExists(atPath: outside.appendingPathComponent("created.jsonl").path))
        // A plain name in the same folder is written, by renaming a temporary file into place.
        try h.run("SyntheticTask.sortDigits(count: 4, evalCount: 1).demonstrations.save(\"data.jsonl\")")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("data.jsonl").path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["dangle.jsonl", "data.jsonl"])
    }

    @Test func runRefusesARunFileLinkInTheOutputFolder() throws {
        let dir = try RLHFCommand.temporaryDirectory()
        let out = dir.appendingPathComponent("results/quickstart")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let bashrc = dir.appendingPathComponent("bashrc")
        try "export PATH\n".write(to: bashrc, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent("run.h5"), withDestinationURL: bashrc)
        try FileManager.default.createSymbolicLink(
            atPath: out.appendingPathComponent("report.md").path, withDestinationPath: "../../gone/report.md")
        try "seed(1)\nprint(\"hi\")\n".write(to: dir.appendingPathComponent("quickstart.swift"), atomically: true, encoding: .utf8)
        let result = try RLHFCommand.run(["run", "quickstart.swift"], directory: dir)
        #expect(result.status != 0)
        #expect(result.stderr.contains("run.h5` is a symbolic link"), "\(result.stderr)")
        #expect(try String(contentsOf: bashrc, encoding: .utf8) == "export PATH\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("gone").path))
        // With the link removed, the run writes a regular run file and report in place.
        try FileManager.default.removeItem(at: out.appendingPathComponent("run.h5"))
        let again = try RLHFCommand.run(["run", "quickstart.swift"], directory: dir)
        #expect(again.status != 0)
        #expect(again.stderr.contains("report.md` is a symbolic link"), "\(again.stderr)")
        try FileManager.default.removeItem(at: out.appendingPathComponent("report.md"))
        let clean = try RLHFCommand.run(["run", "quickstart.swift"], directory: dir)
        #expect(clean.status == 0, "\(clean.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(names == ["report.md", "run.h5"], "\(names)")
        let runFile = try out.appendingPathComponent("run.h5").resourceValues(forKeys: [.isSymbolicLinkKey, .isRegularFileKey])
        #expect(runFile.isSymbolicLink == false && runFile.isRegularFile == true)
    }
}
