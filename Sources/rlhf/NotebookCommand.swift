import ArgumentParser
import Foundation
import Recipes

/// `rlhf notebook notebooks/NAME.md`: runs the swift cells and writes `results/notebooks/NAME.md`,
/// with its charts and run file in `results/notebooks/NAME/` (apart from the `results/NAME` of a
/// recipe of the same name).
struct NotebookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notebook",
        abstract: "Run a markdown notebook's swift cells; write results/notebooks/NAME.md and its charts.",
        discussion: """
            The cells run in order in one session. The result holds the prose, each cell and its output; charts
            are SVG files in results/notebooks/NAME/, and training records into results/notebooks/NAME/run.h5
            with the cells as its recipe. The result is deterministic: --check reruns the notebook (in a
            scratch folder) and fails if the committed result differs.

            --set replaces the value of a top-level `let` in a cell, as `rlhf run --set` does for a recipe,
            and the result says which values were set:

              rlhf notebook notebooks/beta.md --set beta=0.2 --results results/notebooks/beta-0.2
            """)

    @Argument(help: "The notebook, a markdown file with ```swift cells.")
    var file: String

    @Flag(help: "Compare a fresh run with the committed result instead of writing it.")
    var check = false

    @Option(name: .customLong("set"), help: ArgumentHelp("Replace a top-level `let` of a cell: name=value (repeatable).", valueName: "name=value"))
    var overrides: [String] = []

    @Option(help: "The folder of notebook results.")
    var results: String = "results/notebooks"

    @OptionGroup var limits: RuntimeLimits

    func run() throws {
        limits.apply()
        guard let markdown = try? String(contentsOfFile: file, encoding: .utf8) else {
            FileHandle.standardError.write(Data("error: cannot read \(file)\n".utf8))
            throw ExitCode.failure
        }
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let resultsURL = URL(fileURLWithPath: results)
        let resultFile = resultsURL.appendingPathComponent("\(name).md")
        let folder = resultsURL.appendingPathComponent(name)
        var notebook = Notebook(markdown: markdown)
        do {
            for assignment in overrides { try notebook.override(assignment: assignment) }
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        // A check runs in a scratch folder so that it never touches the committed results.
        let outputDirectory =
            check
            ? FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-notebook-\(UUID().uuidString)") : folder
        defer { if check { try? FileManager.default.removeItem(at: outputDirectory) } }
        let result = notebook.run(name: name, source: file, outputDirectory: outputDirectory)

        if check {
            var differences: [String] = []
            differences += compare(
                expected: try? String(contentsOf: resultFile, encoding: .utf8), actual: result.markdown,
                path: resultFile.path)
            for (fileName, contents) in result.files {
                let url = folder.appendingPathComponent(fileName)
                differences += compare(expected: try? String(contentsOf: url, encoding: .utf8), actual: contents, path: url.path)
            }
            let produced = Set(result.files.map(\.name))
            for stale in chartFiles(in: folder) where !produced.contains(stale) {
                differences.append("\(folder.appendingPathComponent(stale).path): no longer produced")
            }
            if !differences.isEmpty {
                FileHandle.standardError.write(
                    Data(
                        (differences.joined(separator: "\n")
                            + "\n\(resultFile.path) is out of date: run `rlhf notebook \(file)` and commit the result\n").utf8))
                throw ExitCode.failure
            }
            if result.failedCells > 0 {
                FileHandle.standardError.write(
                    Data("\(result.failedCells) cell(s) failed; \(resultFile.path) records the errors, but a check fails on them\n".utf8))
                throw ExitCode.failure
            }
            print("\(resultFile.path) is up to date")
            return
        }

        try FileManager.default.createDirectory(at: resultsURL, withIntermediateDirectories: true)
        try result.markdown.write(to: resultFile, atomically: true, encoding: .utf8)
        for stale in chartFiles(in: folder) { try FileManager.default.removeItem(at: folder.appendingPathComponent(stale)) }
        if !result.files.isEmpty {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (fileName, contents) in result.files {
                try contents.write(to: folder.appendingPathComponent(fileName), atomically: true, encoding: .utf8)
            }
        }
        let charts = result.files.isEmpty ? "" : " and \(result.files.count) chart\(result.files.count == 1 ? "" : "s") in \(folder.path)"
        print("wrote \(resultFile.path)\(charts)")
        if result.failedCells > 0 {
            FileHandle.standardError.write(Data("\(result.failedCells) cell(s) failed; see the errors in \(resultFile.path)\n".utf8))
            throw ExitCode.failure
        }
    }

    private func chartFiles(in folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasPrefix("chart-") && $0.hasSuffix(".svg") }.sorted()
    }

    /// A short description of how `actual` differs from the committed text: the first lines that differ.
    private func compare(expected: String?, actual: String, path: String) -> [String] {
        guard let expected else { return ["\(path): missing"] }
        if expected == actual { return [] }
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var report = ["\(path): differs (\(a.count) lines committed, \(b.count) lines now)"]
        var shown = 0
        for i in 0..<max(a.count, b.count) where shown < 5 {
            let old = i < a.count ? String(a[i]) : "<end of file>"
            let new = i < b.count ? String(b[i]) : "<end of file>"
            if old != new {
                report.append("  line \(i + 1):\n    committed: \(old)\n    now:       \(new)")
                shown += 1
            }
        }
        return report
    }
}
