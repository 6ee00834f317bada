import Foundation

// Row lookups and gathers by integer index, with scatter-add backwards.
// Embedding shapes: weight [V, D], ids N = product of `shape`, out shape + [D].
// Gather shapes: x viewed as [O, n, I] around `axis`; index [O, m, I]; out [O, m, I].
// The backwards add into the gradient in index order, on one thread, so repeated ids accumulate
// with the same bits every run.

/// Looks up rows of `weight`: `weight[ids]` reshaped to `shape + [D]` (`nn.Embedding`).
///
/// - Parameters:
///   - weight: `[V, D]`.
///   - ids: token ids in `0..<V`, as many as `shape` holds.
///   - shape: the shape of the ids (e.g. `[B, T]`).
/// - Returns: `shape + [D]`.
public func embedding(_ weight: Tensor, ids: [Int], shape: [Int]) throws -> Tensor {
    guard weight.rank == 2 else {
        throw TensorError.shape(op: "embedding", message: "needs weight [V, D], got \(weight.shape)")
    }
    guard shape.allSatisfy({ $0 >= 0 }), elementCount(shape) == ids.count else {
        throw TensorError.shape(op: "embedding", message: "\(ids.count) ids do not fill shape \(shape)")
    }
    let (vocab, d) = (weight.shape[0], weight.shape[1])
    if let bad = ids.firstIndex(where: { !(0..<vocab).contains($0) }) {
        throw TensorError.invalidArgument(
            op: "embedding", message: "id \(ids[bad]) at position \(bad) is out of range for weight \(weight.shape) (vocabulary of \(vocab))")
    }
    let wData = weight.data
    let out = makeArray(count: ids.count * d) { po in
        guard d > 0 else { return }
        wData.withUnsafeBufferPointer { pw in
            for (row, id) in ids.enumerated() {
                (po.baseAddress! + row * d).update(from: pw.baseAddress! + id * d, count: d)
            }
        }
    }
    return Tensor.result(shape: shape + [d], data: out, inputs: [weight]) { g in
        var dw = [Float](repeating: 0, count: vocab * d)
        guard d > 0 else { return [dw] }
        dw.withUnsafeMutableBufferPointer { pdw in
            g.withUnsafeBufferPointer { pg in
                for (row, id) in ids.enumerated() {
                    let dst = pdw.baseAddress! + id * d, src = pg.baseAddress! + row * d
                    for j in 0..<d { dst[j] += src[j] }
                }
            }
        }
        return [dw]
    }
}

/// Picks values along `axis` by index, as `torch.gather(x, axis, index)`.
///
/// `index` is shaped like `x` except along `axis`, where it may hold any number m of entries
/// (its extent is `index.count` divided by the product of the other extents):
/// `out[o, i, j] = x[o, index[o, i, j], j]` for the axis in the middle. Indices may repeat; their
/// gradients add up.
///
/// - Returns: the shape of `x` with `m` along `axis`.
public func gather(_ x: Tensor, axis: Int, index: [Int]) throws -> Tensor {
    let ax = try normalizedAxis(axis, rank: x.rank, op: "gather")
    let (outer, n, inner) = split3(x.shape, ax)
    let others = outer * inner
    guard others > 0 ? index.count % others == 0 : index.isEmpty else {
        throw TensorError.shape(
            op: "gather",
            message: "\(index.count) indices do not fit x \(x.shape) along axis \(ax): needs a multiple of \(others) (the other extents)")
    }
    let m = others > 0 ? index.count / others : 0
    if let bad = index.firstIndex(where: { !(0..<n).contains($0) }) {
        throw TensorError.invalidArgument(
            op: "gather", message: "index \(index[bad]) at position \(bad) is out of range for axis \(ax) of x \(x.shape)")
    }
    var outShape = x.shape
    if !outShape.isEmpty { outShape[ax] = m }
    let xData = x.data
    var out = [Float](repeating: 0, count: index.count)
    for o in 0..<outer {
        for i in 0..<m {
            for j in 0..<inner {
                let k = (o * m + i) * inner + j
                out[k] = xData[(o * n + index[k]) * inner + j]
            }
        }
    }
    return Tensor.result(shape: outShape, data: out, inputs: [x]) { g in
        var dx = [Float](repeating: 0, count: xData.count)
        for o in 0..<outer {
            for i in 0..<m {
                for j in 0..<inner {
                    let k = (o * m + i) * inner + j
                    dx[(o * n + index[k]) * inner + j] += g[k]
                }
            }
        }
        return [dx]
    }
}
