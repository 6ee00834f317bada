import Foundation

// MARK: - Broadcasting

/// The shape two shapes broadcast to under NumPy/PyTorch rules, or nil.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
    }
    return out
}

/// Strides that read `shape` as if broadcast to `outShape` (0 on broadcast axes).
func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
    let own = strides(of: shape)
    let pad = outShape.count - shape.count
    return (0..<outShape.count).map { i in
        i < pad || shape[i - pad] == 1 ? 0 : own[i - pad]
    }
}

/// Calls `body(outIndex, aOffset, bOffset)` over every element of `outShape`, in order.
@inline(__always)
func forEachBroadcast(_ outShape: [Int], _ sa: [Int], _ sb: [Int], _ body: (Int, Int, Int) -> Void) {
    let rank = outShape.count
    let total = elementCount(outShape)
    if rank == 0 { if total == 1 { body(0, 0, 0) }; return }
    let inner = outShape[rank - 1]
    let ia = sa[rank - 1], ib = sb[rank - 1]
    var index = [Int](repeating: 0, count: rank)
    var out = 0
    while out < total {
        var oa = 0, ob = 0
        for d in 0..<(rank - 1) { oa += index[d] * sa[d]; ob += index[d] * sb[d] }
        for j in 0..<inner { body(out + j, oa + j * ia, ob + j * ib) }
        out += inner
        var d = rank - 2
        while d >= 0 {
            index[d] += 1
            if index[d] < outShape[d] { break }
            index[d] = 0
            d -= 1
        }
    }
}

/// Sums a gradient of `outShape` down to `shape` (the reverse of broadcasting), in a fixed order.
func reduceGradient(_ g: [Float], from outShape: [Int], to shape: [Int]) -> [Float] {
    if outShape == shape { return g }
    var result = [Float](repeating: 0, count: elementCount(shape))
    let s = broadcastStrides(shape, to: outShape)
    let zero = [Int](repeating: 0, count: outShape.count)
    g.withUnsafeBufferPointer { pg in
        result.withUnsafeMutableBufferPointer { pr in
            forEachBroadcast(outShape, s, zero) { o, r, _ in pr[r] += pg[o] }
        }
    }
    return result
}

/// Applies `f` element-wise to `a` and `b` broadcast together (inlined, so `f` is too).
@inline(__always)
func broadcastBinary(_ op: String, _ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) throws -> ([Int], [Float]) {
    guard let outShape = broadcastShape(a.shape, b.shape) else {
        throw TensorError.shape(op: op, message: "shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    var out = [Float](repeating: 0, count: elementCount(outShape))
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { po in
                if a.shape == b.shape {
                    for i in 0..<po.count { po[i] = f(pa[i], pb[i]) }
                } else if b.count == 1 {
                    let v = pb[0]
                    for i in 0..<po.count { po[i] = f(pa[i], v) }
                } else if a.count == 1 {
                    let v = pa[0]
                    for i in 0..<po.count { po[i] = f(v, pb[i]) }
                } else {
                    let sa = broadcastStrides(a.shape, to: outShape), sb = broadcastStrides(b.shape, to: outShape)
                    forEachBroadcast(outShape, sa, sb) { o, ia, ib in po[o] = f(pa[ia], pb[ib]) }
                }
            }
        }
    }
    return (outShape, out)
}

// MARK: - Arithmetic

extension Tensor {
    /// Element-wise sum, broadcasting as PyTorch does; the gradient is summed back over broadcast axes.
    public static func + (a: Tensor, b: Tensor) throws -> Tensor {
        let (shape, out) = try broadcastBinary("add", a, b, +)
        return result(shape: shape, data: out, inputs: [a, b]) { g in
            [
                a.requiresGrad ? reduceGradient(g, from: shape, to: a.shape) : nil,
                b.requiresGrad ? reduceGradient(g, from: shape, to: b.shape) : nil,
            ]
        }
    }

    /// Element-wise difference, broadcasting.
    public static func - (a: Tensor, b: Tensor) throws -> Tensor {
        let (shape, out) = try broadcastBinary("sub", a, b, -)
        return result(shape: shape, data: out, inputs: [a, b]) { g in
            [
                a.requiresGrad ? reduceGradient(g, from: shape, to: a.shape) : nil,
                b.requiresGrad ? reduceGradient(g.map { -$0 }, from: shape, to: b.shape) : nil,
            ]
        }
    }

    /// Element-wise product, broadcasting.
    public static func * (a: Tensor, b: Tensor) throws -> Tensor {
        let (shape, out) = try broadcastBinary("mul", a, b, *)
        return result(shape: shape, data: out, inputs: [a, b]) { g in
            var ga: [Float]? = nil, gb: [Float]? = nil
            if a.requiresGrad {
                let (_, prod) = try broadcastBinary("mul", Tensor(shape: shape, data: g), b, *)
                ga = reduceGradient(prod, from: shape, to: a.shape)
            }
            if b.requiresGrad {
                let (_, prod) = try broadcastBinary("mul", Tensor(shape: shape, data: g), a, *)
                gb = reduceGradient(prod, from: shape, to: b.shape)
            }
            return [ga, gb]
        }
    }

    /// Element-wise quotient, broadcasting.
    public static func / (a: Tensor, b: Tensor) throws -> Tensor {
        let (shape, out) = try broadcastBinary("div", a, b, /)
        return result(shape: shape, data: out, inputs: [a, b]) { g in
            var ga: [Float]? = nil, gb: [Float]? = nil
            let gt = Tensor(shape: shape, data: g)
            if a.requiresGrad {
                let (_, q) = try broadcastBinary("div", gt, b, /)
                ga = reduceGradient(q, from: shape, to: a.shape)
            }
            if b.requiresGrad {
                // d(a/b)/db = -a/b² = -out/b
                let (_, q) = try broadcastBinary("div", Tensor(shape: shape, data: out), b, /)
                var prod = q
                for i in 0..<prod.count { prod[i] = -prod[i] * g[i] }
                gb = reduceGradient(prod, from: shape, to: b.shape)
            }
            return [ga, gb]
        }
    }

    /// Negation.
    public static prefix func - (a: Tensor) -> Tensor { a * -1 }

    /// Adds a constant to every element.
    public static func + (a: Tensor, s: Float) -> Tensor {
        unary(a, { $0 + s }, { g, _, _ in g })
    }
    /// Adds a constant to every element.
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    /// Subtracts a constant from every element.
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    /// A constant minus every element.
    public static func - (s: Float, a: Tensor) -> Tensor { unary(a, { s - $0 }, { g, _, _ in -g }) }

    /// Multiplies every element by a constant.
    public static func * (a: Tensor, s: Float) -> Tensor {
        unary(a, { $0 * s }, { g, _, _ in g * s })
    }
    /// Multiplies every element by a constant.
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    /// Divides every element by a constant (as a product with its reciprocal).
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }

    /// Applies `f` to every element; `df(g, x, y)` gives the input gradient from the output
    /// gradient `g`, the input `x` and the output `y`.
    ///
    /// Always inlined, so each caller's `f` and `df` are inlined into its own loops instead of being
    /// called once per element.
    @inline(__always)
    static func unary(_ a: Tensor, _ f: (Float) -> Float, _ df: @escaping (Float, Float, Float) -> Float) -> Tensor {
        let x = a.data
        let y = makeArray(count: x.count) { py in
            x.withUnsafeBufferPointer { px in
                for i in 0..<px.count { py[i] = f(px[i]) }
            }
        }
        return result(shape: a.shape, data: y, inputs: [a]) { g in
            [
                makeArray(count: x.count) { pdx in
                    x.withUnsafeBufferPointer { px in
                        y.withUnsafeBufferPointer { py in
                            g.withUnsafeBufferPointer { pg in
                                for i in 0..<pdx.count { pdx[i] = df(pg[i], px[i], py[i]) }
                            }
                        }
                    }
                }
            ]
        }
    }
}

// MARK: - Element-wise functions

extension Tensor {
    /// e^x, element-wise.
    public func exp() -> Tensor { Tensor.unary(self, { Foundation.exp($0) }, { g, _, y in g * y }) }
    /// Natural logarithm, element-wise.
    public func log() -> Tensor { Tensor.unary(self, { Foundation.log($0) }, { g, x, _ in g / x }) }
    /// Square root, element-wise.
    public func sqrt() -> Tensor { Tensor.unary(self, { Foundation.sqrt($0) }, { g, _, y in g / (2 * y) }) }
    /// x², element-wise.
    public func square() -> Tensor { Tensor.unary(self, { $0 * $0 }, { g, x, _ in 2 * x * g }) }
    /// |x|, element-wise; the gradient at 0 is 0, as in PyTorch.
    public func abs() -> Tensor { Tensor.unary(self, { Swift.abs($0) }, { g, x, _ in x > 0 ? g : (x < 0 ? -g : 0) }) }
    /// Hyperbolic tangent, element-wise.
    public func tanh() -> Tensor { Tensor.unary(self, { Foundation.tanh($0) }, { g, _, y in g * (1 - y * y) }) }
    /// max(x, 0), element-wise; NaN stays NaN and the gradient at 0 is 0.
    public func relu() -> Tensor { Tensor.unary(self, { Swift.max($0, 0) }, { g, x, _ in x > 0 ? g : 0 }) }

    /// `self` raised to a constant power.
    public func pow(_ p: Float) -> Tensor {
        Tensor.unary(self, { Foundation.pow($0, p) }, { g, x, _ in g * p * Foundation.pow(x, p - 1) })
    }

    /// Logistic sigmoid 1/(1+e^-x), stable for large |x|.
    public func sigmoid() -> Tensor { Tensor.unary(self, stableSigmoid, { g, _, y in g * y * (1 - y) }) }

    /// log σ(x) = -softplus(-x), stable for large |x|.
    public func logSigmoid() -> Tensor {
        Tensor.unary(
            self, { x in Swift.min(x, 0) - Foundation.log1p(Foundation.exp(-Swift.abs(x))) },
            { g, x, _ in g * (1 - stableSigmoid(x)) })
    }

    /// Clamps into `[min, max]`; the gradient passes where the value was inside (PyTorch's rule:
    /// also at the bounds).
    public func clamp(min lo: Float? = nil, max hi: Float? = nil) -> Tensor {
        Tensor.unary(
            self,
            { x in
                var v = x
                if let lo, v < lo { v = lo }
                if let hi, v > hi { v = hi }
                return v
            },
            { g, x, _ in
                if let lo, x < lo { return 0 }
                if let hi, x > hi { return 0 }
                return g
            })
    }
}

@inline(__always) func stableSigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}

/// Element-wise maximum of two tensors (broadcast); NaN wins, and ties split the gradient in halves,
/// as PyTorch does.
public func maximum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try minMax("maximum", a, b, greater: true) }

/// Element-wise minimum of two tensors (broadcast); ties split the gradient, as PyTorch does.
public func minimum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try minMax("minimum", a, b, greater: false) }

private func minMax(_ op: String, _ a: Tensor, _ b: Tensor, greater: Bool) throws -> Tensor {
    let (shape, out) = try broadcastBinary(op, a, b) { x, y in
        if x.isNaN || y.isNaN { return .nan }
        return greater ? Swift.max(x, y) : Swift.min(x, y)
    }
    return Tensor.result(shape: shape, data: out, inputs: [a, b]) { g in
        let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
        var wa = [Float](repeating: 0, count: g.count), wb = wa
        let ad = a.data, bd = b.data
        // PyTorch: ties split the gradient; `a` gets it unless it lost, `b` unless it lost (a NaN
        // loses no comparison, so both sides get it).
        forEachBroadcast(shape, sa, sb) { o, ia, ib in
            let x = ad[ia], y = bd[ib]
            if x == y { wa[o] = g[o] / 2; wb[o] = g[o] / 2; return }
            wa[o] = (greater ? x < y : x > y) ? 0 : g[o]
            wb[o] = (greater ? x > y : x < y) ? 0 : g[o]
        }
        return [
            a.requiresGrad ? reduceGradient(wa, from: shape, to: a.shape) : nil,
            b.requiresGrad ? reduceGradient(wb, from: shape, to: b.shape) : nil,
        ]
    }
}

/// Picks `a` where `condition` is non-zero and `b` elsewhere (all three broadcast together).
public func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard let ab = broadcastShape(a.shape, b.shape), let shape = broadcastShape(condition.shape, ab) else {
        throw TensorError.shape(op: "where", message: "condition \(condition.shape), \(a.shape) and \(b.shape) do not broadcast")
    }
    let sc = broadcastStrides(condition.shape, to: shape)
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    let n = elementCount(shape)
    var mask = [Bool](repeating: false, count: n)
    let zero = [Int](repeating: 0, count: shape.count)
    let cd = condition.data
    forEachBroadcast(shape, sc, zero) { o, ic, _ in mask[o] = cd[ic] != 0 }
    var out = [Float](repeating: 0, count: n)
    let ad = a.data, bd = b.data
    forEachBroadcast(shape, sa, sb) { o, ia, ib in out[o] = mask[o] ? ad[ia] : bd[ib] }
    return Tensor.result(shape: shape, data: out, inputs: [a, b]) { g in
        var ga = g, gb = g
        for i in 0..<n { if mask[i] { gb[i] = 0 } else { ga[i] = 0 } }
        return [
            a.requiresGrad ? reduceGradient(ga, from: shape, to: a.shape) : nil,
            b.requiresGrad ? reduceGradient(gb, from: shape, to: b.shape) : nil,
        ]
    }
}
