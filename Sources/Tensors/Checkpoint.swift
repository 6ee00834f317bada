import Foundation

// Activation recompute (gradient checkpointing): a block's forward record is dropped as soon as
// its output is computed, only its input is kept, and its backward runs the block again with recording on and back-propagates
// through that copy. The recomputed forward is the same arithmetic on the same values, so the
// gradients are the same bits as without recompute; what is saved is every intermediate tensor
// of the block between the forward and the backward.

extension Tensor {
    /// Whether models should recompute their blocks in the backward (inside ``withBlockRecompute(_:_:)``).
    public static var recomputesBlocks: Bool { NoGradDepth.current.recompute > 0 }

    /// Runs `body` with ``recomputesBlocks`` set when `enabled` (per thread, like ``withNoGrad(_:)``).
    public static func withBlockRecompute<T>(_ enabled: Bool, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        NoGradDepth.current.recompute += 1
        defer { NoGradDepth.current.recompute -= 1 }
        return try body()
    }
}

/// `body(x)`, keeping only `x` for the backward: the forward's record is dropped at once, and the
/// backward runs `body` again on a copy of `x`, back-propagates through it (gradients of
/// `parameters` accumulate in their `.grad` as usual) and passes on the gradient of `x`.
///
/// `body` must compute the same values when it runs again (no fresh randomness: a caller whose
/// body draws random numbers restores the stream first). Without gradients, or when neither `x`
/// nor any of `parameters` needs one, it is `body(x)`.
///
/// - Parameters:
///   - x: The block's input.
///   - parameters: Every tensor inside `body` that needs a gradient (so the result is recorded
///     when only they do, e.g. LoRA adapters on a frozen model).
public func checkpoint(_ x: Tensor, parameters: [Tensor], _ body: @escaping (Tensor) throws -> Tensor) throws -> Tensor {
    guard Tensor.isGradEnabled, x.requiresGrad || parameters.contains(where: \.requiresGrad) else { return try body(x) }
    // Recorded as the backward will record it (some kernels take another path without recording),
    // and the record dropped when `y` goes: the same values as the recompute, bit for bit.
    let y = try body(x.detached())
    let shape = x.shape, values = x.data, inputNeedsGrad = x.requiresGrad
    return Tensor.result(shape: y.shape, data: y.data, inputs: [x] + parameters) { g in
        guard Tensor.isGradEnabled else {
            throw TensorError.backward("a recomputed block needs gradients recorded; do not call backward inside withNoGrad")
        }
        let input = Tensor(shape: shape, data: values, requiresGrad: inputNeedsGrad)
        let out = try body(input)
        try out.backward(g)
        let dx = inputNeedsGrad ? (input.grad?.data ?? [Float](repeating: 0, count: values.count)) : nil
        return [dx] + parameters.map { _ in nil }
    }
}
