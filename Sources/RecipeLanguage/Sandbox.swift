import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The folders a recipe may read and write: it writes under its output folder (and any folder
/// allowed with `--allow-write`), and reads under the working directory, the output folder and
/// any folder allowed with `--allow-read`.
///
/// A path is checked on where it really leads: `..` is removed, every existing symbolic link on
/// the way is followed (a link that leads nowhere is refused), and the result must lie inside an
/// allowed folder. A write never goes through a link: an existing symbolic link at the destination
/// is refused. Writers put a file in place by renaming a temporary file of the same folder over it
/// (`Data.write(to:options: .atomic)`), which replaces a link created later rather than following it.
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

    /// The URL for writing `path` (relative to the output folder), refused when it leads out of
    /// the output folder and every allowed write folder, or when it is a symbolic link.
    public func writableURL(_ path: String) throws -> URL {
        let url = try resolve(path, relativeTo: outputDirectory, followingFinalLink: false)
        guard ([outputDirectory] + writableRoots).contains(where: { url.real.isInside($0.resolvedForChecking) }) else {
            throw RecipeError(
                .file,
                "a recipe writes only under its output folder \(outputDirectory.relativeToWorkingDirectory); "
                    + "`\(path)` \(url.leadsTo)is outside it (allow more with --allow-write DIR)")
        }
        if url.real.isSymbolicLink {
            throw RecipeError(
                .file, "`\(path)` is a symbolic link; a recipe never writes through one (remove the link, or write elsewhere)")
        }
        return url.real
    }

    /// The URL for reading `path` (relative to the working directory), refused when it leads out
    /// of the working directory, the output folder and every allowed read folder.
    public func readableURL(_ path: String) throws -> URL {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let url = try resolve(path, relativeTo: cwd, followingFinalLink: true)
        let roots = [cwd, outputDirectory] + readableRoots + writableRoots
        guard roots.contains(where: { url.real.isInside($0.resolvedForChecking) }) else {
            throw RecipeError(
                .file,
                "a recipe reads only under the working directory; `\(path)` \(url.leadsTo)is outside it "
                    + "(allow more with --allow-read DIR)")
        }
        return url.real
    }

    private func resolve(_ path: String, relativeTo base: URL, followingFinalLink: Bool) throws -> (real: URL, leadsTo: String) {
        let url = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)).standardizedFileURL
        guard let real = url.resolvingExistingLinks(followingFinalLink: followingFinalLink) else {
            throw RecipeError(.file, "`\(path)` leads through a symbolic link that points nowhere; a recipe never follows one")
        }
        return (real, real.path != url.path ? "leads to \(real.path), which " : "")
    }
}

extension URL {
    /// The absolute path with `..` removed and every existing symbolic link followed, so that a
    /// link cannot lead a path out of an allowed folder. A path through a link that leads nowhere
    /// is kept as it is (and so is never found inside a folder it does not resolve into).
    var resolvedForChecking: URL {
        standardizedFileURL.resolvingExistingLinks(followingFinalLink: true) ?? standardizedFileURL
    }

    /// The path with every symbolic link among its existing components followed; the components
    /// that do not exist yet are appended unchanged. Without `followingFinalLink`, a link as the
    /// final component is kept (its folder resolved), so a writer can refuse it. Nil when a link
    /// that must be followed leads nowhere.
    func resolvingExistingLinks(followingFinalLink: Bool) -> URL? {
        // The longest prefix that exists as an entry (a link counts, even one that leads nowhere).
        var existing = standardizedFileURL
        var rest: [String] = []
        while !existing.entryExists, existing.path != "/" {
            rest.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
        var resolved: URL
        if existing.isSymbolicLink, rest.isEmpty, !followingFinalLink {
            guard let folder = existing.deletingLastPathComponent().realPath else { return nil }
            resolved = folder.appendingPathComponent(existing.lastPathComponent)
        } else {
            guard let real = existing.realPath else { return nil }
            resolved = real
        }
        for component in rest { resolved.appendPathComponent(component) }
        return resolved.standardizedFileURL
    }

    /// `realpath(3)`: every link followed; nil when one leads nowhere.
    var realPath: URL? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return URL(fileURLWithPath: String(cString: pointer))
    }

    /// Whether an entry exists at the path itself, a symbolic link (even a dangling one) included.
    var entryExists: Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether the path itself is a symbolic link.
    var isSymbolicLink: Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
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
