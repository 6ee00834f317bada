import FixtureSupport
import Foundation
import Testing

/// The quickstart recipe is embedded Swift: interpreted by `rlhf run`, and compiled unchanged
/// (`QuickstartCompiled` builds `recipes/quickstart.swift` against `import Recipes`), it writes the
/// same run file.
@Suite struct QuickstartTests {
    static let repository = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()

    @Test func compiledQuickstartWritesTheInterpretedRunFile() throws {
        let dir = try RLHFCommand.temporaryDirectory("quickstart")
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = QuickstartTests.repository.appendingPathComponent("recipes/quickstart.swift")
        let interpreted = try RLHFCommand.run(
            ["run", recipe.path, "--out", dir.appendingPathComponent("interpreted").path],
            directory: QuickstartTests.repository)
        #expect(interpreted.status == 0, "\(interpreted.stderr)")

        let compiled = Process()
        compiled.executableURL = RLHFCommand.executable.deletingLastPathComponent().appendingPathComponent("QuickstartCompiled")
        compiled.currentDirectoryURL = dir
        compiled.standardOutput = Pipe()
        compiled.standardError = FileHandle.nullDevice
        try compiled.run()
        let printed = (compiled.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        compiled.waitUntilExit()
        #expect(compiled.terminationStatus == 0)

        let result = { (text: String) in text.split(separator: "\n").first { $0.hasPrefix("held-out") }.map(String.init) }
        #expect(result(interpreted.stdout) != nil)
        #expect(result(String(decoding: printed, as: UTF8.self)) == result(interpreted.stdout))
        let differing = try differingRunFileDatasets(
            dir.appendingPathComponent("interpreted/run.h5"), dir.appendingPathComponent("results/QuickstartCompiled/run.h5"))
        #expect(differing.isEmpty, "datasets that differ: \(differing.prefix(10))")
    }
}
