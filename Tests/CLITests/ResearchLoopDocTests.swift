import FixtureSupport
import Foundation
import Testing

/// docs/research-loop.md walks the loop REPL → :save → run → sweep → compare → runs → notebook;
/// its shell blocks run here, in order, in an empty folder, so the page stays true.
@Suite struct ResearchLoopDocTests {
    static let page = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/research-loop.md")

    /// The ```sh (or ````sh) blocks of a markdown page, in order.
    static func shellBlocks(_ text: String) -> [String] {
        var blocks: [String] = [], current: [String]? = nil, fence = ""
        for line in text.components(separatedBy: "\n") {
            if current == nil, line.hasPrefix("```"), line.hasSuffix("sh") {
                fence = String(line.prefix { $0 == "`" })
                current = []
            } else if current != nil, line == fence {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    @Test func everyCommandOfThePageRuns() throws {
        let blocks = Self.shellBlocks(try String(contentsOf: Self.page, encoding: .utf8))
        #expect(blocks.count == 6)
        let dir = try RLHFCommand.temporaryDirectory("research-loop")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bin = RLHFCommand.executable.deletingLastPathComponent().path
        for block in blocks {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-euo", "pipefail", "-c", block]
            process.currentDirectoryURL = dir
            var env = ProcessInfo.processInfo.environment
            env["PATH"] = bin + ":" + (env["PATH"] ?? "/usr/bin:/bin")
            process.environment = env
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(block)\n→ \(text)")
            if block.contains("rlhf compare results/repl") {
                // Every dataset equal: the first difference, if any, is a root attribute (`/@name`).
                #expect(
                    text.contains("identical") || text.contains("first divergence: /@"),
                    "the saved recipe must rerun the session bit for bit: \(text)")
            }
        }
        for file in ["explore.swift", "results/sweep/sweep.md", "results/compare/compare.md", "results/notebooks/figure.md"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), "\(file) missing")
        }
    }
}
