import Foundation

extension Tensor {
    /// The same elements under another shape; one extent may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        if let unknown = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != unknown }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError.shape(op: "reshape", message: "cannot reshape \(shape) to \(newShape)")
            }
            target[unknown] = count / known
        }
        guard target.allSatisfy({ $0 >= 0 }), elementCount(target) == count else {
            throw TensorError.shape(op: "reshape", message: "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        let original = shape
        return Tensor.result(shape: target, data: data, inputs: [self]) { g in
            _ = original
            return [g]
        }
    }

    /// Permutes the axes: `permuted([0, 2, 1, 3])` swaps axes 1 and 2 (a copy, row-major again).
    public func permuted(_ order: [Int]) throws -> Tensor {
        guard order.count == rank, Set(order) == Set(0..<rank) else {
            throw TensorError.invalidArgument(op: "permute", message: "\(order) is not a permutation of the axes of \(shape)")
        }
        let inShape = shape
        let outShape = order.map { inShape[$0] }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        let out = permute(data, shape: inShape, order: order)
        return Tensor.result(shape: outShape, data: out, inputs: [self]) { g in
            [permute(g, shape: outShape, order: inverse)]
        }
    }

    /// Swaps two axes.
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws -> Tensor {
        let x = try normalizedAxis(a, rank: rank, op: "transpose"), y = try normalizedAxis(b, rank: rank, op: "transpose")
        var order = Array(0..<rank)
        order.swapAt(x, y)
        return try permuted(order)
    }

    /// Elements `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) throws -> Tensor {
        let ax = try normalizedAxis(axis, rank: rank, op: "slice")
        guard range.lowerBound >= 0, range.upperBound <= shape[ax] else {
            throw TensorError.invalidArgument(op: "slice", message: "range \(range) out of bounds for axis \(ax) of \(shape)")
        }
        let (outer, n, inner) = split3(shape, ax)
        let len = range.count
        var out = [Float](repeating: 0, count: outer * len * inner)
        data.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { po in
                for o in 0..<outer {
                    let src = (o * n + range.lowerBound) * inner, dst = o * len * inner
                    for j in 0..<(len * inner) { po[dst + j] = p[src + j] }
                }
            }
        }
        var outShape = shape
        outShape[ax] = len
        let total = count
        return Tensor.result(shape: outShape, data: out, inputs: [self]) { g in
            var dx = [Float](repeating: 0, count: total)
            for o in 0..<outer {
                let dst = (o * n + range.lowerBound) * inner, src = o * len * inner
                for j in 0..<(len * inner) { dx[dst + j] = g[src + j] }
            }
            return [dx]
        }
    }

    /// Splits along `axis` into pieces of the given sizes (which must add up to the extent).
    public func split(axis: Int, sizes: [Int]) throws -> [Tensor] {
        let ax = try normalizedAxis(axis, rank: rank, op: "split")
        guard sizes.reduce(0, +) == shape[ax], sizes.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: "split", message: "sizes \(sizes) do not add up to extent \(shape[ax]) of axis \(ax) in \(shape)")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try slice(axis: ax, start..<(start + size))
        }
    }
}

/// Joins tensors along `axis`; all other extents must agree.
public func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
    guard let first = tensors.first else { throw TensorError.invalidArgument(op: "concat", message: "no tensors") }
    guard first.rank > 0 else {
        throw TensorError.shape(op: "concat", message: "cannot join scalars \(tensors.map(\.shape)) along an axis; reshape them to [1] first")
    }
    let ax = try normalizedAxis(axis, rank: first.rank, op: "concat")
    for t in tensors {
        var a = t.shape, b = first.shape
        guard a.count == b.count else {
            throw TensorError.shape(op: "concat", message: "ranks differ: \(tensors.map(\.shape))")
        }
        a[ax] = 0; b[ax] = 0
        guard a == b else { throw TensorError.shape(op: "concat", message: "shapes \(tensors.map(\.shape)) differ off axis \(ax)") }
    }
    let (outer, _, inner) = split3(first.shape, ax)
    let sizes = tensors.map { $0.shape[ax] }
    let total = sizes.reduce(0, +)
    var out = [Float](repeating: 0, count: outer * total * inner)
    var offset = 0
    for (t, n) in zip(tensors, sizes) {
        t.data.withUnsafeBufferPointer { p in
            for o in 0..<outer {
                let dst = (o * total + offset) * inner, src = o * n * inner
                for j in 0..<(n * inner) { out[dst + j] = p[src + j] }
            }
        }
        offset += n
    }
    var outShape = first.shape
    outShape[ax] = total
    return Tensor.result(shape: outShape, data: out, inputs: tensors) { g in
        var grads: [[Float]?] = []
        var offset = 0
        for (t, n) in zip(tensors, sizes) {
            defer { offset += n }
            guard t.requiresGrad else { grads.append(nil); continue }
            var dx = [Float](repeating: 0, count: outer * n * inner)
            for o in 0..<outer {
                let src = (o * total + offset) * inner, dst = o * n * inner
                for j in 0..<(n * inner) { dx[dst + j] = g[src + j] }
            }
            grads.append(dx)
        }
        return grads
    }
}

/// Stacks equally shaped tensors along a new leading axis.
public func stack(_ tensors: [Tensor]) throws -> Tensor {
    try concat(tensors.map { try $0.reshaped([1] + $0.shape) }, axis: 0)
}

/// The elements of a row-major `shape` rearranged so output axis i is input axis `order[i]`.
///
/// Walks the output in order; each run along the last output axis reads the input with one
/// stride (a plain copy when the last axis stays last).
func permute(_ x: [Float], shape: [Int], order: [Int]) -> [Float] {
    let rank = shape.count
    let count = x.count
    guard rank > 1, count > 0 else { return x }
    let inStrides = strides(of: shape)
    let outShape = order.map { shape[$0] }
    let steps = order.map { inStrides[$0] }  // input stride of each output axis
    let inner = outShape[rank - 1], innerStep = steps[rank - 1]
    return makeArray(count: count) { po in
        x.withUnsafeBufferPointer { px in
            let px = px.baseAddress!, po = po.baseAddress!
            var index = [Int](repeating: 0, count: rank - 1)
            var source = 0
            var o = 0
            while o < count {
                if innerStep == 1 {
                    (po + o).update(from: px + source, count: inner)
                } else {
                    for j in 0..<inner { po[o + j] = px[source + j * innerStep] }
                }
                o += inner
                // Advance the odometer over the outer output axes.
                var axis = rank - 2
                while axis >= 0 {
                    index[axis] += 1
                    source += steps[axis]
                    if index[axis] < outShape[axis] { break }
                    source -= steps[axis] * outShape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }
}
