import Distributed
import Foundation
import RecipeLanguage
import Recording
import Reports
import Tensors
import Training

/// The state one recipe run, REPL or notebook shares: the seed, the output folder, what the recipe
/// may read and write, where printed output goes, and the run file. It is the recipe language's
/// host: its registry holds the language's builtins and the RLHF ones.
///
/// The builtins' Swift API acts on `Session.current`. The interpreter makes its own session current
/// while it evaluates; a compiled program uses `Session.shared`, whose output folder is
/// `$RLHF_OUT` or else `results/<program name>`, whose output goes to standard output, and whose
/// run file is written when the program exits.
///
/// The run file is opened by `beginRun()` and closed, with its report written, by `finishRun()`:
/// this is the one place that does either.
public final class Session: RecipeHost {
    /// The session of a compiled program that imports `Recipes`.
    public static let shared: Session = {
        let program = URL(fileURLWithPath: CommandLine.arguments.first ?? "recipe").deletingPathExtension().lastPathComponent
        let folder = ProcessInfo.processInfo.environment["RLHF_OUT"].flatMap { $0.isEmpty ? nil : $0 } ?? "results/\(program)"
        let session = Session(outputDirectory: URL(fileURLWithPath: folder))
        session.recordsRun = true
        closeSharedRunAtExit()
        return session
    }()

    /// The session the Swift API acts on: the one an interpreter made current on this thread
    /// while it runs, `shared` otherwise. Each interpreter runs on its own thread, so several
    /// sessions can run at once in one process.
    public static var current: Session {
        (CurrentHost.host as? Session) ?? shared
    }

    /// The seed `seed(_:)` set; nil until a recipe (or `--seed`) sets one.
    public var seed: Int?
    /// A seed from the command line (`rlhf run --seed N`): it wins over the recipe's `seed(...)`,
    /// so a sweep over seeds needs no edit of the recipe.
    public var fixedSeed: Int? {
        didSet { if let fixedSeed { seed = fixedSeed } }
    }
    /// The session's one root stream, made from the resolved seed: stages, models, adapters,
    /// sampling and synthetic tasks fork it by name, so adding a consumer never shifts another's.
    public var rng: RNG { RNG(seed: UInt64(bitPattern: Int64(seed ?? 0))) }
    /// Where the run file, the report and every file a recipe writes go.
    public var outputDirectory: URL
    /// Folders a recipe may read under (besides the working directory and the output folder).
    public var readableRoots: [URL] = []
    /// Folders a recipe may write under besides the output folder.
    public var writableRoots: [URL] = []
    /// The recipe being run (its text and `--set` overrides), recorded in the run file.
    public var recipe: Recipe?
    /// Receives everything a recipe prints or displays.
    public var display: (OutputItem) -> Void
    /// How long-running work reports progress.
    public var progressStyle: ProgressBar.Style
    /// The language's builtins and the RLHF areas.
    public var registry: Registry { .recipes }
    /// State that builtin areas keep per session (e.g. the open run file's stage counters), by key.
    public var storage: [String: AnyObject] = [:]
    /// Hooks called by `beginRun()` and `finishRun()`, after the run file is opened and before it
    /// is closed: a report writer registers here.
    public var runHooks = RunHooks()
    /// Whether training resumes from the checkpoints a killed run left in the output folder
    /// (`rlhf run --resume`): finished stages restore their final checkpoint, the interrupted one
    /// its newest, and the rest of the recipe runs.
    public var resume = false
    /// Resume even when the recipe text changed since the checkpoints were written.
    public var force = false
    /// Whether training records into a run file (`rlhf run`, the REPL, notebooks and compiled
    /// programs do; a session made for a test or a tool may not).
    public var recordsRun = false
    /// Whether a recording session that never trained still leaves a run file (`rlhf run` does, to
    /// keep its recipe and seed; a REPL session or a notebook that only computed leaves none).
    public var recordsRunWithoutTraining = true
    /// Where the next run goes after `reset()` ends one (a REPL's next free `session-N` folder);
    /// nil keeps the output folder.
    public var nextRunDirectory: (() -> URL)?
    /// The ranks of a data-parallel job (`mpirun -np N rlhf run ...`). Every rank runs the recipe;
    /// rank 0 alone writes the run file, the report and checkpoints, and what a recipe writes on
    /// another rank goes to a scratch folder of that rank (``scratchDirectory``) that it deletes.
    public var world = World.shared
    /// Where a rank other than 0 puts the files a recipe writes (nil on rank 0).
    public var scratchDirectory: URL? {
        world.isWriter
            ? nil
            : FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-rank\(world.rank)-\(ProcessInfo.processInfo.processIdentifier)")
    }
    /// The run's name, recorded in the run file; by default the output folder's name.
    public lazy var runName: String = outputDirectory.lastPathComponent
    /// The open run file, once a trainer has asked for `runContext()`.
    public private(set) var runFile: RunFile?
    private var context: RunContext?
    private var progressBars: [String: ProgressBar] = [:]
    private var finishedStages: Set<String> = []

    /// Called when a run starts and ends.
    public struct RunHooks {
        public var begin: [(Session) throws -> Void] = []
        public var finish: [(Session) throws -> Void] = []
        public init() {}
    }

    public init(
        outputDirectory: URL, display: ((OutputItem) -> Void)? = nil,
        progressStyle: ProgressBar.Style = .automatic
    ) {
        self.outputDirectory = outputDirectory.standardizedFileURL
        self.progressStyle = progressStyle
        self.display = display ?? { item in writeToStandardOutput(item.plainText) }
    }

    /// Forgets the seed (`:reset` in the REPL). A run that trained ends here, with its report, and
    /// training after the reset starts a new run (in `nextRunDirectory` when given) whose models
    /// and streams are numbered afresh.
    public func reset() {
        seed = nil
        guard hasRunContext else { return }
        try? finishRun()
        if recordsRun { try? writeReport() }
        storage = [:]
        finishedStages = []
        if let next = nextRunDirectory?() {
            outputDirectory = next.standardizedFileURL
            runName = outputDirectory.lastPathComponent
        }
    }

    // MARK: - The run file

    /// The file the run records into: `run.h5` in the output folder.
    public var runFileURL: URL { outputDirectory.appendingPathComponent("run.h5") }

    /// Starts a run: creates the output folder and calls the `begin` hooks.
    public func beginRun() throws {
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        for hook in runHooks.begin { try hook(self) }
    }

    /// Ends a run: records `error` when the run failed, calls the `finish` hooks (the report), then
    /// closes the run file. With `recordsRun`, a run that never trained still leaves a run file
    /// holding its recipe, overrides and seed. Safe to call twice.
    public func finishRun(error: Error? = nil) throws {
        if recordsRun, recordsRunWithoutTraining, context == nil, world.isWriter { _ = try runContext() }
        if let error { try runFile?.recordError("\(error)", interrupted: (error as? RecipeError)?.kind == .interrupted) }
        defer {
            try? runFile?.close()
            runFile = nil
            context = nil
            for bar in progressBars.values { bar.finish() }
            progressBars = [:]
        }
        for hook in runHooks.finish { try hook(self) }
    }

    /// Writes the report of the closed run file (`report.md` and its SVG charts) into the output
    /// folder; made from the run file alone, as `rlhf report` makes it.
    public func writeReport() throws {
        guard world.isWriter, FileManager.default.fileExists(atPath: runFileURL.path) else { return }
        // Each file through the sandbox: a link already at a report's name is refused, not followed.
        for file in try Report.render(try RunReader(url: try readableURL(runFileURL.path))) {
            try Data(file.contents.utf8).write(to: try writableURL(file.name), options: .atomic)
        }
    }

    /// Where trainers record and report: created at the first training stage, from the seed set by
    /// then. With `recordsRun`, it opens the run file, whose root attributes hold the recipe text,
    /// the `--set` overrides and the seed. Progress goes to a progress bar per stage, and Ctrl-C
    /// stops the stage after its current step.
    public func runContext() throws -> RunContext {
        if let context { return context }
        var file: RunFile?
        if recordsRun && world.isWriter {
            try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
            var extra: [String: ConfigValue] = [:]
            if let recipe, !recipe.overrides.isEmpty {
                extra["overrides"] = .strings(recipe.overrides.map { "\($0.name)=\($0.value)" })
            }
            if let path = recipe?.fileName { extra["recipe_file"] = .string(path) }
            if world.size > 1 { extra["ranks"] = .int(world.size) }
            file = try RunFile.create(
                at: try writableURL(runFileURL.lastPathComponent),
                attributes: RunAttributes(
                    name: runName, recipe: recipe?.text ?? "", seed: UInt64(bitPattern: Int64(seed ?? 0)),
                    threads: Parallel.threads, version: Session.version, extra: extra))
            runFile = file
        }
        let made = RunContext(rng: rng, runFile: file)
        made.world = world
        if recordsRun {
            // A fresh run starts a fresh checkpoint folder, so a later --resume never finds another run's.
            let checkpoints = try sandbox.writableURL("checkpoints")
            if resume {
                try refuseLinks(under: checkpoints)
            } else if world.isWriter {
                try? FileManager.default.removeItem(at: checkpoints)
            }
            made.resume = ResumePolicy(checkpointRoot: checkpoints, resume: resume, fingerprint: recipeFingerprint, force: force)
        }
        made.onProgress = { [weak self] progress in
            self?.report(progress)
            return Interrupt.isRequested ? .stop : .continue
        }
        context = made
        return made
    }

    /// What a checkpoint remembers of the recipe, to refuse resuming a different one: a hash of
    /// its text and `--set` overrides.
    var recipeFingerprint: String {
        let text = (recipe?.text ?? "") + "\n" + (recipe?.overrides.map { "\($0.name)=\($0.value)" } ?? []).joined(separator: "\n")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    /// Whether a training stage has started (after which `seed(...)` can no longer change the run).
    public var hasRunContext: Bool { context != nil }

    /// The version written into run files.
    public static let version = "0.1.0"

    private func report(_ progress: TrainingProgress) {
        switch progress {
        case .step(let stage, let step, let total, let metrics, let tokens):
            guard !finishedStages.contains(stage) else { return }
            let bar = progressBars[stage] ?? ProgressBar(label: stage, total: total, style: progressStyle)
            progressBars[stage] = bar
            bar.update(step: step + 1, loss: metrics["loss"], tokens: tokens)
            if step + 1 >= total {
                bar.finish()
                progressBars[stage] = nil
                finishedStages.insert(stage)
            }
        case .eval, .rollout:
            break
        }
    }

    // MARK: - What a recipe may touch

    /// The URL for writing `path` (relative to the output folder), refused when it leaves the
    /// output folder and every allowed write folder.
    public func writableURL(_ path: String) throws -> URL {
        let url = try sandbox.writableURL(path)
        guard let scratch = scratchDirectory else { return url }
        let moved = scratch.appendingPathComponent(url.path)
        try FileManager.default.createDirectory(at: moved.deletingLastPathComponent(), withIntermediateDirectories: true)
        return moved
    }

    /// The URL for reading `path` (relative to the working directory), refused when it is outside
    /// the working directory, the output folder and every allowed read folder.
    public func readableURL(_ path: String) throws -> URL {
        let url = try sandbox.readableURL(path)
        // A file this rank wrote itself is read back from its scratch folder.
        if let scratch = scratchDirectory?.appendingPathComponent(url.path), FileManager.default.fileExists(atPath: scratch.path) {
            return scratch
        }
        return url
    }

    /// Refuses a symbolic link anywhere under `folder` (checkpoints a resumed run writes into).
    private func refuseLinks(under folder: URL) throws {
        guard let entries = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isSymbolicLinkKey]) else { return }
        for case let url as URL in entries where (try? url.resourceValues(forKeys: [.isSymbolicLinkKey]).isSymbolicLink) == true {
            throw RecipeError(.file, "\(url.relativeToWorkingDirectory) is a symbolic link; a run never writes through one (remove it)")
        }
    }

    private var sandbox: FileSandbox {
        FileSandbox(outputDirectory: outputDirectory, readableRoots: readableRoots, writableRoots: writableRoots)
    }
}

/// A compiled program writes its run file, and closes it, when it exits.
private func closeSharedRunAtExit() {
    atexit {
        // Only a program that used the recipe API (a seed or a training stage) is a run; a tool
        // that merely touched the shared session leaves no files behind.
        let session = Session.shared
        guard session.seed != nil || session.hasRunContext else { return }
        do {
            try session.finishRun()
            try session.writeReport()
        } catch {
            fputs("error: \(error)\n", stderr)
        }
    }
}
