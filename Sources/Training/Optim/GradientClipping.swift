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
    // Per-tensor norms, then the norm of those, each in a fixed order.
    var total = 0.0
    for g in grads {
        var squares = 0.0
        g.data.withUnsafeBufferPointer { p in for x in p { squares += Double(x) * Double(x) } }
        let norm = Float(squares.squareRoot())
        total += Double(norm) * Double(norm)
    }
    let totalNorm = Float(total.squareRoot())
    let coefficient = maxNorm / (totalNorm + 1e-6)
    // clamp(max: 1) keeps NaN, as torch.clamp does.
    let clamped = coefficient.isNaN ? coefficient : Swift.min(coefficient, 1)
    if clamped != 1 {
        for g in grads {
            g.data.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= clamped } }
        }
    }
    return totalNorm
}
