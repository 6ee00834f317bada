import Foundation
import RecipeLanguage

extension Notebook {
    /// Runs every cell in one fresh session whose output folder is `outputDirectory`
    /// (`results/notebooks/NAME`), with the RLHF builtins and no progress output, and renders the
    /// result. Training records into `outputDirectory/run.h5`, with the cells as the recipe text; a
    /// notebook that never trains leaves no run file.
    public func run(name: String, source: String, outputDirectory: URL) -> Result {
        let session = Session(outputDirectory: outputDirectory, progressStyle: .silent)
        session.recordsRun = true
        session.recordsRunWithoutTraining = false
        session.runName = name
        session.recipe = (try? recipe) ?? Recipe(text: cellText)
        var result = run(name: name, source: source, host: session)
        do {
            try session.finishRun(error: result.failedCells > 0 ? NotebookFailure(failedCells: result.failedCells) : nil)
        } catch {
            result.failedCells += 1
            result.markdown += "\nerror: \(error)\n"
        }
        return result
    }
}

/// What a notebook's run file records when cells failed.
struct NotebookFailure: Error, CustomStringConvertible {
    var failedCells: Int
    var description: String { "\(failedCells) notebook cell(s) failed" }
}
