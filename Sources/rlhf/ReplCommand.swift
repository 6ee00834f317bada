import ArgumentParser
import Foundation
import Recipes

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `rlhf repl`: an interactive session in the recipe language.
struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "Explore interactively: recipe statements line by line, with completion and :help.",
        discussion: """
            Input continues while brackets are open. Commands: :help [NAME], :load FILE, :vars, :save FILE, :run,
            :reset, :quit. Ctrl-C stops the running statement and keeps the session. History is kept in
            ~/.rlhf_history (or $RLHF_HISTORY). With standard input not a terminal, lines are read from it
            without echo.

            Every training call records into OUT/run.h5, as `rlhf run` does, with the statements that ran
            without an error as the recipe; when the session ends, OUT/report.md is written. Without --out,
            OUT is the first free results/repl/session-N. `:save FILE` writes those statements as a recipe
            that `rlhf run FILE` (with the same --seed) repeats; after `:reset`, training starts a new run in
            the next free folder.
            """)

    @Option(help: "The seed; it wins over seed(...) calls.")
    var seed: Int?

    @Option(help: "The output folder of the session's run file and files (default: the first free results/repl/session-N).")
    var out: String?

    @Option(help: "A recipe file to run before the first prompt.")
    var load: String?

    @Option(name: .customLong("allow-read"), help: ArgumentHelp("Also let recipes read under this folder (repeatable).", valueName: "dir"))
    var allowRead: [String] = []

    @Option(name: .customLong("allow-write"), help: ArgumentHelp("Also let recipes write under this folder (repeatable).", valueName: "dir"))
    var allowWrite: [String] = []

    @OptionGroup var limits: RuntimeLimits

    func run() throws {
        limits.apply()
        if let seed, seed < 0 { throw ValidationError("--seed must be ≥ 0, got \(seed)") }
        if let out, out.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--out needs a folder; \"\" names none") }
        let base = URL(fileURLWithPath: out ?? "results/repl/session")
        let session = Session(outputDirectory: out == nil ? Session.firstFreeFolder(base, numbered: true) : base)
        session.recordsRun = true
        session.recordsRunWithoutTraining = false
        session.nextRunDirectory = { Session.firstFreeFolder(base, numbered: out == nil) }
        let display = TerminalDisplay(host: session)
        session.display = display.show
        session.fixedSeed = seed
        session.readableRoots = allowRead.map { URL(fileURLWithPath: $0) }
        session.writableRoots = allowWrite.map { URL(fileURLWithPath: $0) }
        let repl = Repl(interpreter: Interpreter(host: session), write: writeToStandardOutput)
        Interrupt.installHandler()
        if let load { _ = repl.submit(":load \(load)") }
        if isatty(STDIN_FILENO) != 0 {
            LineEditor(repl: repl).run()
        } else {
            var lines = StandardInputLines()
            repl.run(lines: &lines)
        }
        guard session.runFile != nil else { return }
        do {
            try session.finishRun()
            try session.writeReport()
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        FileHandle.standardError.write(Data("run file: \(Session.displayPath(session.runFileURL))\n".utf8))
    }
}

/// Lines of standard input, for piped use of the REPL.
struct StandardInputLines: IteratorProtocol {
    mutating func next() -> String? {
        readLine(strippingNewline: true)
    }
}
