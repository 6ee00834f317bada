import Foundation
import Tensors

// Scalar heads on the hidden states, as OpenRLHF builds them (`get_llm_for_sequence_regression`):
// a linear map D → 1 without bias on the base model's last hidden states.
//
//   critic: `value_head`, a value per token (PPO's V(s_t));
//   reward: `score`, read at each sequence's last real token (the reward model).
//
// Parameters are named `model.*` / `transformer.*` plus `score.weight` or `value_head.weight`,
// so a reward model saved here has the layout of HF `LlamaForSequenceClassification`.

/// A decoder stack with a scalar head: a reward model or a critic.
public final class ScalarModel {
    /// Which scalar the head gives.
    public enum Kind: String, Codable, Sendable {
        /// A reward per sequence, read at its last real token; head `score`.
        case reward
        /// A value per token; head `value_head`.
        case critic

        /// The head's parameter prefix.
        public var headName: String { self == .reward ? "score" : "value_head" }
    }

    /// Reward model or critic.
    public let kind: Kind
    /// The stack's config; a reward model's `architectures` is `…ForSequenceClassification`.
    public let config: ModelConfig
    /// The decoder stack (parameters `model.*` / `transformer.*`).
    public let transformer: Transformer
    /// `score` or `value_head`: `[1, D]`, no bias.
    public let head: Linear

    /// A model whose stack has HF's random initialisation and whose head is `N(0, 1/(D+1))`
    /// (OpenRLHF's reward-head initialisation).
    public convenience init(kind: Kind, config: ModelConfig, rng: RNG) {
        self.init(kind: kind, config: config, initializer: rng)
    }

    init(kind: Kind, config: ModelConfig, initializer rng: RNG?) {
        self.kind = kind
        var config = config
        if kind == .reward {
            config.architectures = [config.family == .llama ? "LlamaForSequenceClassification" : "GPT2ForSequenceClassification"]
        }
        self.config = config
        transformer = Transformer(config: config, rng: rng)
        head = Linear(
            name: kind.headName, inFeatures: config.hiddenSize, outFeatures: 1, bias: false,
            std: 1 / Float(config.hiddenSize + 1), rng: rng)
    }

    /// A reward model or critic starting from a language model's stack (weights copied), with a
    /// fresh head drawn from `rng`.
    public convenience init(kind: Kind, from model: CausalLM, rng: RNG) {
        self.init(kind: kind, config: model.config, initializer: nil)
        var stream = rng.fork(kind.headName + ".weight")
        head.weight.data = Tensor.randn(head.weight.shape, std: 1 / Float(config.hiddenSize + 1), rng: &stream).data
        for ((_, from), (_, to)) in zip(model.transformer.parameters(), transformer.parameters()) {
            to.data = from.data
        }
    }

    /// Parameters: the stack's in HF order, then the head.
    public func parameters() -> [(name: String, tensor: Tensor)] {
        transformer.parameters() + head.parameters()
    }

    /// The parameters that require gradients.
    public func trainableParameters() -> [(name: String, tensor: Tensor)] {
        parameters().filter { $0.tensor.requiresGrad }
    }

    /// A copy that records no gradients (a fixed reward model), LoRA adapters included.
    public func frozen() -> ScalarModel {
        let result = ScalarModel(kind: kind, config: config, initializer: nil)
        copyLoRA(from: transformer.linears, to: result.transformer.linears, requiresGrad: false)
        for ((_, from), (_, to)) in zip(parameters(), result.parameters()) {
            to.data = from.data
            to.requiresGrad = false
        }
        return result
    }

    /// Adds LoRA adapters to the stack's layers matching `config.targetModules` and freezes the
    /// rest of the stack; the head keeps training (OpenRLHF trains the value head with LoRA).
    public func enableLoRA(_ config: LoRAConfig, rng: RNG) throws {
        let frozen = transformer.parameters().map(\.tensor)
        try addLoRA(config, to: transformer.linears, rng: rng)
        for t in frozen { t.requiresGrad = false }
    }

    /// Folds every adapter into its base weight and removes it; all parameters train again.
    public func mergeLoRA() throws {
        guard transformer.linears.contains(where: { $0.lora != nil }) else { return }
        for layer in transformer.linears { try layer.mergeLoRA() }
        for (_, t) in parameters() { t.requiresGrad = true }
    }

    /// The head on every token: `[B, T]`. Arguments as ``Transformer/forward(ids:batch:length:positions:segments:keyMask:cache:)``.
    public func values(
        ids: [Int], batch: Int, length: Int, positions: [Int]? = nil, segments: [Int]? = nil,
        keyMask: [Bool]? = nil
    ) throws -> Tensor {
        let hidden = try transformer.forward(
            ids: ids, batch: batch, length: length, positions: positions,
            segments: segments, keyMask: keyMask)
        return try head(hidden).reshaped([batch, length])
    }

    /// The head at chosen tokens: `[indices.count]`, where each index is a flat position
    /// `row · length + t` (the last token of each sequence, or of each packed sample).
    public func scores(
        ids: [Int], batch: Int, length: Int, at indices: [Int], positions: [Int]? = nil,
        segments: [Int]? = nil, keyMask: [Bool]? = nil
    ) throws -> Tensor {
        guard !indices.isEmpty, indices.allSatisfy({ $0 >= 0 && $0 < batch * length }) else {
            throw ModelError.invalidInput("scores: indices must be flat positions in 0..<\(batch * length), got \(indices)")
        }
        let all = try values(ids: ids, batch: batch, length: length, positions: positions, segments: segments, keyMask: keyMask)
        return try gather(all.reshaped([batch * length]), axis: 0, index: indices)
    }

    /// One reward per row, read at the row's last real token (`keyMask` true; the last token when
    /// there is no mask): `[B]`.
    public func rewards(ids: [Int], batch: Int, length: Int, keyMask: [Bool]? = nil) throws -> Tensor {
        let last = try ScalarModel.lastTokenIndices(batch: batch, length: length, keyMask: keyMask)
        return try scores(ids: ids, batch: batch, length: length, at: last, keyMask: keyMask)
    }

    /// Flat index of the last real token of each row (OpenRLHF's `eos_indices`).
    public static func lastTokenIndices(batch: Int, length: Int, keyMask: [Bool]?) throws -> [Int] {
        guard let keyMask else { return (0..<batch).map { $0 * length + length - 1 } }
        guard keyMask.count == batch * length else {
            throw ModelError.invalidInput("lastTokenIndices: keyMask has \(keyMask.count) entries for \(batch) × \(length)")
        }
        return try (0..<batch).map { row in
            guard let t = (0..<length).last(where: { keyMask[row * length + $0] }) else {
                throw ModelError.invalidInput("lastTokenIndices: row \(row) has no real token")
            }
            return row * length + t
        }
    }

    /// Copies `tensors` (HF names) into the parameters, checking names and shapes.
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
        if strict && !unused.isEmpty { throw ModelError.unexpectedWeights(source: source, names: unused.sorted()) }
    }
}
