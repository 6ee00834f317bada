import ArgumentParser
import Foundation

/// The `rlhf` command line: run recipes, explore in a REPL, render notebooks and reports, benchmark.
@main
struct RLHF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract: "A reproducible RLHF runtime: recipes, run files, reports.",
        subcommands: [
            RunCommand.self, ReplCommand.self, NotebookCommand.self, DocsCommand.self,
            Bench.self, Chat.self, ReportCommand.self, InspectCommand.self, CompareCommand.self,
            SweepCommand.self, RunsCommand.self,
        ])
}

/// Writes `error: message` to standard error and exits with status 1.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    Foundation.exit(1)
}
