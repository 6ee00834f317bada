import Foundation
import Tensors

/// The shape of a transformer, read from and written to HuggingFace's `config.json`.
///
/// One struct covers both families: Llama (`model_type` "llama": RMSNorm, RoPE, SwiGLU, grouped-query
/// attention) and GPT-2 (`model_type` "gpt2": LayerNorm, learned positions, GELU-tanh, biases). Swift
/// names are family-neutral; ``CodingKeys`` holds every HuggingFace key either family uses, and
/// decoding reads the keys of the family named by `model_type`.
///
/// ```swift
/// let config = try ModelConfig.load(URL(fileURLWithPath: "tiny_llama.config.json"))
/// let model = CausalLM(config: config, rng: RNG(seed: 0))
/// ```
public struct ModelConfig: Codable, Equatable, Sendable {
    /// The transformer families this module builds.
    public enum Family: String, Codable, Sendable, CaseIterable {
        case llama
        case gpt2
    }

    /// `model_type`.
    public var family: Family
    /// `architectures`, e.g. `["LlamaForCausalLM"]`; written back unchanged.
    public var architectures: [String]
    /// `vocab_size`.
    public var vocabSize: Int
    /// `hidden_size` (Llama) / `n_embd` (GPT-2).
    public var hiddenSize: Int
    /// `intermediate_size` (Llama) / `n_inner`, default 4 × `n_embd` (GPT-2).
    public var intermediateSize: Int
    /// `num_hidden_layers` / `n_layer`.
    public var layers: Int
    /// `num_attention_heads` / `n_head`.
    public var heads: Int
    /// `num_key_value_heads` (Llama; defaults to `heads`); GPT-2 always has `heads`.
    public var kvHeads: Int
    /// `head_dim` (Llama; defaults to `hiddenSize / heads`).
    public var headDim: Int
    /// `max_position_embeddings` / `n_positions`.
    public var maxPositions: Int
    /// `rms_norm_eps` / `layer_norm_epsilon`.
    public var normEps: Float
    /// `rope_theta` (or `rope_parameters.rope_theta` in transformers 5); unused by GPT-2.
    public var ropeTheta: Float
    /// `tie_word_embeddings`: the LM head reuses the token embedding (HF default: false for Llama,
    /// true for GPT-2).
    public var tieWordEmbeddings: Bool
    /// `attention_bias` (Llama): q/k/v/o projections have biases. GPT-2 always has biases.
    public var attentionBias: Bool
    /// `mlp_bias` (Llama): gate/up/down projections have biases.
    public var mlpBias: Bool
    /// `hidden_act` / `activation_function`: "silu" (Llama) or "gelu_new" (GPT-2).
    public var activation: String
    /// `initializer_range`: standard deviation of the random initialisation.
    public var initializerRange: Float
    /// `bos_token_id`.
    public var bosTokenID: Int?
    /// `eos_token_id` (a number or a list in `config.json`).
    public var eosTokenIDs: [Int]
    /// `pad_token_id`.
    public var padTokenID: Int?

    /// A Llama config; unspecified sizes follow HF's `LlamaConfig` rules.
    public static func llama(
        vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, kvHeads: Int? = nil,
        headDim: Int? = nil, maxPositions: Int = 2048, normEps: Float = 1e-5, ropeTheta: Float = 10_000,
        tieWordEmbeddings: Bool = false, initializerRange: Float = 0.02,
        bosTokenID: Int? = nil, eosTokenIDs: [Int] = [], padTokenID: Int? = nil
    ) -> ModelConfig {
        ModelConfig(
            family: .llama, architectures: ["LlamaForCausalLM"], vocabSize: vocabSize, hiddenSize: hiddenSize,
            intermediateSize: intermediateSize, layers: layers, heads: heads, kvHeads: kvHeads ?? heads,
            headDim: headDim ?? hiddenSize / max(heads, 1), maxPositions: maxPositions, normEps: normEps,
            ropeTheta: ropeTheta, tieWordEmbeddings: tieWordEmbeddings, attentionBias: false, mlpBias: false,
            activation: "silu", initializerRange: initializerRange, bosTokenID: bosTokenID, eosTokenIDs: eosTokenIDs,
            padTokenID: padTokenID)
    }

    /// A GPT-2 config (tied embeddings, biases everywhere, GELU-tanh).
    public static func gpt2(
        vocabSize: Int, hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int? = nil,
        maxPositions: Int = 1024, normEps: Float = 1e-5, initializerRange: Float = 0.02,
        bosTokenID: Int? = nil, eosTokenIDs: [Int] = [], padTokenID: Int? = nil
    ) -> ModelConfig {
        ModelConfig(
            family: .gpt2, architectures: ["GPT2LMHeadModel"], vocabSize: vocabSize, hiddenSize: hiddenSize,
            intermediateSize: intermediateSize ?? 4 * hiddenSize, layers: layers, heads: heads, kvHeads: heads,
            headDim: hiddenSize / max(heads, 1), maxPositions: maxPositions, normEps: normEps, ropeTheta: 0,
            tieWordEmbeddings: true, attentionBias: true, mlpBias: true, activation: "gelu_new",
            initializerRange: initializerRange, bosTokenID: bosTokenID, eosTokenIDs: eosTokenIDs, padTokenID: padTokenID)
    }

    /// The architectures this module can build, for error messages.
    public static let supportedArchitectures = [
        "LlamaForCausalLM", "LlamaForSequenceClassification", "LlamaModel",
        "GPT2LMHeadModel", "GPT2ForSequenceClassification", "GPT2Model",
    ]

    /// Every key either family reads, under HuggingFace's names.
    public enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case architectures
        case vocabSize = "vocab_size"
        // Llama
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case layers = "num_hidden_layers"
        case heads = "num_attention_heads"
        case kvHeads = "num_key_value_heads"
        case headDim = "head_dim"
        case maxPositions = "max_position_embeddings"
        case rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case ropeParameters = "rope_parameters"
        case ropeScaling = "rope_scaling"
        case attentionBias = "attention_bias"
        case mlpBias = "mlp_bias"
        case hiddenAct = "hidden_act"
        // GPT-2
        case nEmbd = "n_embd"
        case nInner = "n_inner"
        case nLayer = "n_layer"
        case nHead = "n_head"
        case nPositions = "n_positions"
        case layerNormEpsilon = "layer_norm_epsilon"
        case activationFunction = "activation_function"
        case scaleAttnWeights = "scale_attn_weights"
        case scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
        case reorderAndUpcastAttn = "reorder_and_upcast_attn"
        // Both
        case tieWordEmbeddings = "tie_word_embeddings"
        case initializerRange = "initializer_range"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
        case padTokenID = "pad_token_id"
        case dtype = "dtype"
        case torchDtype = "torch_dtype"
        case numLabels = "num_labels"
    }

    private struct RopeParameters: Codable {
        var ropeTheta: Double?
        var ropeType: String?
        enum CodingKeys: String, CodingKey {
            case ropeTheta = "rope_theta"
            case ropeType = "rope_type"
        }
    }

    /// A config from every field; prefer ``llama(vocabSize:hiddenSize:intermediateSize:layers:heads:kvHeads:headDim:maxPositions:normEps:ropeTheta:tieWordEmbeddings:initializerRange:bosTokenID:eosTokenIDs:padTokenID:)``
    /// and ``gpt2(vocabSize:hiddenSize:layers:heads:intermediateSize:maxPositions:normEps:initializerRange:bosTokenID:eosTokenIDs:padTokenID:)``.
    public init(
        family: Family, architectures: [String], vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layers: Int,
        heads: Int, kvHeads: Int, headDim: Int, maxPositions: Int, normEps: Float, ropeTheta: Float,
        tieWordEmbeddings: Bool, attentionBias: Bool, mlpBias: Bool, activation: String, initializerRange: Float,
        bosTokenID: Int?, eosTokenIDs: [Int], padTokenID: Int?
    ) {
        self.family = family
        self.architectures = architectures
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.maxPositions = maxPositions
        self.normEps = normEps
        self.ropeTheta = ropeTheta
        self.tieWordEmbeddings = tieWordEmbeddings
        self.attentionBias = attentionBias
        self.mlpBias = mlpBias
        self.activation = activation
        self.initializerRange = initializerRange
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
        self.padTokenID = padTokenID
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? []
        guard let modelType = try c.decodeIfPresent(String.self, forKey: .modelType) else {
            throw ModelError.invalidConfig(source: nil, key: "model_type", message: "missing; expected one of \(Family.allCases.map(\.rawValue))")
        }
        guard let family = Family(rawValue: modelType) else {
            throw ModelError.unsupportedArchitecture(name: modelType, source: nil)
        }
        if let unknown = architectures.first(where: { !ModelConfig.supportedArchitectures.contains($0) }) {
            throw ModelError.unsupportedArchitecture(name: unknown, source: nil)
        }
        func required<T: Decodable>(_ type: T.Type, _ key: CodingKeys) throws -> T {
            guard let value = try c.decodeIfPresent(type, forKey: key) else {
                throw ModelError.invalidConfig(source: nil, key: key.rawValue, message: "missing (needed by model_type \"\(modelType)\")")
            }
            return value
        }
        self.family = family
        self.architectures = architectures
        vocabSize = try required(Int.self, .vocabSize)
        initializerRange = Float(try c.decodeIfPresent(Double.self, forKey: .initializerRange) ?? 0.02)
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eosTokenID) {
            eosTokenIDs = [one]
        } else {
            eosTokenIDs = (try? c.decodeIfPresent([Int].self, forKey: .eosTokenID)) ?? []
        }
        switch family {
        case .llama:
            hiddenSize = try required(Int.self, .hiddenSize)
            intermediateSize = try required(Int.self, .intermediateSize)
            layers = try required(Int.self, .layers)
            heads = try required(Int.self, .heads)
            kvHeads = try c.decodeIfPresent(Int.self, forKey: .kvHeads) ?? heads
            headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? hiddenSize / max(heads, 1)
            maxPositions = try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 2048
            normEps = Float(try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6)
            let rope = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
            if let type = rope?.ropeType, type != "default" {
                throw ModelError.invalidConfig(
                    source: nil, key: "rope_parameters.rope_type", message: "\"\(type)\" is not supported; only \"default\" RoPE is")
            }
            if c.contains(.ropeScaling), (try? c.decodeNil(forKey: .ropeScaling)) == false {
                let scaling = try? c.decode(RopeParameters.self, forKey: .ropeScaling)
                if scaling?.ropeType != "default" {
                    throw ModelError.invalidConfig(
                        source: nil, key: "rope_scaling", message: "RoPE scaling is not supported; remove it or set it to null")
                }
            }
            let theta = try rope?.ropeTheta ?? c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10_000
            ropeTheta = Float(theta)
            tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
            attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
            mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlpBias) ?? false
            activation = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
            guard activation == "silu" else {
                throw ModelError.invalidConfig(
                    source: nil, key: "hidden_act", message: "\"\(activation)\" is not supported; Llama models here use \"silu\"")
            }
        case .gpt2:
            hiddenSize = try required(Int.self, .nEmbd)
            layers = try required(Int.self, .nLayer)
            heads = try required(Int.self, .nHead)
            kvHeads = heads
            headDim = hiddenSize / max(heads, 1)
            intermediateSize = try c.decodeIfPresent(Int.self, forKey: .nInner) ?? 4 * hiddenSize
            maxPositions = try c.decodeIfPresent(Int.self, forKey: .nPositions) ?? 1024
            normEps = Float(try c.decodeIfPresent(Double.self, forKey: .layerNormEpsilon) ?? 1e-5)
            ropeTheta = 0
            tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
            attentionBias = true
            mlpBias = true
            activation = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? "gelu_new"
            guard ["gelu_new", "gelu_pytorch_tanh"].contains(activation) else {
                throw ModelError.invalidConfig(
                    source: nil, key: "activation_function",
                    message: "\"\(activation)\" is not supported; GPT-2 models here use \"gelu_new\" (GELU, tanh approximation)")
            }
            if try c.decodeIfPresent(Bool.self, forKey: .scaleAttnWeights) == false {
                throw ModelError.invalidConfig(source: nil, key: "scale_attn_weights", message: "false is not supported")
            }
            if try c.decodeIfPresent(Bool.self, forKey: .scaleAttnByInverseLayerIdx) == true {
                throw ModelError.invalidConfig(source: nil, key: "scale_attn_by_inverse_layer_idx", message: "true is not supported")
            }
        }
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(family.rawValue, forKey: .modelType)
        try c.encode(architectures, forKey: .architectures)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(shortest(initializerRange), forKey: .initializerRange)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(bosTokenID, forKey: .bosTokenID)
        if eosTokenIDs.count == 1 {
            try c.encode(eosTokenIDs[0], forKey: .eosTokenID)
        } else if !eosTokenIDs.isEmpty {
            try c.encode(eosTokenIDs, forKey: .eosTokenID)
        } else {
            try c.encodeNil(forKey: .eosTokenID)
        }
        try c.encode(padTokenID, forKey: .padTokenID)
        try c.encode("float32", forKey: .dtype)
        try c.encode("float32", forKey: .torchDtype)
        if architectures.contains(where: { $0.hasSuffix("ForSequenceClassification") }) {
            try c.encode(1, forKey: .numLabels)
        }
        switch family {
        case .llama:
            try c.encode(hiddenSize, forKey: .hiddenSize)
            try c.encode(intermediateSize, forKey: .intermediateSize)
            try c.encode(layers, forKey: .layers)
            try c.encode(heads, forKey: .heads)
            try c.encode(kvHeads, forKey: .kvHeads)
            try c.encode(headDim, forKey: .headDim)
            try c.encode(maxPositions, forKey: .maxPositions)
            try c.encode(shortest(normEps), forKey: .rmsNormEps)
            // Both spellings: transformers 4 reads `rope_theta`, transformers 5 `rope_parameters`.
            try c.encode(shortest(ropeTheta), forKey: .ropeTheta)
            try c.encode(RopeParameters(ropeTheta: shortest(ropeTheta), ropeType: "default"), forKey: .ropeParameters)
            try c.encode(attentionBias, forKey: .attentionBias)
            try c.encode(mlpBias, forKey: .mlpBias)
            try c.encode(activation, forKey: .hiddenAct)
        case .gpt2:
            try c.encode(hiddenSize, forKey: .nEmbd)
            try c.encode(intermediateSize, forKey: .nInner)
            try c.encode(layers, forKey: .nLayer)
            try c.encode(heads, forKey: .nHead)
            try c.encode(maxPositions, forKey: .nPositions)
            try c.encode(shortest(normEps), forKey: .layerNormEpsilon)
            try c.encode(activation, forKey: .activationFunction)
            try c.encode(true, forKey: .scaleAttnWeights)
            try c.encode(false, forKey: .scaleAttnByInverseLayerIdx)
            try c.encode(false, forKey: .reorderAndUpcastAttn)
        }
    }

    /// The Double with the Float's shortest decimal spelling (1e-05, not 9.999999747378752e-06).
    private func shortest(_ value: Float) -> Double { Double("\(value)") ?? Double(value) }

    /// Checks that the sizes fit together (heads divide the width, KV heads divide the heads, ...).
    public func validate(source: String? = nil) throws {
        func fail(_ key: String, _ message: String) -> ModelError {
            ModelError.invalidConfig(source: source, key: key, message: message)
        }
        for (key, value) in [
            ("vocab_size", vocabSize), ("hidden size", hiddenSize), ("intermediate size", intermediateSize),
            ("layers", layers), ("heads", heads), ("kv heads", kvHeads), ("head_dim", headDim),
            ("max positions", maxPositions),
        ] where value <= 0 {
            throw fail(key, "must be positive, got \(value)")
        }
        for (key, value, limit) in ModelConfig.limits(self) where value > limit {
            throw fail(key, "\(value) is beyond the largest supported, \(limit)")
        }
        guard heads % kvHeads == 0 else {
            throw fail("num_key_value_heads", "\(kvHeads) KV heads do not divide \(heads) attention heads")
        }
        if family == .gpt2, hiddenSize % heads != 0 {
            throw fail("n_head", "\(heads) heads do not divide n_embd \(hiddenSize)")
        }
        if family == .llama, headDim % 2 != 0 {
            throw fail("head_dim", "RoPE needs an even head size, got \(headDim)")
        }
    }

    /// The largest size of each dimension: far above any model this runtime trains, low enough
    /// that no product of them overflows an `Int`.
    static func limits(_ c: ModelConfig) -> [(String, Int, Int)] {
        [
            ("vocab_size", c.vocabSize, 1 << 24), ("hidden size", c.hiddenSize, 1 << 16),
            ("intermediate size", c.intermediateSize, 1 << 20), ("layers", c.layers, 1 << 10),
            ("heads", c.heads, 1 << 10), ("kv heads", c.kvHeads, 1 << 10), ("head_dim", c.headDim, 1 << 12),
            ("max positions", c.maxPositions, 1 << 24),
        ]
    }

    /// Refuses a model whose weights (Float32) would not fit the memory budget; call it before
    /// allocating one.
    public func checkMemory(source: String? = nil, budget: Int = MemoryBudget.bytes) throws {
        try validate(source: source)
        try MemoryBudget.check(
            Double(parameterCount) * 4, for: "a model of \(parameterCount) parameters\(source.map { " (\($0))" } ?? "")", budget: budget)
    }

    /// Checks the config against the tensors a weight file holds (by name, their shapes), before
    /// the model is allocated: a config asking for more weights than the file has is refused.
    /// (A file may hold more: buffers, a head the model does not use.)
    public func check(againstWeights shapes: [String: [Int]], source: String) throws {
        var stored = 0.0
        for shape in shapes.values { stored += shape.reduce(1.0) { $0 * Double($1) } }
        // A file of a reward model or critic stores no untied LM head.
        let head = tieWordEmbeddings ? 0.0 : Double(vocabSize) * Double(hiddenSize)
        guard Double(parameterCount) - head <= stored else {
            throw ModelError.invalidConfig(
                source: source, key: "",
                message: "the config describes \(parameterCount) parameters but the weight file holds only \(Int(stored)); "
                    + "check vocab_size, hidden_size, intermediate_size, num_hidden_layers and head_dim")
        }
        try checkMemory(source: source)
    }

    /// Reads a `config.json`; errors name the file.
    public static func load(_ url: URL) throws -> ModelConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.fileNotFound(path: url.path, what: "config.json")
        }
        do {
            return try JSONDecoder().decode(ModelConfig.self, from: data)
        } catch let error as ModelError {
            throw error.at(url.path)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ModelError.invalidConfig(source: url.path, key: key, message: context.debugDescription)
        } catch {
            throw ModelError.invalidConfig(source: url.path, key: "", message: "not valid JSON: \(error)")
        }
    }

    /// The `config.json` text transformers reads (sorted keys, pretty-printed).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Parameter count of the causal LM built from this config (tied head counted once).
    public var parameterCount: Int {
        let d = hiddenSize, f = intermediateSize
        let q = heads * headDim, kv = kvHeads * headDim
        switch family {
        case .llama:
            let attention = d * q + 2 * d * kv + q * d + (attentionBias ? q + 2 * kv + d : 0)
            let mlp = 3 * d * f + (mlpBias ? 2 * f + d : 0)
            return vocabSize * d * (tieWordEmbeddings ? 1 : 2) + layers * (attention + mlp + 2 * d) + d
        case .gpt2:
            let block = 4 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d)
            return vocabSize * d + maxPositions * d + layers * block + 2 * d
        }
    }
}

/// An error building, loading or running a model: what, where, and what to do about it.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// A `model_type` or `architectures` entry this module does not build.
    case unsupportedArchitecture(name: String, source: String?)
    /// A config key that is missing or has a value this module cannot use.
    case invalidConfig(source: String?, key: String, message: String)
    /// A file that does not exist.
    case fileNotFound(path: String, what: String)
    /// A weight the model needs that the file lacks.
    case missingWeight(source: String, name: String)
    /// Weights in the file that the model does not have.
    case unexpectedWeights(source: String, names: [String])
    /// A weight whose shape differs from the model's.
    case weightShape(source: String, name: String, expected: [Int], found: [Int])
    /// An input the model cannot take (ids out of range, inconsistent sizes, ...).
    case invalidInput(String)
    /// LoRA targets that match no linear layer.
    case loraTargetsNotFound(targets: [String], available: [String])

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let name, let source):
            return "\(source.map { "\($0): " } ?? "")unsupported architecture '\(name)'; supported model_type values: "
                + "\(ModelConfig.Family.allCases.map(\.rawValue).joined(separator: ", ")) (architectures "
                + "\(ModelConfig.supportedArchitectures.joined(separator: ", ")))"
        case .invalidConfig(let source, let key, let message):
            return "\(source.map { "\($0): " } ?? "")config key '\(key)': \(message)"
        case .fileNotFound(let path, let what):
            return "\(path): no such file (expected \(what))"
        case .missingWeight(let source, let name):
            return "\(source): missing weight '\(name)'; the file does not match the config (architecture, layer count, tied embeddings?)"
        case .unexpectedWeights(let source, let names):
            let shown = names.prefix(5).joined(separator: ", ")
            return "\(source): \(names.count) weight(s) the model does not have: \(shown)\(names.count > 5 ? ", …" : "")"
        case .weightShape(let source, let name, let expected, let found):
            return "\(source): weight '\(name)' has shape \(found), the config needs \(expected)"
        case .invalidInput(let message):
            return message
        case .loraTargetsNotFound(let targets, let available):
            return "LoRA target modules \(targets) match no linear layer; available: \(available.joined(separator: ", "))"
        }
    }

    /// The same error, naming `path` as its source when it had none.
    func at(_ path: String) -> ModelError {
        switch self {
        case .unsupportedArchitecture(let name, nil): return .unsupportedArchitecture(name: name, source: path)
        case .invalidConfig(nil, let key, let message): return .invalidConfig(source: path, key: key, message: message)
        default: return self
        }
    }
}
