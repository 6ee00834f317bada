import Foundation
import Tensors
import WeightFiles

// A Llama-family model from a GGUF file (llama.cpp's format): the config from the `llama.*`
// metadata, the weights by HF name (dequantized to Float32 for training and prefill, with
// llama.cpp's q/k row permutation undone), and the Q8_0 / Q4_1 blocks kept as they are for decoding.

extension ModelConfig {
    /// The config a GGUF file describes (`general.architecture` must be `llama`).
    ///
    /// Reads `llama.embedding_length`, `block_count`, `feed_forward_length`,
    /// `attention.head_count(_kv)`, `attention.key_length` (head size, default width / heads),
    /// `attention.layer_norm_rms_epsilon`, `rope.freq_base`, `context_length`; the vocabulary size
    /// from `tokenizer.ggml.tokens`; the head is tied when the file has no `output.weight`.
    public init(gguf: GGUFFile) throws {
        let arch = gguf.architecture ?? "(none)"
        guard arch == "llama" else { throw ModelError.unsupportedArchitecture(name: arch, source: gguf.path) }
        func optionalInt(_ key: String) throws -> Int? { gguf.metadata[key] == nil ? nil : try gguf.int(key) }
        func optionalDouble(_ key: String) throws -> Double? { gguf.metadata[key] == nil ? nil : try gguf.double(key) }
        let hidden = try gguf.int("llama.embedding_length")
        let heads = try gguf.int("llama.attention.head_count")
        let vocab: Int
        if let tokens = gguf.metadata["tokenizer.ggml.tokens"]?.array {
            vocab = tokens.count
        } else if let size = try optionalInt("llama.vocab_size") {
            vocab = size
        } else {
            vocab = try gguf.info("token_embd.weight").shape[0]
        }
        if let scaling = gguf.metadata["llama.rope.scaling.type"]?.string, scaling != "none" {
            throw ModelError.invalidConfig(source: gguf.path, key: "llama.rope.scaling.type", message: "RoPE scaling '\(scaling)' is not supported")
        }
        var eos: [Int] = []
        if let id = try optionalInt("tokenizer.ggml.eos_token_id") { eos = [id] }
        self = ModelConfig.llama(
            vocabSize: vocab, hiddenSize: hidden, intermediateSize: try gguf.int("llama.feed_forward_length"),
            layers: try gguf.int("llama.block_count"), heads: heads,
            kvHeads: try optionalInt("llama.attention.head_count_kv") ?? heads,
            headDim: try optionalInt("llama.attention.key_length") ?? hidden / max(heads, 1),
            maxPositions: try optionalInt("llama.context_length") ?? 2048,
            normEps: Float(try optionalDouble("llama.attention.layer_norm_rms_epsilon") ?? 1e-5),
            ropeTheta: Float(try optionalDouble("llama.rope.freq_base") ?? 10_000),
            tieWordEmbeddings: !gguf.contains("output.weight"),
            bosTokenID: try optionalInt("tokenizer.ggml.bos_token_id"), eosTokenIDs: eos,
            padTokenID: try optionalInt("tokenizer.ggml.padding_token_id"))
        try validate(source: gguf.path)
    }
}

extension CausalLM {
    /// Loads a Llama-family GGUF file (e.g. SmolLM2-135M-Instruct.Q4_1.gguf).
    ///
    /// Weights are dequantized to Float32 (exactly: these are the values transformers' GGUF loader
    /// computes) for training and prefill; linear layers stored as Q8_0 or Q4_1 also keep their
    /// blocks, which decoding reads directly (~5× fewer bytes per token than Float32).
    ///
    /// - Throws: ``ModelError/unsupportedArchitecture(name:source:)`` for a non-Llama file;
    ///   ``WeightFileError`` for a corrupt file or a tensor type that cannot be dequantized.
    public static func load(gguf url: URL) throws -> CausalLM {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ModelError.fileNotFound(path: url.path, what: "a GGUF model file")
        }
        return try load(gguf: GGUFFile(url: url))
    }

    /// Builds the model from an open GGUF file; see ``load(gguf:)-(URL)``.
    public static func load(gguf: GGUFFile) throws -> CausalLM {
        let config = try ModelConfig(gguf: gguf)
        try config.check(againstWeights: Dictionary(gguf.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a }), source: gguf.path)
        let model = CausalLM(config: config, initializer: nil)
        for (name, tensor) in model.parameters() {
            let (shape, values) = try gguf.llamaFloats(huggingFaceName: name)
            guard shape == tensor.shape else {
                throw ModelError.weightShape(source: gguf.path, name: name, expected: tensor.shape, found: shape)
            }
            tensor.data = values
        }
        for layer in model.linearLayers {
            layer.setPacked(try packedBlocks(gguf, layer: layer, config: config))
        }
        return model
    }

    /// The stored Q8_0 / Q4_1 blocks of a linear layer, rows in HF order; nil for other types.
    static func packedBlocks(_ gguf: GGUFFile, layer: Linear, config: ModelConfig) throws -> PackedMatrix? {
        guard var name = GGUFLlamaNames.ggufName(layer.name + ".weight") else { return nil }
        if name == "output.weight" && !gguf.contains(name) { name = "token_embd.weight" }
        let info = try gguf.info(name)
        let format: PackedFormat
        switch info.type {
        case .q8_0: format = .q8_0
        case .q4_1: format = .q4_1
        default: return nil
        }
        guard info.shape == [layer.outFeatures, layer.inFeatures], let rowBytes = info.bytesPerRow else { return nil }
        var bytes = try gguf.rawBytes(name)
        if name.hasSuffix(".attn_q.weight") || name.hasSuffix(".attn_k.weight") {
            let heads = name.hasSuffix(".attn_q.weight") ? config.heads : config.kvHeads
            bytes = unpermuteLlamaQK(bytes, rows: info.rowCount, rowLength: rowBytes, heads: heads)
        }
        return try PackedMatrix(blocks: bytes, format: format, outFeatures: layer.outFeatures, inFeatures: layer.inFeatures)
    }

    /// Keeps a copy of every linear layer's weights in `format` for decoding: `.bf16` reads half
    /// the bytes of Float32 and `.q8_0` about a quarter, at a small cost in accuracy; `.f32` drops
    /// packed copies. A copy that training makes stale is made again from the new weights at the
    /// next decode (`.bf16`, `.q8_0`) or dropped (blocks read from a GGUF file).
    public func packForDecoding(_ format: PackedFormat) throws {
        if format == .q4_1 {
            throw ModelError.invalidInput("packForDecoding: Q4_1 is read from GGUF files, not made here; use .q8_0 or .bf16")
        }
        for layer in linearLayers {
            layer.setPacked(nil)
            layer.repackFormat = format == .f32 || (format == .q8_0 && layer.inFeatures % 32 != 0) ? nil : format
        }
    }

    /// Bytes the decode kernels read per token (packed weights where present, else Float32).
    public var decodeBytesPerToken: Int {
        linearLayers.reduce(0) { total, layer in
            total
                + (layer.packed?.byteCount
                    ?? Int((layer.repackFormat ?? .f32).bytesPerValue * Double(layer.inFeatures * layer.outFeatures)))
        }
    }
}
