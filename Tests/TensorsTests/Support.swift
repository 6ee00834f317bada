import FixtureSupport
import Foundation
import Testing
@testable import Tensors

/// Checks `actual` against `expected` with `allclose(rtol, atol)`; records one issue naming the
/// worst element.
func expectClose(
    _ actual: [Float], _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5,
    _ label: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    let problem = mismatch(actual, expected, rtol: rtol, atol: atol, label: label)
    #expect(problem == nil, "\(problem ?? "")", sourceLocation: sourceLocation)
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
