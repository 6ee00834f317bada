import Foundation
import Tensors

// The decoder stack both families share: token (and, for GPT-2, position) embeddings, the blocks,
// the final norm. HuggingFace calls it `LlamaModel` (prefix `model.`) and `GPT2Model` (prefix
// `transformer.`). Shapes: B = batch, T = tokens per row, D = hidden size, H = attention heads,
// Hkv = key/value heads, Dh = head size, V = vocabulary.

/// What every block needs besides its input: where each token sits, what it may attend to.
struct ForwardContext {
    let batch: Int
    let length: Int
    /// B·T position ids (RoPE angle or GPT-2 position row).
    let positions: [Int]
    /// B·T packed-sample ids: attention never crosses a segment boundary.
    let segments: [Int]?
    /// B·T flags, false for padding keys.
    let keyMask: [Bool]?
    /// Keys and values of earlier tokens; the new ones are appended.
    let cache: KVCache?
}

/// One decoder block of a family.
protocol DecoderLayer: AnyObject {
    /// `model.layers.3`, `transformer.h.3`.
    var name: String { get }
    func callAsFunction(_ x: Tensor, layer: Int, context: ForwardContext) throws -> Tensor
    /// In HuggingFace `named_parameters()` order.
    func parameters() -> [(name: String, tensor: Tensor)]
    /// Every linear layer, for LoRA and packed weights.
    var linears: [Linear] { get }
}

/// A normalisation layer: RMSNorm (Llama) or LayerNorm (GPT-2), named `<name>.weight` / `<name>.bias`.
final class Norm {
    enum Kind { case rms, layer }
    let name: String
    let kind: Kind
    let weight: Tensor
    let bias: Tensor?
    let eps: Float

    init(name: String, kind: Kind, size: Int, eps: Float) {
        self.name = name
        self.kind = kind
        self.eps = eps
        weight = Tensor.ones([size], requiresGrad: true)
        weight.name = name + ".weight"
        if kind == .layer {
            let b = Tensor.zeros([size], requiresGrad: true)
            b.name = name + ".bias"
            bias = b
        } else {
            bias = nil
        }
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        switch kind {
        case .rms: return try rmsNorm(x, weight: weight, eps: eps)
        case .layer: return try layerNorm(x, weight: weight, bias: bias, eps: eps)
        }
    }

    func parameters() -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = [(name + ".weight", weight)]
        if let bias { result.append((name + ".bias", bias)) }
        return result
    }
}

/// Splits `[B, T, H·Dh]` into heads `[B, H, T, Dh]` (a reshape when T = 1: same memory order).
func splitHeads(_ x: Tensor, batch: Int, length: Int, heads: Int, headDim: Int) throws -> Tensor {
    if length == 1 { return try x.reshaped([batch, heads, 1, headDim]) }
    return try x.reshaped([batch, length, heads, headDim]).permuted([0, 2, 1, 3])
}

/// Joins heads `[B, H, T, Dh]` back into `[B, T, H·Dh]`.
func mergeHeads(_ x: Tensor, batch: Int, length: Int, heads: Int, headDim: Int) throws -> Tensor {
    if length == 1 { return try x.reshaped([batch, 1, heads * headDim]) }
    return try x.permuted([0, 2, 1, 3]).reshaped([batch, length, heads * headDim])
}

/// Attention over `q [B, H, T, Dh]`, `k`, `v [B, Hkv, T, Dh]`: through the cache when there is
/// one (prefill and decode alike), else the fused causal kernel. Returns `[B, T, H·Dh]`.
func attention(q: Tensor, k: Tensor, v: Tensor, layer: Int, context: ForwardContext, heads: Int, headDim: Int) throws -> Tensor {
    if let cache = context.cache {
        return try cache.attend(layer: layer, q: q, k: k, v: v)
    }
    let out = try causalAttention(q: q, k: k, v: v, segments: context.segments, keyMask: context.keyMask)
    return try mergeHeads(out, batch: context.batch, length: context.length, heads: heads, headDim: headDim)
}

/// The decoder stack: embeddings, blocks, final norm (HF `LlamaModel` / `GPT2Model`).
public final class Transformer {
    /// The shape of the stack.
    public let config: ModelConfig
    /// `model` (Llama) or `transformer` (GPT-2): the prefix of every parameter name.
    public let prefix: String
    /// `model.embed_tokens.weight` / `transformer.wte.weight`, `[V, D]`.
    public let tokenEmbedding: Tensor
    /// `transformer.wpe.weight`, `[maxPositions, D]` (GPT-2 only).
    public let positionEmbedding: Tensor?
    let layers: [DecoderLayer]
    /// `model.norm` / `transformer.ln_f`.
    let norm: Norm
    /// Called with `(name, output)` for the embeddings, each block and the final norm, e.g.
    /// `("model.layers.3", x)`: for activation statistics. Outputs are on the tape; do not keep them.
    public var activationHook: ((String, Tensor) -> Void)?

    /// A stack with HF's initialisation drawn from `rng` (one fork per parameter name), or zeros
    /// when `rng` is nil (for copies and loading).
    init(config: ModelConfig, rng: RNG?) {
        self.config = config
        let std = config.initializerRange
        func normal(_ name: String, _ shape: [Int]) -> Tensor {
            let t: Tensor
            if var stream = rng?.fork(name) {
                t = Tensor.randn(shape, std: std, rng: &stream, requiresGrad: true)
            } else {
                t = Tensor.zeros(shape, requiresGrad: true)
            }
            t.name = name
            return t
        }
        switch config.family {
        case .llama:
            prefix = "model"
            tokenEmbedding = normal("model.embed_tokens.weight", [config.vocabSize, config.hiddenSize])
            positionEmbedding = nil
            layers = (0..<config.layers).map { LlamaLayer(config: config, index: $0, rng: rng) }
            norm = Norm(name: "model.norm", kind: .rms, size: config.hiddenSize, eps: config.normEps)
        case .gpt2:
            prefix = "transformer"
            tokenEmbedding = normal("transformer.wte.weight", [config.vocabSize, config.hiddenSize])
            positionEmbedding = normal("transformer.wpe.weight", [config.maxPositions, config.hiddenSize])
            layers = (0..<config.layers).map { GPT2Layer(config: config, index: $0, rng: rng) }
            norm = Norm(name: "transformer.ln_f", kind: .layer, size: config.hiddenSize, eps: config.normEps)
        }
    }

    /// Parameters in HuggingFace `named_parameters()` order.
    public func parameters() -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = [(tokenEmbedding.name!, tokenEmbedding)]
        if let positionEmbedding { result.append((positionEmbedding.name!, positionEmbedding)) }
        for layer in layers { result += layer.parameters() }
        return result + norm.parameters()
    }

    /// Every linear layer of the blocks, in order.
    var linears: [Linear] { layers.flatMap(\.linears) }

    /// Hidden states after the final norm, `[B, T, D]`.
    ///
    /// - Parameters:
    ///   - ids: B·T token ids, row-major.
    ///   - positions: B·T position ids; default: each token's count of real tokens before it in its
    ///     row (0…T−1 without a mask; left padding shifts them, as HF's `cumsum(mask) − 1`), or,
    ///     with a cache, each row's next positions. Packed rows pass positions that restart at
    ///     every sample.
    ///   - segments: B·T sample ids for packed rows: no attention across samples.
    ///   - keyMask: B·T flags, false for padding tokens (never attended to).
    ///   - cache: Keys and values of the tokens before these; they are appended (needs `withNoGrad`).
    public func forward(
        ids: [Int], batch: Int, length: Int, positions: [Int]? = nil, segments: [Int]? = nil,
        keyMask: [Bool]? = nil, cache: KVCache? = nil
    ) throws -> Tensor {
        let n = batch * length
        guard batch > 0, length > 0, ids.count == n else {
            throw ModelError.invalidInput("forward: \(ids.count) ids for batch \(batch) × length \(length)")
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.invalidInput("forward: token id \(bad) is outside the vocabulary (0..<\(config.vocabSize))")
        }
        for (label, count) in [("positions", positions?.count), ("segments", segments?.count), ("keyMask", keyMask?.count)] {
            if let count, count != n {
                throw ModelError.invalidInput("forward: \(label) has \(count) entries, expected batch × length = \(n)")
            }
        }
        var positions = positions
        if let cache {
            guard !Tensor.isGradEnabled else {
                throw ModelError.invalidInput("forward: a KV cache is for inference; run it inside Tensor.withNoGrad")
            }
            guard segments == nil else {
                throw ModelError.invalidInput("forward: packed segments cannot be combined with a KV cache")
            }
            let defaults = try cache.beginStep(length: length, keyMask: keyMask)
            if positions == nil { positions = defaults }
        }
        let resolved = positions ?? Transformer.defaultPositions(batch: batch, length: length, keyMask: keyMask)
        let context = ForwardContext(
            batch: batch, length: length, positions: resolved, segments: segments,
            keyMask: keyMask, cache: cache)
        do {
            if let table = positionEmbedding, let bad = resolved.first(where: { $0 < 0 || $0 >= table.shape[0] }) {
                throw ModelError.invalidInput("forward: position \(bad) is outside GPT-2's \(table.shape[0]) learned positions (n_positions)")
            }
            let out = try run(ids: ids, context: context)
            cache?.commitStep()
            return out
        } catch {
            cache?.abortStep()
            throw error
        }
    }

    /// Each token's number of real tokens before it in its row (padding counts none).
    static func defaultPositions(batch: Int, length: Int, keyMask: [Bool]?) -> [Int] {
        guard let keyMask else { return (0..<(batch * length)).map { $0 % length } }
        var positions = [Int](repeating: 0, count: batch * length)
        for row in 0..<batch {
            var next = 0
            for t in 0..<length {
                positions[row * length + t] = next
                if keyMask[row * length + t] { next += 1 }
            }
        }
        return positions
    }

    private func run(ids: [Int], context: ForwardContext) throws -> Tensor {
        let batch = context.batch, length = context.length, resolved = context.positions
        var x = try embedding(tokenEmbedding, ids: ids, shape: [batch, length])
        if let table = positionEmbedding {
            x = try x + embedding(table, ids: resolved, shape: [batch, length])
        }
        activationHook?(config.family == .llama ? "model.embed_tokens" : "transformer.wte", x)
        for (i, layer) in layers.enumerated() {
            if Tensor.recomputesBlocks && context.cache == nil {
                x = try recomputed(layer, index: i, x, context: context)
            } else {
                x = try layer(x, layer: i, context: context)
            }
            activationHook?(layer.name, x)
        }
        let out = try norm(x)
        activationHook?(norm.name, out)
        return out
    }

    /// One block under activation recompute (`gradientCheckpointing`): only its input is kept, and
    /// the backward runs it again. LoRA dropout streams are put back to where the forward found
    /// them before the block runs again, so it draws the same masks.
    private func recomputed(_ layer: DecoderLayer, index: Int, _ x: Tensor, context: ForwardContext) throws -> Tensor {
        let adapters = layer.linears.compactMap(\.lora).filter { $0.dropout > 0 }
        let streams = adapters.map(\.rng)
        var ranOnce = false
        return try checkpoint(x, parameters: layer.parameters().map(\.tensor).filter(\.requiresGrad)) { input in
            guard ranOnce else {
                ranOnce = true
                return try layer(input, layer: index, context: context)
            }
            let current = adapters.map(\.rng)
            for (adapter, stream) in zip(adapters, streams) { adapter.rng = stream }
            defer { for (adapter, stream) in zip(adapters, current) { adapter.rng = stream } }
            return try layer(input, layer: index, context: context)
        }
    }
}
