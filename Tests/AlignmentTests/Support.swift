import Alignment
import FixtureSupport
import Foundation
import Testing
import Tensors

/// One case of one reference file in one reference folder: the unit `@Test(arguments:)` reports.
struct ReferenceCase: CustomTestStringConvertible, Sendable {
    let url: URL
    /// The case this test reads (a key of `expected`, or a name listed in `params`); nil when the
    /// file has one case or could not be read.
    let name: String?

    var testDescription: String {
        "\(url.deletingLastPathComponent().lastPathComponent)/\(url.lastPathComponent)\(name.map { " [\($0)]" } ?? "")"
    }

    /// One case per object under `expected` in every reference folder's copy of `file`; a copy
    /// that is missing or unreadable still gives one case, which fails.
    static func all(_ file: String) -> [ReferenceCase] {
        cases(file) { fixture in
            let expected = fixture.expected
            return expected.keys.filter { expected.value($0) is [String: Any] }
        }
    }

    /// One case per name that `names` lists in each copy of `file` (e.g. from `params`).
    static func cases(_ file: String, names: (Fixture) -> [String]) -> [ReferenceCase] {
        Fixtures.files(named: file).flatMap { url -> [ReferenceCase] in
            guard let fixture = try? Fixtures.load(url) else { return [ReferenceCase(url: url, name: nil)] }
            let list = names(fixture)
            return list.isEmpty ? [ReferenceCase(url: url, name: nil)] : list.map { ReferenceCase(url: url, name: $0) }
        }
    }

    /// The loaded file; throws (failing the test) when the folder lacks it.
    func load() throws -> Fixture {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FixtureError.missing(url.path, "(file)")
        }
        return try Fixtures.load(url)
    }

    /// The case's name; throws when the file could not be split into cases.
    var caseName: String {
        get throws {
            guard let name else { throw FixtureError.missing(url.path, "(cases under expected/params)") }
            return name
        }
    }
}

extension Fixture {
    /// An array as a tensor (Float32 values, the fixture's shape).
    func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
        let a = try array(key)
        return Tensor(shape: a.shape, data: a.floats, requiresGrad: requiresGrad)
    }

    /// A boolean (JSON true/false).
    func bool(_ key: String) throws -> Bool {
        guard let value = value(key) as? NSNumber else { throw FixtureError.missing(url.path, key) }
        return value.boolValue
    }

    /// A number that may be JSON null.
    func optionalDouble(_ key: String) throws -> Double? {
        guard let value = value(key) else { throw FixtureError.missing(url.path, key) }
        if value is NSNull { return nil }
        return try double(key)
    }
}

/// Computed outputs named as the fixture's `expected` keys.
typealias Outputs = [String: [Float]]

/// Checks that every key of `expected` was produced and matches (`allclose(rtol 1e-4, atol 1e-5)`),
/// so that no value or gradient a fixture gives goes unchecked.
func checkAll(_ outputs: Outputs, against expected: Fixture, label: String,
              sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(!expected.keys.isEmpty, "\(label): nothing expected", sourceLocation: sourceLocation)
    for key in expected.keys {
        guard let actual = outputs[key] else {
            Issue.record("\(label): expected '\(key)' was not computed (have \(outputs.keys.sorted()))", sourceLocation: sourceLocation)
            continue
        }
        let want = try expected.array(key)
        let problem = mismatch(actual, want.values, label: "\(label) \(key)")
        #expect(problem == nil, "\(problem ?? "")", sourceLocation: sourceLocation)
    }
}

/// The gradient of a leaf after `backward()`, zeros when it received none.
func gradient(_ t: Tensor) -> [Float] {
    t.grad?.data ?? [Float](repeating: 0, count: t.count)
}

/// Values of a scalar or any tensor.
func values(_ t: Tensor) -> [Float] { t.data }

/// A tensor of normal values for tests.
func randomTensor(_ shape: [Int], rng: inout RNG, std: Float = 1, requiresGrad: Bool = false) -> Tensor {
    Tensor.randn(shape, std: std, rng: &rng, requiresGrad: requiresGrad)
}
