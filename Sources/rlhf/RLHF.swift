import ArgumentParser

/// The `rlhf` command line: run recipes, explore in a REPL, render notebooks and reports, benchmark.
@main
struct RLHF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract: "A reproducible RLHF runtime: recipes, run files, reports.",
        subcommands: [
            RunCommand.self, ReplCommand.self, NotebookCommand.self, DocsCommand.self,
            Bench.self, Chat.self, ReportCommand.self, InspectCommand.self,
        ])
}
