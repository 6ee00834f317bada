import Foundation
import RecipeLanguage

extension Notebook {
    /// Runs every cell in one fresh session whose output folder is `outputDirectory`
    /// (`results/NAME`), with the RLHF builtins and no progress output, and renders the result.
    public func run(name: String, source: String, outputDirectory: URL) -> Result {
        run(name: name, source: source, host: Session(outputDirectory: outputDirectory, progressStyle: .silent))
    }
}
