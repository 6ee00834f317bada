import Foundation
import RecipeLanguage
import Recording

// What a REPL session records: its successful statements become the run's recipe text, `:save`
// writes them as a recipe for `rlhf run`, and `:run` shows the run file.

extension Session {
    /// Keeps the REPL's successful statements as the recipe (and, once a run file is open, as
    /// its `recipe` attribute), so the run file says what made it.
    public func statementsDidRun(_ statements: [String]) {
        let text = savedRecipe(statements)
        recipe = Recipe(text: text)
        try? runFile?.setRecipe(text)
    }

    /// The statements as a recipe; with `--seed` given to the REPL, a first comment says how to
    /// rerun it with that seed.
    public func savedRecipe(_ statements: [String]) -> String {
        var text = "// The statements of an `rlhf repl` session that ran without an error, in order.\n"
        if let fixedSeed { text += "// The session ran with --seed \(fixedSeed): rerun it with `rlhf run FILE --seed \(fixedSeed)`.\n" }
        return text + statements.map { $0.hasSuffix("\n") ? $0 : $0 + "\n" }.joined()
    }

    /// The run file's path and each stage's committed steps and last loss.
    public func runSummary() -> String {
        guard recordsRun else { return "this session records no run file\n" }
        let path = Session.displayPath(runFileURL)
        guard runFile != nil else { return "no run file yet: the first training call starts \(path)\n" }
        do {
            let reader = try RunReader(url: runFileURL)
            var text = "run file: \(path) (\(reader.status), seed \(reader.attributes["seed"]?.description ?? "0"))\n"
            if reader.stageNames.isEmpty { text += "  no stages yet\n" }
            for stage in try reader.stages() {
                let loss = stage.metricNames.contains("loss") ? (try? stage.metric("loss").last).flatMap { $0 } : nil
                text += "  \(stage.name): \(stage.committedSteps) steps" + (loss.map { ", loss \(formatMetric($0))" } ?? "") + "\n"
            }
            return text
        } catch {
            return "run file: \(path)\nerror: \(error)\n"
        }
    }

    /// The first folder `base-1`, `base-2`, ... (or `base` itself when `numbered` is false and it
    /// is free) that does not exist yet: a new REPL session never writes into an earlier one's.
    public static func firstFreeFolder(_ base: URL, numbered: Bool) -> URL {
        let manager = FileManager.default
        if !numbered, !manager.fileExists(atPath: base.path) { return base }
        var n = numbered ? 1 : 2
        while true {
            let candidate = base.deletingLastPathComponent().appendingPathComponent("\(base.lastPathComponent)-\(n)")
            if !manager.fileExists(atPath: candidate.path) { return candidate }
            n += 1
        }
    }

    /// `url`'s path relative to the working directory when it lies under it.
    public static func displayPath(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let cwd = FileManager.default.currentDirectoryPath
        return path.hasPrefix(cwd + "/") ? String(path.dropFirst(cwd.count + 1)) : path
    }
}
