import Foundation

/// The folders a recipe may read and write: it writes under its output folder (and any folder
/// allowed with `--allow-write`), and reads under the working directory, the output folder and
/// any folder allowed with `--allow-read`. Paths are resolved, symbolic links included, before
/// they are checked, so `..` or a link cannot lead out.
public struct FileSandbox {
    /// Where every file a recipe writes goes; relative write paths start here.
    public var outputDirectory: URL
    /// Folders a recipe may read under (besides the working directory and the output folder).
    public var readableRoots: [URL]
    /// Folders a recipe may write under besides the output folder.
    public var writableRoots: [URL]

    public init(outputDirectory: URL, readableRoots: [URL] = [], writableRoots: [URL] = []) {
        self.outputDirectory = outputDirectory
        self.readableRoots = readableRoots
        self.writableRoots = writableRoots
    }

    /// The URL for writing `path` (relative to the output folder), refused when it leaves the
    /// output folder and every allowed write folder.
    public func writableURL(_ path: String) throws -> URL {
        let url = resolve(path, relativeTo: outputDirectory)
        guard ([outputDirectory] + writableRoots).contains(where: { url.isInside($0.resolvedForChecking) }) else {
            throw RecipeError(
                .file,
                "a recipe writes only under its output folder \(outputDirectory.relativeToWorkingDirectory); "
                    + "`\(path)` is outside it (allow more with --allow-write DIR)")
        }
        return url
    }

    /// The URL for reading `path` (relative to the working directory), refused when it is outside
    /// the working directory, the output folder and every allowed read folder.
    public func readableURL(_ path: String) throws -> URL {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let url = resolve(path, relativeTo: cwd)
        let roots = [cwd, outputDirectory] + readableRoots + writableRoots
        guard roots.contains(where: { url.isInside($0.resolvedForChecking) }) else {
            throw RecipeError(
                .file,
                "a recipe reads only under the working directory; `\(path)` is outside it "
                    + "(allow more with --allow-read DIR)")
        }
        return url
    }

    private func resolve(_ path: String, relativeTo base: URL) -> URL {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        return url.resolvedForChecking
    }
}

extension URL {
    /// The absolute path with `..` removed and existing symbolic links followed, so that a link
    /// cannot lead a path out of an allowed folder.
    var resolvedForChecking: URL {
        let standardized = standardizedFileURL
        // Resolve the longest existing prefix; the rest does not exist yet and holds no links.
        var existing = standardized
        var rest: [String] = []
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            rest.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
        var resolved = existing.resolvingSymlinksInPath()
        for component in rest { resolved.appendPathComponent(component) }
        return resolved.standardizedFileURL
    }

    func isInside(_ folder: URL) -> Bool {
        let a = standardizedFileURL.pathComponents, b = folder.standardizedFileURL.pathComponents
        return a.count >= b.count && Array(a.prefix(b.count)) == b
    }

    /// The path relative to the working directory when inside it, for messages.
    public var relativeToWorkingDirectory: String {
        let cwd = FileManager.default.currentDirectoryPath
        let p = standardizedFileURL.path
        if p.hasPrefix(cwd + "/") { return String(p.dropFirst(cwd.count + 1)) }
        return p
    }
}
