import ArgumentParser
import Foundation
import Recording
import Reports

/// `rlhf compare A.h5 B.h5 ...`: several runs side by side, made only from their run files.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare run files: differing config, final metrics, overlaid curves, first divergence.",
        discussion: """
            Writes OUT/compare.md and one SVG per metric the runs share. For two runs it names the first \
            stage, step, dataset and statistic where they differ bit for bit, or says they are identical \
            (wall-clock timings aside):

              rlhf compare results/a/run.h5 results/b/run.h5 --out results/compare-a-b
            """)

    @Argument(help: "Two or more run files (.h5).")
    var files: [String]

    @Option(help: "The output folder (default: results/compare).")
    var out: String?

    func run() throws {
        let directory = URL(fileURLWithPath: out ?? "results/compare")
        do {
            let runs = try files.map { file in
                try RunReader.checkIntact(path: file)
                return try RunReader(path: file)
            }
            let names = try Compare.write(runs, labels: files, to: directory)
            if runs.count == 2 {
                print(try RunDivergence.first(runs[0], runs[1]).map { "first divergence: \($0)" } ?? "identical")
            }
            let charts = names.count - 1
            print("wrote \(directory.appendingPathComponent("compare.md").relativePath) and \(charts) chart\(charts == 1 ? "" : "s")")
        } catch let error as RunFileError {
            fail("\(error)")
        } catch let error as CompareError {
            fail("\(error)")
        } catch let error as CocoaError {
            let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? directory.path
            fail("cannot write \(path): \(error.localizedDescription). Choose a writable folder with --out.")
        }
    }
}
