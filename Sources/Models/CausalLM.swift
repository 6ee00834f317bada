import Foundation
import Tensors

/// A decoder-only language model: ``Transformer`` plus the LM head (HF `LlamaForCausalLM`,
/// `GPT2LMHeadModel`).
///
/// Parameters carry HuggingFace's names (`model.layers.0.self_attn.q_proj.weight`,
/// `transformer.h.0.attn.c_attn.weight`), so weight files map one to one.
///
/// ```swift
/// let model = CausalLM(config: .llama(vocabSize: 512, hiddenSize: 64, intermediateSize: 172,
///                                     layers: 2, heads: 4, kvHeads: 2), rng: RNG(seed: 0))
/// let hidden = try model.forward(ids: ids, batch: 2, length: 16)
/// let logits = try model.logits(hidden)                    // [2, 16, 512]
/// ```
public final class CausalLM {
    /// The shape of the model (`config.json`).
    public let config: ModelConfig
    /// The decoder stack.
    public let transformer: Transformer
    /// `lm_head`, `[V, D]`; shares `transformer.tokenEmbedding` when the config ties them.
    public let lmHead: Linear

    /// A model with HuggingFace's random initialisation, drawn from `rng` (one fork per parameter).
    public convenience init(config: ModelConfig, rng: RNG) {
        self.init(config: config, initializer: rng)
    }

    /// `initializer` nil: every parameter zero (for loading and copies).
    init(config: ModelConfig, initializer rng: RNG?) {
        self.config = config
        transformer = Transformer(config: config, rng: rng)
        if config.tieWordEmbeddings {
            lmHead = Linear(name: "lm_head", sharing: transformer.tokenEmbedding)
        } else {
            lmHead = Linear(
                name: "lm_head", inFeatures: config.hiddenSize, outFeatures: config.vocabSize, bias: false,
                std: config.initializerRange, rng: rng)
        }
    }

    /// Called with `(name, output)` for the embeddings, each block and the final norm.
    public var activationHook: ((String, Tensor) -> Void)? {
        get { transformer.activationHook }
        set { transformer.activationHook = newValue }
    }

    // MARK: Parameters

    /// Every parameter, in HuggingFace `named_parameters()` order (a tied head is listed once, as
    /// the embedding), then LoRA parameters within their layers.
    public func parameters() -> [(name: String, tensor: Tensor)] {
        var result = transformer.parameters()
        if !config.tieWordEmbeddings { result += lmHead.parameters() }
        return result
    }

    /// The parameters an optimizer should update (those that require gradients).
    public func trainableParameters() -> [(name: String, tensor: Tensor)] {
        parameters().filter { $0.tensor.requiresGrad }
    }

    /// The parameter called `name`, if any.
    public func parameter(_ name: String) -> Tensor? {
        parameters().first { $0.name == name }?.tensor
    }

    /// Number of parameters (LoRA included).
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.tensor.count } }

    /// Every linear layer: the blocks' projections, then `lm_head`.
    public var linearLayers: [Linear] { transformer.linears + [lmHead] }

    /// Clears every gradient.
    public func zeroGrad() {
        for (_, t) in parameters() { t.zeroGrad() }
    }

    /// Sets `requiresGrad` on every parameter (false: frozen).
    public func setRequiresGrad(_ value: Bool) {
        for (_, t) in parameters() { t.requiresGrad = value }
    }

    // MARK: Forward

    /// Hidden states after the final norm, `[B, T, D]`; see ``Transformer/forward(ids:batch:length:positions:segments:keyMask:cache:)``.
    public func forward(
        ids: [Int], batch: Int, length: Int, positions: [Int]? = nil, segments: [Int]? = nil,
        keyMask: [Bool]? = nil, cache: KVCache? = nil
    ) throws -> Tensor {
        try transformer.forward(
            ids: ids, batch: batch, length: length, positions: positions, segments: segments,
            keyMask: keyMask, cache: cache)
    }

    /// The LM head: `[..., D] → [..., V]`.
    public func logits(_ hidden: Tensor) throws -> Tensor {
        try lmHead(hidden)
    }

    /// `logits(forward(...))`, `[B, T, V]`.
    public func logits(
        ids: [Int], batch: Int, length: Int, positions: [Int]? = nil, segments: [Int]? = nil,
        keyMask: [Bool]? = nil, cache: KVCache? = nil
    ) throws -> Tensor {
        try logits(
            forward(
                ids: ids, batch: batch, length: length, positions: positions, segments: segments,
                keyMask: keyMask, cache: cache))
    }

    /// An empty KV cache for `batch` rows of up to `capacity` tokens.
    public func makeCache(batch: Int, capacity: Int) -> KVCache {
        KVCache(config: config, batch: batch, capacity: capacity)
    }

    // MARK: Copies

    /// A copy with the same weights (and LoRA adapters) that records no gradients: a reference model.
    /// Use it under `Tensor.withNoGrad`.
    public func frozen() -> CausalLM { copy(requiresGrad: false) }

    /// A deep copy of the weights; `requiresGrad` applies to every parameter. Packed decode weights
    /// are shared (they are never modified).
    public func copy(requiresGrad: Bool = true) -> CausalLM {
        let result = CausalLM(config: config, initializer: nil)
        let source = linearLayers, target = result.linearLayers
        copyLoRA(from: source, to: target, requiresGrad: requiresGrad)
        for ((_, from), (_, to)) in zip(parameters(), result.parameters()) {
            to.data = from.data
            to.requiresGrad = requiresGrad
        }
        for (from, to) in zip(source, target) {
            to.repackFormat = from.repackFormat
            if from.packed != nil { to.setPacked(from.packed) }
        }
        return result
    }

    // MARK: LoRA

    /// Adds LoRA adapters to the linear layers matching `config.targetModules` and freezes every
    /// other parameter, so only the adapters train.
    ///
    /// - Throws: ``ModelError/loraTargetsNotFound(targets:available:)`` when no layer matches.
    public func enableLoRA(_ lora: LoRAConfig, rng: RNG) throws {
        let frozen = parameters().map(\.tensor)
        try addLoRA(lora, to: transformer.linears, rng: rng)
        for t in frozen { t.requiresGrad = false }
    }

    /// Whether any layer has a LoRA adapter.
    public var hasLoRA: Bool { transformer.linears.contains { $0.lora != nil } }

    /// Folds every adapter into its base weight and removes it (PEFT `merge_and_unload`); all
    /// parameters then train again.
    public func mergeLoRA() throws {
        guard hasLoRA else { return }
        for layer in transformer.linears { try layer.mergeLoRA() }
        setRequiresGrad(true)
    }

    // MARK: Loading values

    /// Copies `tensors` (HF names) into the parameters, checking names and shapes.
    ///
    /// - Parameters:
    ///   - source: Names the file in errors.
    ///   - strict: Whether names the model lacks are an error (else ignored).
    public func loadParameters(_ tensors: [String: (shape: [Int], values: [Float])], source: String, strict: Bool = true) throws {
        var unused = Set(tensors.keys)
        for (name, tensor) in parameters() {
            guard let found = tensors[name] else { throw ModelError.missingWeight(source: source, name: name) }
            guard found.shape == tensor.shape else {
                throw ModelError.weightShape(source: source, name: name, expected: tensor.shape, found: found.shape)
            }
            tensor.data = found.values
            unused.remove(name)
        }
        if config.tieWordEmbeddings { unused.remove("lm_head.weight") }
        if strict && !unused.isEmpty { throw ModelError.unexpectedWeights(source: source, names: unused.sorted()) }
    }
}
