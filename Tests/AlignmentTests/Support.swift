import Alignment
import FixtureSupport
import Foundation
import Testing
import Tensors

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
