import Foundation

// Activation functions with their derivatives, element by element: GELU (tanh and erf forms),
// SiLU, and the fused SwiGLU gate silu(gate) * up.
// Shapes: any; outputs have the input's shape. The forwards save their inputs only; the backwards
// recompute tanh / erf / sigmoid, which is cheaper than keeping another tensor alive.

/// Which GELU formula to use, as `torch.nn.functional.gelu(approximate:)` names them.
public enum GELUApproximation: Sendable {
    /// `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`: GPT-2's `gelu_new`.
    case tanh
    /// The exact `0.5x(1 + erf(x/√2))`.
    case none
}

/// Gaussian error linear unit.
public func gelu(_ x: Tensor, approximate: GELUApproximation = .tanh) -> Tensor {
    let xData = x.data
    let y = elementwise(xData) { x, y, range in
        switch approximate {
        case .tanh: for i in range { y[i] = geluTanh(x[i]) }
        case .none: for i in range { y[i] = geluErf(x[i]) }
        }
    }
    return Tensor.result(shape: x.shape, data: y, inputs: [x]) { dy in
        [
            elementwise(xData, dy) { x, dy, dx, range in
                switch approximate {
                case .tanh: for i in range { dx[i] = dy[i] * geluTanhDerivative(x[i]) }
                case .none: for i in range { dx[i] = dy[i] * geluErfDerivative(x[i]) }
                }
            }
        ]
    }
}

/// Sigmoid linear unit `x · σ(x)` (also called swish).
public func silu(_ x: Tensor) -> Tensor {
    let xData = x.data
    let y = elementwise(xData) { x, y, range in
        forEachLanes(range) { i, n in
            let xv = load8(x, i, n)
            store8(xv / (1 + exp8(-xv)), y, i, n)
        }
    }
    return Tensor.result(shape: x.shape, data: y, inputs: [x]) { dy in
        [
            elementwise(xData, dy) { x, dy, dx, range in
                // d/dx x·σ(x) = σ(x)(1 + x(1 - σ(x)))
                forEachLanes(range) { i, n in
                    let xv = load8(x, i, n)
                    let s = 1 / (1 + exp8(-xv))
                    store8(load8(dy, i, n) * s * (1 + xv * (1 - s)), dx, i, n)
                }
            }
        ]
    }
}

/// The SwiGLU gate `silu(gate) * up` of Llama's MLP, fused: one pass forward, one backward.
///
/// `gate` and `up` must have the same shape.
public func swiglu(gate: Tensor, up: Tensor) throws -> Tensor {
    guard gate.shape == up.shape else {
        throw TensorError.shape(op: "swiglu", message: "gate \(gate.shape) and up \(up.shape) must have the same shape")
    }
    let gData = gate.data, uData = up.data
    let y = elementwise(gData, uData) { g, u, y, range in
        forEachLanes(range) { i, n in
            let gv = load8(g, i, n)
            store8(gv / (1 + exp8(-gv)) * load8(u, i, n), y, i, n)
        }
    }
    return Tensor.result(shape: gate.shape, data: y, inputs: [gate, up]) { dy in
        var dGate: [Float]? = nil, dUp: [Float]? = nil
        if gate.requiresGrad {
            // d/dgate = dy · up · σ(g)(1 + g(1 - σ(g)))
            dGate = elementwise(gData, uData, dy) { g, u, dy, dg, range in
                forEachLanes(range) { i, n in
                    let gv = load8(g, i, n)
                    let s = 1 / (1 + exp8(-gv))
                    store8(load8(dy, i, n) * load8(u, i, n) * s * (1 + gv * (1 - s)), dg, i, n)
                }
            }
        }
        if up.requiresGrad {
            // d/dup = dy · silu(g)
            dUp = elementwise(gData, dy) { g, dy, du, range in
                forEachLanes(range) { i, n in
                    let gv = load8(g, i, n)
                    store8(load8(dy, i, n) * (gv / (1 + exp8(-gv))), du, i, n)
                }
            }
        }
        return [dGate, dUp]
    }
}

// MARK: - Formulas (as PyTorch's CPU kernels write them)

private let geluBeta: Float = Float(2.0.squareRoot() * (2 / Double.pi.squareRoot()) * 0.5)  // √(2/π)
private let geluKappa: Float = 0.044715

@inline(__always) private func geluTanh(_ x: Float) -> Float {
    0.5 * x * (1 + tanh(geluBeta * (x + geluKappa * (x * x * x))))
}

@inline(__always) private func geluTanhDerivative(_ x: Float) -> Float {
    let xSquared = x * x
    let t = tanh(geluBeta * (x + geluKappa * xSquared * x))
    let left = 0.5 * x, right = 1 + t
    // d/dx [0.5x] · right + 0.5x · d/dx[tanh(inner)]
    return 0.5 * right + left * (1 - t * t) * geluBeta * (1 + 3 * geluKappa * xSquared)
}

@inline(__always) private func geluErf(_ x: Float) -> Float {
    0.5 * x * (1 + erf(x * Float(0.5.squareRoot())))
}

@inline(__always) private func geluErfDerivative(_ x: Float) -> Float {
    let cdf = 0.5 * (1 + erf(x * Float(0.5.squareRoot())))
    let pdf = exp(-0.5 * x * x) * Float(1 / (2 * Double.pi).squareRoot())
    return cdf + x * pdf
}

// MARK: - Element-wise loops over raw buffers, split into fixed chunks

/// Activations cost an exp, tanh or erf per element: 2048 of them are worth a thread, so a
/// decoding step's SwiGLU (batch × intermediate size) runs on two.
private let elementsPerChunk = 2048

/// y[i] = f(a[i]) over `range` chunks in parallel.
@inline(__always)
func elementwise(
    _ a: [Float],
    _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void
) -> [Float] {
    guard !a.isEmpty else { return [] }
    return makeArray(count: a.count) { py in
        a.withUnsafeBufferPointer { pa in
            let pa = pa.baseAddress!, py = py.baseAddress!
            Parallel.rows(a.count, minRows: elementsPerChunk) { body(pa, py, $0) }
        }
    }
}

/// y[i] = f(a[i], b[i]) over chunks in parallel.
@inline(__always)
func elementwise(
    _ a: [Float], _ b: [Float],
    _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void
) -> [Float] {
    guard !a.isEmpty else { return [] }
    return makeArray(count: a.count) { py in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let pa = pa.baseAddress!, pb = pb.baseAddress!, py = py.baseAddress!
                Parallel.rows(a.count, minRows: elementsPerChunk) { body(pa, pb, py, $0) }
            }
        }
    }
}

/// y[i] = f(a[i], b[i], c[i]) over chunks in parallel.
@inline(__always)
func elementwise(
    _ a: [Float], _ b: [Float], _ c: [Float],
    _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void
) -> [Float] {
    guard !a.isEmpty else { return [] }
    return makeArray(count: a.count) { py in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeBufferPointer { pc in
                    let pa = pa.baseAddress!, pb = pb.baseAddress!, pc = pc.baseAddress!, py = py.baseAddress!
                    Parallel.rows(a.count, minRows: elementsPerChunk) { body(pa, pb, pc, py, $0) }
                }
            }
        }
    }
}
