import Foundation

// Reductions along one axis view a tensor as [outer, n, inner], n being the reduced axis.
// Every sum runs in a fixed order (left to right) so results never depend on the thread count.

extension Tensor {
    /// Sum of all elements, accumulated in Double.
    public func sum() -> Tensor {
        var total = 0.0
        data.withUnsafeBufferPointer { p in for v in p { total += Double(v) } }
        let shape = self.shape
        return Tensor.result(shape: [], data: [Float(total)], inputs: [self]) { g in
            [[Float](repeating: g[0], count: elementCount(shape))]
        }
    }

    /// Mean of all elements, accumulated in Double (NaN for an empty tensor, as PyTorch gives).
    public func mean() -> Tensor {
        var total = 0.0
        data.withUnsafeBufferPointer { p in for v in p { total += Double(v) } }
        let shape = self.shape, n = count
        return Tensor.result(shape: [], data: [Float(total / Double(n))], inputs: [self]) { g in
            [[Float](repeating: g[0] / Float(n), count: elementCount(shape))]
        }
    }

    /// Sum along `axis`; keeps it as extent 1 when `keepDims`.
    public func sum(axis: Int, keepDims: Bool = false) throws -> Tensor {
        let ax = try normalizedAxis(axis, rank: rank, op: "sum")
        let (outer, n, inner) = split3(shape, ax)
        var out = [Float](repeating: 0, count: outer * inner)
        data.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { po in
                for o in 0..<outer {
                    for i in 0..<n {
                        let base = (o * n + i) * inner
                        for j in 0..<inner { po[o * inner + j] += p[base + j] }
                    }
                }
            }
        }
        let outShape = reducedShape(shape, ax, keepDims)
        return Tensor.result(shape: outShape, data: out, inputs: [self]) { g in
            var dx = [Float](repeating: 0, count: outer * n * inner)
            for o in 0..<outer { for i in 0..<n { for j in 0..<inner { dx[(o * n + i) * inner + j] = g[o * inner + j] } } }
            return [dx]
        }
    }

    /// Mean along `axis`.
    public func mean(axis: Int, keepDims: Bool = false) throws -> Tensor {
        let ax = try normalizedAxis(axis, rank: rank, op: "mean")
        return try sum(axis: ax, keepDims: keepDims) * (1 / Float(Swift.max(shape.isEmpty ? 1 : shape[ax], 1)))
    }

    /// Maximum along `axis`; the gradient goes to the first maximal element.
    public func max(axis: Int, keepDims: Bool = false) throws -> Tensor { try extreme(axis: axis, keepDims: keepDims, greater: true) }

    /// Minimum along `axis`; the gradient goes to the first minimal element.
    public func min(axis: Int, keepDims: Bool = false) throws -> Tensor { try extreme(axis: axis, keepDims: keepDims, greater: false) }

    /// Index of the maximum along `axis` (the first on ties; a NaN counts as the maximum).
    public func argmax(axis: Int) throws -> [Int] {
        let ax = try normalizedAxis(axis, rank: rank, op: "argmax")
        let (outer, n, inner) = split3(shape, ax)
        guard n > 0 else { throw TensorError.invalidArgument(op: "argmax", message: "empty axis in shape \(shape)") }
        var idx = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for j in 0..<inner {
                var best = 0
                var bestValue = data[o * n * inner + j]
                for i in 1..<n {
                    let v = data[(o * n + i) * inner + j]
                    if v > bestValue || (v.isNaN && !bestValue.isNaN) { best = i; bestValue = v }
                }
                idx[o * inner + j] = best
            }
        }
        return idx
    }

    private func extreme(axis: Int, keepDims: Bool, greater: Bool) throws -> Tensor {
        let op = greater ? "max" : "min"
        let ax = try normalizedAxis(axis, rank: rank, op: op)
        let (outer, n, inner) = split3(shape, ax)
        guard n > 0 else { throw TensorError.invalidArgument(op: op, message: "cannot reduce an empty axis of shape \(shape)") }
        var out = [Float](repeating: 0, count: outer * inner)
        var which = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for j in 0..<inner {
                var best = 0
                var bestValue = data[o * n * inner + j]
                for i in 1..<n {
                    let v = data[(o * n + i) * inner + j]
                    if bestValue.isNaN { break }
                    if v.isNaN || (greater ? v > bestValue : v < bestValue) { best = i; bestValue = v }
                }
                out[o * inner + j] = bestValue
                which[o * inner + j] = best
            }
        }
        return Tensor.result(shape: reducedShape(shape, ax, keepDims), data: out, inputs: [self]) { g in
            var dx = [Float](repeating: 0, count: outer * n * inner)
            for o in 0..<outer { for j in 0..<inner { dx[(o * n + which[o * inner + j]) * inner + j] = g[o * inner + j] } }
            return [dx]
        }
    }
}

/// (product before `axis`, extent of `axis`, product after `axis`).
func split3(_ shape: [Int], _ axis: Int) -> (Int, Int, Int) {
    if shape.isEmpty { return (1, 1, 1) }
    return (elementCount(Array(shape[..<axis])), shape[axis], elementCount(Array(shape[(axis + 1)...])))
}

func reducedShape(_ shape: [Int], _ axis: Int, _ keepDims: Bool) -> [Int] {
    if shape.isEmpty { return [] }
    var s = shape
    if keepDims { s[axis] = 1 } else { s.remove(at: axis) }
    return s
}
