import FixtureSupport
import Foundation
import Testing
@testable import Tensors

extension Fixture {
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
