import CKernels
import Foundation
import Tensors

/// AdamW with decoupled weight decay, step for step the same as `torch.optim.AdamW`
/// (single-tensor implementation, no AMSGrad).
///
/// Per parameter with a gradient, at its step t:
/// ```
/// p  *= 1 - lr·wd
/// m   = lerp(m, g, 1 - β1)                    m + (1-β1)(g - m)
/// v   = v·β2 + (1 - β2)·g²
/// p  += (-lr / (1 - β1^t))·m / (√v / √(1 - β2^t) + eps)
/// ```
/// Scalars are formed in Double as Python does, the multiply-adds are fused where PyTorch's CPU
/// kernels fuse them (`lerp`, `addcmul`), and the Float hyperparameters are widened through
/// their shortest decimal form, so `0.999` here is the same number as `0.999` in Python.
/// Parameters without a gradient are skipped and their step does not advance, as in PyTorch.
///
/// ```swift
/// let optimizer = AdamW(parameters: model.parameters, learningRate: 3e-4, weightDecay: 0.1)
/// try loss.backward()
/// optimizer.step()
/// optimizer.zeroGrad()
/// ```
public final class AdamW {
    /// The tensors updated in place, in the order their state is kept.
    public let parameters: [Tensor]
    /// The learning rate of the next step (set it from a ``LearningRateSchedule`` before each step).
    public var learningRate: Float
    /// Decay rate of the first moment estimate.
    public let beta1: Float
    /// Decay rate of the second moment estimate.
    public let beta2: Float
    /// Added to the denominator for numerical stability.
    public let eps: Float
    /// The decay of each parameter: `weightDecay`, or 0 for those excluded at creation.
    public let weightDecays: [Float]
    /// Steps and moment estimates: everything a checkpoint needs to resume bit for bit.
    public var state: AdamWState

    /// - Parameters:
    ///   - parameters: the tensors to train.
    ///   - learningRate: the step size `lr`.
    ///   - betas: the decay rates of the first and second moment estimates.
    ///   - eps: added to the denominator.
    ///   - weightDecay: the decoupled decay coefficient (PyTorch's default is 0.01).
    ///   - excludeFromWeightDecay: parameters that get no decay (OpenRLHF exempts biases and norm
    ///     weights: `{ $0.name.map { $0.hasSuffix("bias") || $0.contains("norm") } ?? false }`).
    public init(
        parameters: [Tensor], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
        eps: Float = 1e-8, weightDecay: Float = 0.01, excludeFromWeightDecay: (Tensor) -> Bool = { _ in false }
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        (beta1, beta2) = betas
        self.eps = eps
        weightDecays = parameters.map { excludeFromWeightDecay($0) ? 0 : weightDecay }
        state = AdamWState(parameters: parameters.map { AdamWState.Moments(name: $0.name, count: $0.count) })
    }

    /// Updates every parameter that has a gradient, from its `.grad`.
    ///
    /// With `updatesIntoGradients`, each gradient buffer is overwritten with the parameter's change
    /// (new value − old value, in Float as a subtraction after the step would give): the statistics
    /// of a recorded step read it there instead of keeping a copy of every parameter.
    public func step(updatesIntoGradients: Bool = false) {
        let lr = widened(learningRate), beta1 = widened(self.beta1), beta2 = widened(self.beta2), eps = widened(self.eps)
        for (index, parameter) in parameters.enumerated() {
            guard let grad = parameter.grad else { continue }
            precondition(
                grad.count == parameter.count,
                "AdamW: gradient of \(parameter.name ?? "parameter \(index)") has \(grad.count) values for \(parameter.count)")
            var moments = state.parameters[index]
            state.parameters[index].expAvg = []  // keep one reference, so the update is in place
            state.parameters[index].expAvgSq = []
            if moments.expAvg.isEmpty {
                moments.expAvg = [Float](repeating: 0, count: parameter.count)
                moments.expAvgSq = [Float](repeating: 0, count: parameter.count)
            }
            moments.step += 1
            let t = Double(moments.step)
            let update = Update(
                decay: Float(1 - lr * widened(weightDecays[index])), lerpWeight: Float(1 - beta1), beta2: Float(beta2),
                oneMinusBeta2: Float(1 - beta2), stepSize: Float(-(lr / (1 - Foundation.pow(beta1, t)))),
                biasCorrection2Sqrt: Float((1 - Foundation.pow(beta2, t)).squareRoot()), eps: Float(eps))
            moments.expAvg.withUnsafeMutableBufferPointer { m in
                moments.expAvgSq.withUnsafeMutableBufferPointer { v in
                    parameter.data.withUnsafeMutableBufferPointer { p in
                        guard let p = p.baseAddress, let m = m.baseAddress, let v = v.baseAddress else { return }
                        if updatesIntoGradients {
                            grad.data.withUnsafeMutableBufferPointer { g in
                                update.apply(p: p, m: m, v: v, g: UnsafePointer(g.baseAddress!), updates: g.baseAddress!, count: g.count)
                            }
                        } else {
                            grad.data.withUnsafeBufferPointer { g in
                                update.apply(p: p, m: m, v: v, g: g.baseAddress!, updates: nil, count: g.count)
                            }
                        }
                    }
                }
            }
            state.parameters[index] = moments
        }
    }

    /// Replaces the state with one read from a checkpoint, after checking that it describes these
    /// parameters (same number, sizes and names).
    public func restore(_ saved: AdamWState) throws {
        guard saved.parameters.count == parameters.count else {
            throw AdamWState.Mismatch(
                message: "checkpoint holds state for \(saved.parameters.count) parameters, the optimizer has \(parameters.count)")
        }
        for (index, (moments, parameter)) in zip(saved.parameters, parameters).enumerated() {
            let label = parameter.name ?? "parameter \(index)"
            guard moments.count == parameter.count, moments.name == parameter.name else {
                throw AdamWState.Mismatch(
                    message:
                        "state \(index) is for \(moments.name ?? "an unnamed parameter") with \(moments.count) values, the optimizer has \(label) with \(parameter.count)"
                )
            }
            guard
                moments.expAvg.isEmpty
                    ? moments.expAvgSq.isEmpty : moments.expAvg.count == parameter.count && moments.expAvgSq.count == parameter.count
            else {
                throw AdamWState.Mismatch(
                    message: "moments of \(label) have \(moments.expAvg.count) and \(moments.expAvgSq.count) values, expected \(parameter.count)")
            }
        }
        state = saved
    }

    /// Clears the gradient of every parameter.
    public func zeroGrad() {
        for p in parameters { p.zeroGrad() }
    }
}

/// The optimizer state of ``AdamW``, one entry per parameter in order; `Codable` for checkpoints.
public struct AdamWState: Codable, Equatable, Sendable {
    /// One parameter's step count and moment estimates (empty until its first step).
    public struct Moments: Codable, Equatable, Sendable {
        /// The parameter's name when it had one, to check a checkpoint against the model.
        public var name: String?
        /// Number of values of the parameter.
        public var count: Int
        /// Steps taken with a gradient.
        public var step: Int = 0
        /// First moment `m` (PyTorch's `exp_avg`).
        public var expAvg: [Float] = []
        /// Second moment `v` (PyTorch's `exp_avg_sq`).
        public var expAvgSq: [Float] = []

        /// Empty moments for a parameter of `count` values.
        public init(name: String?, count: Int) {
            self.name = name
            self.count = count
        }
    }

    /// One entry per optimizer parameter, in the optimizer's order.
    public var parameters: [Moments]

    /// A saved state that does not fit the optimizer's parameters.
    public struct Mismatch: Error, CustomStringConvertible {
        /// What differs.
        public let message: String
        public var description: String { "AdamW.restore: \(message)" }
    }
}

/// One parameter's AdamW update with its step's scalars.
private struct Update {
    let decay: Float, lerpWeight: Float, beta2: Float, oneMinusBeta2: Float, stepSize: Float
    let biasCorrection2Sqrt: Float, eps: Float

    /// Updates `count` elements of p, m and v from g; with `updates`, writes each element's change
    /// there (it may be g itself: each element is read before it is written).
    func apply(
        p: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
        g: UnsafePointer<Float>, updates: UnsafeMutablePointer<Float>?, count: Int
    ) {
        var scalars = rlhf_adamw_scalars(
            decay: decay, lerp_weight: lerpWeight, beta2: beta2, one_minus_beta2: oneMinusBeta2, step_size: stepSize,
            bias_correction2_sqrt: biasCorrection2Sqrt, eps: eps)
        // Element by element (the C kernel: eight lanes with fused multiply-adds where PyTorch fuses
        // them), so chunks in parallel give the same bits.
        withUnsafePointer(to: &scalars) { s in
            Parallel.rows(count, minRows: 1 << 16) { range in
                rlhf_adamw(
                    p + range.lowerBound, m + range.lowerBound, v + range.lowerBound, g + range.lowerBound,
                    updates.map { $0 + range.lowerBound }, range.count, s)
            }
        }
    }
}

/// A Float hyperparameter as the Double its shortest decimal form names (`0.9` → 0.9, not 0.899999976).
@inline(__always) func widened(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }
