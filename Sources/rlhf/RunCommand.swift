import ArgumentParser
import Distributed
import Foundation
import Recipes
import Tensors

/// `rlhf run FILE.swift`: runs a recipe; its run file and report go to the output folder.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a recipe file; its run file and report go to the output folder.",
        discussion: """
            The recipe is Swift source (see docs/recipes.md). --set replaces the value of a top-level `let`,
            so a sweep needs no edit of the file:

              rlhf run recipes/dpo.swift --set beta=0.05 --set learningRate=5e-4 --out results/dpo-beta0.05

            The run file records the recipe text, the overrides and the seed. Every stage checkpoints into
            OUT/checkpoints/<stage> (at its end, and every saveSteps steps): a killed run continues with

              rlhf run recipes/dpo.swift --resume

            and its run file equals an uninterrupted run's, wall-clock timings aside.

            Data-parallel over MPI: `mpirun -np 4 rlhf run FILE` (a hostfile spreads the ranks over
            machines), or `rlhf run FILE --ranks 4` on this machine. Any number of ranks gives the same
            run file; rank 0 writes it (see docs/scale-out.md).
            """)

    @Argument(help: "The recipe file.")
    var file: String

    @Option(help: "The seed; it wins over the recipe's seed(...) call.")
    var seed: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp("Replace a top-level `let`: name=value (repeatable).", valueName: "name=value"))
    var overrides: [String] = []

    @Option(help: "The output folder (default: results/<file name>).")
    var out: String?

    @Flag(
        help:
            "Continue a killed run in the same --out: finished stages are restored from their final checkpoints, the interrupted one from its newest, and the rest of the recipe runs."
    )
    var resume = false

    @Flag(help: "With --resume: resume even though the recipe changed since the checkpoints were written.")
    var force = false

    @Option(help: "Train data-parallel over this many MPI processes on this machine (starts mpirun).")
    var ranks: Int?

    @OptionGroup var limits: RuntimeLimits

    @Option(name: .customLong("allow-read"), help: ArgumentHelp("Also let the recipe read under this folder (repeatable).", valueName: "dir"))
    var allowRead: [String] = []

    @Option(name: .customLong("allow-write"), help: ArgumentHelp("Also let the recipe write under this folder (repeatable).", valueName: "dir"))
    var allowWrite: [String] = []

    func run() throws {
        if force && !resume { throw ValidationError("--force goes with --resume") }
        if let seed, seed < 0 { throw ValidationError("--seed must be ≥ 0, got \(seed)") }
        if let out, out.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--out needs a folder; \"\" names none") }
        if let ranks { return try launch(ranks: ranks) }
        let world = World.shared
        World.shouldStop = { Interrupt.isRequested }
        limits.apply(ranksOnThisMachine: world.ranksOnThisMachine)
        var recipe: Recipe
        do {
            recipe = try Recipe(contentsOf: URL(fileURLWithPath: file), fileName: file)
            for assignment in overrides { try recipe.override(assignment: assignment) }
        } catch let error as RecipeError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let outputDirectory = URL(fileURLWithPath: out ?? "results/\(stem)")
        let session = Session(outputDirectory: outputDirectory)
        let display = TerminalDisplay(host: session)
        // Every rank runs the recipe; rank 0 alone shows its output.
        session.display = world.isWriter ? display.show : { _ in }
        if !world.isWriter { session.progressStyle = .silent }
        session.fixedSeed = seed
        session.recipe = recipe
        session.recordsRun = true
        session.resume = resume
        session.force = force
        session.readableRoots = allowRead.map { URL(fileURLWithPath: $0) }
        session.writableRoots = allowWrite.map { URL(fileURLWithPath: $0) }
        Interrupt.installHandler()

        let interpreter = Interpreter(host: session)
        defer { if let scratch = session.scratchDirectory { try? FileManager.default.removeItem(at: scratch) } }
        let rank = world.size > 1 ? "rank \(world.rank): " : ""
        do {
            try session.beginRun()
            try interpreter.run(recipe)
            try session.finishRun()
            try session.writeReport()
        } catch let error as RecipeError {
            // Record the failure and close the run file, so every completed step stays readable.
            try? session.finishRun(error: error)
            try? session.writeReport()
            FileHandle.standardError.write(Data((rank + error.rendered(source: recipe.text) + "\n").utf8))
            throw ExitCode.failure
        } catch {
            try? session.finishRun(error: error)
            try? session.writeReport()
            FileHandle.standardError.write(Data("\(rank)error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        world.finalize()
        guard world.isWriter else { return }
        FileHandle.standardError.write(Data("run file: \(out ?? "results/\(stem)")/\(session.runFileURL.lastPathComponent)\n".utf8))
    }

    /// `--ranks N`: runs this same command under `mpirun -np N` on this machine and exits with its status.
    private func launch(ranks: Int) throws {
        guard (1...RuntimeLimits.maximumThreads).contains(ranks) else {
            throw ValidationError("--ranks must be between 1 and \(RuntimeLimits.maximumThreads), got \(ranks)")
        }
        guard World.shared.size == 1 else { throw ValidationError("--ranks starts mpirun itself; under mpirun, leave it out") }
        var arguments = Array(CommandLine.arguments.dropFirst())
        if let i = arguments.firstIndex(where: { $0 == "--ranks" || $0.hasPrefix("--ranks=") }) {
            arguments.removeSubrange(i..<(arguments[i] == "--ranks" ? i + 2 : i + 1))
        }
        let mpirun = Process()
        mpirun.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        mpirun.arguments = World.mpirun(ranks: ranks, program: [CommandLine.arguments[0]] + arguments)
        do { try mpirun.run() } catch {
            throw ValidationError("--ranks needs Open MPI's mpirun (scripts/setup installs openmpi-bin): \(error)")
        }
        mpirun.waitUntilExit()
        if mpirun.terminationStatus != 0 { throw ExitCode(mpirun.terminationStatus) }
    }
}
