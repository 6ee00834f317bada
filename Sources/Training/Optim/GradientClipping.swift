import Tensors

/// Scales the gradients of `params` so their joint L2 norm is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_` does, and returns the norm before clipping.
///
/// The norm is taken over every gradient together (the L2 norm of the per-tensor norms); each
/// gradient is multiplied by `min(1, maxNorm / (norm + 1e-6))`. A NaN or infinite norm makes the
/// gradients NaN, as in PyTorch (`error_if_nonfinite=False`), so a trainer can see it and skip the
/// step. Parameters without a gradient are left out.
@discardableResult
public func clipGradNorm(_ params: [Tensor], maxNorm: Float) -> Float {
    let grads = params.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    // Per-tensor norms, each summed element by element in order, tensors spread over the threads;
    // then the norm of those, in tensor order: the same bits on any thread count.
    var norms = [Float](repeating: 0, count: grads.count)
    norms.withUnsafeMutableBufferPointer { out in
        let out = out.baseAddress!
        Parallel.perform(grads.count) { i in
            var squares = 0.0
            grads[i].data.withUnsafeBufferPointer { p in for x in p { squares += Double(x) * Double(x) } }
            out[i] = Float(squares.squareRoot())
        }
    }
    var total = 0.0
    for norm in norms { total += Double(norm) * Double(norm) }
    let totalNorm = Float(total.squareRoot())
    let coefficient = maxNorm / (totalNorm + 1e-6)
    // clamp(max: 1) keeps NaN, as torch.clamp does.
    let clamped = coefficient.isNaN ? coefficient : Swift.min(coefficient, 1)
    if clamped != 1 {
        for g in grads {
            g.data.withUnsafeMutableBufferPointer { p in
                let count = p.count, p = p.baseAddress!
                Parallel.rows(count, minRows: 1 << 16) { range in for i in range { p[i] *= clamped } }
            }
        }
    }
    return totalNorm
}
