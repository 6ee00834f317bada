import FixtureSupport
import Foundation
import Testing
@testable import Tensors

/// One case of one reference file in one reference folder: the unit `@Test(arguments:)` reports.
struct ReferenceCase: CustomTestStringConvertible, Sendable {
    let url: URL
    /// The sub-object of `params`/`expected` this case reads, or nil for a file with one case.
    let name: String?

    var testDescription: String {
        "\(url.deletingLastPathComponent().lastPathComponent)/\(url.lastPathComponent)\(name.map { " [\($0)]" } ?? "")"
    }

    /// The cases of `file` in every reference folder. A file with cases keyed under `expected`
    /// (e.g. `mean`, `sum`) gives one case per key; a missing file still gives one case, which fails.
    static func all(_ file: String, casesUnder key: String? = "expected") -> [ReferenceCase] {
        Fixtures.files(named: file).flatMap { url -> [ReferenceCase] in
            guard let key, let fixture = try? Fixtures.load(url) else { return [ReferenceCase(url: url, name: nil)] }
            let section = fixture.child(key)
            let names = section.keys.filter { section.value($0) is [String: Any] }
            return names.isEmpty ? [ReferenceCase(url: url, name: nil)] : names.map { ReferenceCase(url: url, name: $0) }
        }
    }

    /// The loaded file; throws (failing the test) when the folder lacks it.
    func load() throws -> Fixture {
        guard FileManager.default.fileExists(atPath: url.path) else { throw MissingReference(path: url.path) }
        return try Fixtures.load(url)
    }
}

/// A reference folder that lacks a file the tests check.
struct MissingReference: Error, CustomStringConvertible {
    let path: String
    var description: String { "\(path): no such reference file (every reference folder must hold every fixture)" }
}

extension Fixture {
    /// `self.child(name)` for a named case, `self` for a file with one case.
    func `case`(_ name: String?) -> Fixture { name.map { child($0) } ?? self }

    /// An array as a tensor (Float32 values, the fixture's shape).
    func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
        let a = try array(key)
        return Tensor(shape: a.shape, data: a.floats, requiresGrad: requiresGrad)
    }

    /// A possibly ragged nested list (e.g. parameters of different shapes) as one flat list per item.
    func list(_ key: String) throws -> [[Double]] {
        guard let items = value(key) as? [Any] else { throw FixtureError.missing(url.path, key) }
        return items.map(flattenAny)
    }
}

/// Flattens nested arrays of numbers in row-major order.
func flattenAny(_ value: Any) -> [Double] {
    if let n = value as? NSNumber { return [n.doubleValue] }
    if let list = value as? [Any] { return list.flatMap(flattenAny) }
    return []
}

/// Checks `actual` against `expected` with `allclose(rtol, atol)`; records one issue naming the
/// worst element.
func expectClose(_ actual: [Float], _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5,
                 _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let problem = mismatch(actual, expected, rtol: rtol, atol: atol, label: label)
    #expect(problem == nil, "\(problem ?? "")", sourceLocation: sourceLocation)
}

func expectClose(_ actual: Tensor?, _ expected: FixtureArray, rtol: Double = 1e-4, atol: Double = 1e-5,
                 _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        Issue.record("\(label): no tensor (missing gradient?)", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.count == expected.values.count, "\(label): \(actual.shape) vs expected \(expected.shape)",
            sourceLocation: sourceLocation)
    expectClose(actual.data, expected.values, rtol: rtol, atol: atol, label, sourceLocation: sourceLocation)
}

/// A tensor of normal values for tests.
func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1, requiresGrad: Bool = true) -> Tensor {
    var rng = RNG(seed: seed)
    return Tensor.randn(shape, std: std, rng: &rng, requiresGrad: requiresGrad)
}

/// Bit patterns, for bit-identity checks (NaN-safe, unlike `==`).
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Runs `body` with `Parallel.threads` set to `threads`, then restores it.
func withThreads<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
    let saved = Parallel.threads
    Parallel.threads = threads
    defer { Parallel.threads = saved }
    return try body()
}
