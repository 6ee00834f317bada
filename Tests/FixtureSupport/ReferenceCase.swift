import Foundation

/// One case of one reference file in one reference folder: the unit that `@Test(arguments:)`
/// reports, so a failure names the folder, the file and the case.
public struct ReferenceCase: CustomStringConvertible, Sendable {
    public let url: URL
    /// The case this test reads (a key of `expected`, or a name listed in `params`); nil for a file
    /// with one case, or one that could not be read.
    public let name: String?

    public init(url: URL, name: String?) {
        self.url = url
        self.name = name
    }

    public var description: String {
        "\(url.deletingLastPathComponent().lastPathComponent)/\(url.lastPathComponent)\(name.map { " [\($0)]" } ?? "")"
    }

    /// The cases of `file` in every reference folder: one per object under `key` (e.g. `mean`,
    /// `sum` under `expected`), or one for the whole file. A copy that is missing or unreadable
    /// still gives one case, which fails when it loads.
    public static func all(_ file: String, casesUnder key: String? = "expected") -> [ReferenceCase] {
        cases(file) { fixture in
            guard let key else { return [] }
            let section = fixture.child(key)
            return section.keys.filter { section.value($0) is [String: Any] }
        }
    }

    /// One case per name that `names` lists in each copy of `file` (e.g. from `params`).
    public static func cases(_ file: String, names: (Fixture) -> [String]) -> [ReferenceCase] {
        Fixtures.files(named: file).flatMap { url -> [ReferenceCase] in
            guard let fixture = try? Fixtures.load(url) else { return [ReferenceCase(url: url, name: nil)] }
            let list = names(fixture)
            return list.isEmpty ? [ReferenceCase(url: url, name: nil)] : list.map { ReferenceCase(url: url, name: $0) }
        }
    }

    /// The loaded file; throws (failing the test) when the folder lacks it.
    public func load() throws -> Fixture {
        guard FileManager.default.fileExists(atPath: url.path) else { throw FixtureError.missingFile(url.path) }
        return try Fixtures.load(url)
    }

    /// The case's name; throws when the file could not be split into cases.
    public var caseName: String {
        get throws {
            guard let name else { throw FixtureError.missing(url.path, "(cases under expected/params)") }
            return name
        }
    }
}

extension Fixture {
    /// `self.child(name)` for a named case, `self` for a file with one case.
    public func `case`(_ name: String?) -> Fixture { name.map { child($0) } ?? self }
}
