import ArgumentParser
import Foundation
import Recording
import Reports

/// `rlhf report RUN.h5`: the markdown report and SVG charts of a run, made only from its run file.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the markdown report and SVG charts of a run file.",
        discussion: """
            Writes OUT/report.md and OUT/*.svg: losses, rewards, KL, learning rate, a heat map of every \
            parameter's gradient norm, value/gradient/update statistics, sample rollouts and evaluations. \
            Everything comes from the run file, so regenerating gives byte-identical files:

              rlhf report runs/quickstart.h5 --out results/quickstart
            """)

    @Argument(help: "The run file (.h5).")
    var file: String

    @Option(help: "The output folder (default: results/<run name>).")
    var out: String?

    func run() throws {
        do {
            try RunReader.checkIntact(path: file)
            let run = try RunReader(path: file)
            let directory = out.map { URL(fileURLWithPath: $0) } ?? Report.defaultDirectory(for: run)
            let names = try Report.write(run, to: directory)
            let charts = names.count - 1
            print("wrote \(directory.appendingPathComponent("report.md").relativePath) and \(charts) chart\(charts == 1 ? "" : "s")")
        } catch let error as RunFileError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        } catch let error as CocoaError {
            let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? out ?? "the output folder"
            FileHandle.standardError.write(
                Data("error: cannot write \(path): \(error.localizedDescription). Choose a writable folder with --out.\n".utf8))
            throw ExitCode.failure
        }
    }
}
