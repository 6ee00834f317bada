import Foundation
import Tensors

/// A linear layer, `y = x · Wᵀ + b`, with its HuggingFace name, an optional LoRA adapter and
/// optional packed weights for decoding.
///
/// `weight` keeps the layout of the checkpoint so files round-trip: `[out, in]` for `nn.Linear`,
/// `[in, out]` for GPT-2's `Conv1D` (``Layout/inputMajor``).
///
/// Under `Tensor.withNoGrad`, an input of one token per row (`x` is `[B, 1, in]`) goes through
/// ``PackedMatrix`` kernels whose rows do not depend on each other (see `PackedMatrix.swift`);
/// everything else goes through `sgemm`.
public final class Linear {
    /// How `weight` is laid out.
    public enum Layout: Sendable {
        /// `[out, in]`, as `torch.nn.Linear`.
        case outputMajor
        /// `[in, out]`, as GPT-2's `Conv1D`.
        case inputMajor
    }

    /// The module path, e.g. `model.layers.0.self_attn.q_proj`; parameters are `<name>.weight`, `<name>.bias`.
    public let name: String
    /// Input features (the last axis of `x`).
    public let inFeatures: Int
    /// Output features.
    public let outFeatures: Int
    /// How `weight` is stored.
    public let layout: Layout
    /// The weight, named `<name>.weight`.
    public let weight: Tensor
    /// The bias `[out]`, named `<name>.bias`, if the layer has one.
    public let bias: Tensor?
    /// The LoRA adapter on this layer, if any (see ``CausalLM/enableLoRA(_:rng:)``).
    public internal(set) var lora: LoRAAdapter?
    /// Weights kept for decoding (GGUF blocks, or a Float32 copy in `[out, in]` order).
    public internal(set) var packed: PackedMatrix?
    /// A sample of `weight` when `packed` was made: if training changed the weight, `packed` is stale.
    var packedFingerprint: [Float] = []
    /// The format a stale `packed` is made again in from `weight` (`.bf16` or `.q8_0`); nil: none.
    var repackFormat: PackedFormat?

    /// A layer with weights drawn from `N(0, std²)` and zero bias (HF's `_init_weights`).
    init(
        name: String, inFeatures: Int, outFeatures: Int, bias: Bool, layout: Layout = .outputMajor,
        std: Float, rng: RNG?
    ) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.layout = layout
        let shape = layout == .outputMajor ? [outFeatures, inFeatures] : [inFeatures, outFeatures]
        if var stream = rng?.fork(name + ".weight") {
            weight = Tensor.randn(shape, std: std, rng: &stream, requiresGrad: true)
        } else {
            weight = Tensor.zeros(shape, requiresGrad: true)
        }
        weight.name = name + ".weight"
        if bias {
            let b = Tensor.zeros([outFeatures], requiresGrad: true)
            b.name = name + ".bias"
            self.bias = b
        } else {
            self.bias = nil
        }
    }

    /// A layer over an existing weight tensor (a tied LM head shares the embedding).
    init(name: String, sharing weight: Tensor) {
        self.name = name
        self.weight = weight
        self.layout = .outputMajor
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        bias = nil
    }

    /// The parameters of this layer, HF-named, base weights first, then LoRA's.
    public func parameters() -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = [(name + ".weight", weight)]
        if let bias { result.append((name + ".bias", bias)) }
        if let lora { result += lora.parameters() }
        return result
    }

    /// `x [..., in] → [..., out]`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 1, x.shape[x.rank - 1] == inFeatures else {
            throw TensorError.shape(op: name, message: "input \(x.shape) does not end in \(inFeatures) features")
        }
        var y: Tensor
        if !Tensor.isGradEnabled, x.rank >= 2, x.shape[x.rank - 2] == 1 {
            return try decodeProduct(x)
        } else if layout == .outputMajor {
            y = try linear(x, weight, bias: bias)
        } else {
            y = try matmul(x, weight)
            if let bias { y = try y + bias }
        }
        if let lora { y = try y + lora(x) }
        return y
    }

    /// One token per row: the row-independent packed kernels, for the base weight and the adapter.
    private func decodeProduct(_ x: Tensor) throws -> Tensor {
        let matrix = packedWeights()
        let rows = x.count / inFeatures
        var out = [Float](repeating: 0, count: rows * outFeatures)
        x.data.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in
                if let matrix {
                    matrix.multiply(px.baseAddress!, rows: rows, into: po.baseAddress!)
                } else {
                    weight.data.withUnsafeBufferPointer { pw in
                        PackedKernels.f32(pw.baseAddress!, x: px.baseAddress!, rows: rows, out: outFeatures, in: inFeatures, y: po.baseAddress!)
                    }
                }
            }
        }
        if let bias {
            for r in 0..<rows { for o in 0..<outFeatures { out[r * outFeatures + o] += bias.data[o] } }
        }
        if let lora {
            // (alpha/r) · B (A x), row by row like the base product (no dropout without gradients).
            let rank = lora.a.shape[0]
            var hidden = [Float](repeating: 0, count: rows * rank)
            var update = [Float](repeating: 0, count: rows * outFeatures)
            x.data.withUnsafeBufferPointer { px in
                lora.a.data.withUnsafeBufferPointer { pa in
                    hidden.withUnsafeMutableBufferPointer { ph in
                        PackedKernels.f32(pa.baseAddress!, x: px.baseAddress!, rows: rows, out: rank, in: inFeatures, y: ph.baseAddress!)
                    }
                }
            }
            hidden.withUnsafeBufferPointer { ph in
                lora.b.data.withUnsafeBufferPointer { pb in
                    update.withUnsafeMutableBufferPointer { pu in
                        PackedKernels.f32(pb.baseAddress!, x: ph.baseAddress!, rows: rows, out: outFeatures, in: rank, y: pu.baseAddress!)
                    }
                }
            }
            for i in 0..<out.count { out[i] += update[i] * lora.scaling }
        }
        return Tensor(shape: Array(x.shape.dropLast()) + [outFeatures], data: out)
    }

    /// The packed weights if they still match `weight`, else made again in `repackFormat`; an
    /// `[out, in]` copy for `Conv1D` layouts.
    private func packedWeights() -> PackedMatrix? {
        if let packed {
            if Linear.matches(packedFingerprint, weight.data) { return packed }
            self.packed = nil
        }
        switch repackFormat {
        case .bf16:
            setPacked(PackedMatrix(bfloat16: outputMajorValues(), outFeatures: outFeatures, inFeatures: inFeatures))
        case .q8_0:
            setPacked(try? PackedMatrix.quantizeQ8_0(outputMajorValues(), outFeatures: outFeatures, inFeatures: inFeatures))
        default:
            guard layout == .inputMajor else { return nil }
            setPacked(PackedMatrix(floats: outputMajorValues(), outFeatures: outFeatures, inFeatures: inFeatures))
        }
        return packed
    }

    /// Uses `matrix` for decoding while `weight` keeps its current values.
    func setPacked(_ matrix: PackedMatrix?) {
        packed = matrix
        packedFingerprint = matrix == nil ? [] : Linear.fingerprint(weight.data)
    }

    /// The first and last 16 values of the weight: an optimizer step changes them all, and
    /// reading two cache lines costs nothing per call. (An edit of single elements elsewhere goes
    /// unseen: call `setPacked(nil)` after one.)
    static func fingerprint(_ values: [Float]) -> [Float] {
        Array(values.prefix(16)) + Array(values.suffix(16))
    }

    /// Whether `values` still starts and ends as `fingerprint` (bit for bit), without allocating.
    static func matches(_ fingerprint: [Float], _ values: [Float]) -> Bool {
        let head = min(16, values.count), tail = min(16, values.count)
        guard fingerprint.count == head + tail else { return false }
        for i in 0..<head where fingerprint[i].bitPattern != values[i].bitPattern { return false }
        for i in 0..<tail where fingerprint[head + i].bitPattern != values[values.count - tail + i].bitPattern { return false }
        return true
    }

    /// The weight as `[out, in]` values, whatever the layout.
    func outputMajorValues() -> [Float] {
        guard layout == .inputMajor else { return weight.data }
        var result = [Float](repeating: 0, count: weight.count)
        for i in 0..<inFeatures { for o in 0..<outFeatures { result[o * inFeatures + i] = weight.data[i * outFeatures + o] } }
        return result
    }
}
