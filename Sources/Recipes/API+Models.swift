import Foundation
import Generation
import Models
import Plots
import RecipeLanguage
import Tensors
import Tokenizers

// The Swift API behind the model builtins. A compiled recipe calls these without `try`: an error
// ends the program with its message, as a failed precondition would; the interpreter calls the
// throwing twins (`make…`) and reports the error at the recipe's line and column.

/// Runs `body`; on error prints the message and exits (the compiled-recipe convention).
func orExit<T>(_ body: () throws -> T) -> T {
    do {
        return try body()
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
}

/// Which tokenizer a new model uses.
public enum Tokenizer: String, CaseIterable {
    /// 256 byte tokens plus `<pad>`, `<bos>`, `<eos>` and the ChatML markers: for synthetic tasks.
    case bytes
}

/// A policy, reference or reward model with its tokenizer: what recipes train and sample.
public final class Model: RecipeObject {
    public static var recipeTypeName: String { "Model" }

    /// The transformer with its LM head.
    public let lm: CausalLM
    /// How text becomes token ids for this model.
    public let tokenizer: any TextTokenizer
    /// Where the model came from (`llama`, a file path), for printing.
    public let origin: String

    public init(lm: CausalLM, tokenizer: any TextTokenizer, origin: String) {
        self.lm = lm
        self.tokenizer = tokenizer
        self.origin = origin
    }

    public func describe() -> String {
        let c = lm.config
        let trainable = lm.trainableParameters().reduce(0) { $0 + $1.tensor.count }
        var text = "Model(\(origin)): \(c.family == .llama ? "Llama" : "GPT-2"), hidden \(c.hiddenSize), \(c.layers) layers, "
        text += "\(c.heads) heads (\(c.kvHeads) kv), vocab \(c.vocabSize), \(formatCount(lm.parameterCount)) parameters"
        if trainable != lm.parameterCount { text += " (\(formatCount(trainable)) trainable)" }
        if lm.hasLoRA { text += ", LoRA" }
        return text
    }

    /// The end-of-sequence token every completion ends with.
    var eosTokenID: Int { tokenizer.eosTokenID ?? lm.config.eosTokenIDs.first ?? 0 }

    // MARK: Creating models

    /// A Llama-family model (RMSNorm, RoPE, SwiGLU, grouped-query attention) initialised from the seed.
    public static func llama(
        hidden: Int = 64, layers: Int = 2, heads: Int = 4, kvHeads: Int? = nil,
        intermediate: Int? = nil, maxPositions: Int = 256, ropeTheta: Double = 10_000,
        tokenizer: Tokenizer = .bytes
    ) -> Model {
        orExit {
            try makeLlama(
                hidden: hidden, layers: layers, heads: heads, kvHeads: kvHeads, intermediate: intermediate,
                maxPositions: maxPositions, ropeTheta: ropeTheta, tokenizer: tokenizer)
        }
    }

    static func makeLlama(
        hidden: Int, layers: Int, heads: Int, kvHeads: Int?, intermediate: Int?, maxPositions: Int,
        ropeTheta: Double, tokenizer: Tokenizer
    ) throws -> Model {
        try checkShape(hidden: hidden, layers: layers, heads: heads, kvHeads: kvHeads)
        let tok = ByteTokenizer()
        let config = ModelConfig.llama(
            vocabSize: tok.vocabularySize, hiddenSize: hidden, intermediateSize: intermediate ?? hidden * 8 / 3,
            layers: layers, heads: heads, kvHeads: kvHeads, maxPositions: maxPositions, ropeTheta: Float(ropeTheta),
            bosTokenID: tok.bosTokenID, eosTokenIDs: tok.eosTokenID.map { [$0] } ?? [], padTokenID: tok.padTokenID)
        try config.checkMemory()
        return Model(lm: CausalLM(config: config, rng: Session.current.nextModelStream()), tokenizer: tok, origin: "llama")
    }

    /// A GPT-2-family model (LayerNorm, learned positions, GELU-tanh, biases, tied embeddings).
    public static func gpt2(
        hidden: Int = 64, layers: Int = 2, heads: Int = 4, maxPositions: Int = 256,
        tokenizer: Tokenizer = .bytes
    ) -> Model {
        orExit { try makeGPT2(hidden: hidden, layers: layers, heads: heads, maxPositions: maxPositions, tokenizer: tokenizer) }
    }

    static func makeGPT2(hidden: Int, layers: Int, heads: Int, maxPositions: Int, tokenizer: Tokenizer) throws -> Model {
        try checkShape(hidden: hidden, layers: layers, heads: heads, kvHeads: nil)
        let tok = ByteTokenizer()
        let config = ModelConfig.gpt2(
            vocabSize: tok.vocabularySize, hiddenSize: hidden, layers: layers, heads: heads, maxPositions: maxPositions,
            bosTokenID: tok.bosTokenID, eosTokenIDs: tok.eosTokenID.map { [$0] } ?? [], padTokenID: tok.padTokenID)
        try config.checkMemory()
        return Model(lm: CausalLM(config: config, rng: Session.current.nextModelStream()), tokenizer: tok, origin: "gpt2")
    }

    private static func checkShape(hidden: Int, layers: Int, heads: Int, kvHeads: Int?) throws {
        guard hidden > 0, layers > 0, heads > 0, hidden % heads == 0 else {
            throw RecipeError(.runtime, "hidden (\(hidden)) must be a positive multiple of heads (\(heads)), with layers ≥ 1")
        }
        if let kvHeads, kvHeads <= 0 || heads % kvHeads != 0 {
            throw RecipeError(.runtime, "heads (\(heads)) must be a multiple of kvHeads (\(kvHeads))")
        }
    }

    /// Loads a model: a `.gguf` file (Llama family, with its tokenizer), or a folder holding
    /// `config.json`, `model.safetensors` and a `tokenizer.json` (a byte tokenizer when absent).
    public static func load(_ path: String) -> Model { orExit { try makeLoaded(path) } }

    static func makeLoaded(_ path: String) throws -> Model {
        let url = try Session.current.readableURL(path)
        if url.pathExtension == "gguf" {
            let (lm, tokenizer) = try CausalLM.loadWithTokenizer(url)
            return Model(lm: lm, tokenizer: tokenizer, origin: url.lastPathComponent)
        }
        let lm = try CausalLM.load(url)
        let tokenizerFile = url.appendingPathComponent("tokenizer.json")
        let tokenizer: any TextTokenizer =
            FileManager.default.fileExists(atPath: tokenizerFile.path)
            ? try BPETokenizer.load(directory: url) : ByteTokenizer()
        return Model(lm: lm, tokenizer: tokenizer, origin: url.lastPathComponent)
    }

    /// SmolLM2-135M-Instruct from `.cache/models` (fetched by `scripts/setup`), weights kept in
    /// their GGUF blocks for fast decoding.
    public static func smolLM2() -> Model { orExit { try makeSmolLM2() } }

    static func makeSmolLM2() throws -> Model {
        let url = smolLM2Path()
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw RecipeError(.runtime, "SmolLM2 is not in \(url.path); run scripts/fetch-smollm2 (or set RLHF_SMOLLM2_GGUF)")
        }
        let (lm, tokenizer) = try CausalLM.loadWithTokenizer(url)
        return Model(lm: lm, tokenizer: tokenizer, origin: "SmolLM2-135M-Instruct")
    }

    // MARK: Using models

    /// A copy that is never trained: the reference of DPO, KTO and the KL penalty.
    public func frozen() -> Model { Model(lm: lm.frozen(), tokenizer: tokenizer, origin: origin + ", frozen") }

    /// A trainable copy with the same weights: to branch several experiments from one policy.
    public func copy() -> Model { Model(lm: lm.copy(), tokenizer: tokenizer, origin: origin + ", copy") }

    /// Number of parameters.
    public var parameterCount: Int { lm.parameterCount }

    /// Adds LoRA adapters to the chosen linear layers; afterwards only the adapters train.
    public func lora(
        rank: Int = 8, alpha: Double = 16, dropout: Double = 0,
        targets: [String] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    ) {
        orExit { try makeLoRA(rank: rank, alpha: alpha, dropout: dropout, targets: targets) }
    }

    func makeLoRA(rank: Int, alpha: Double, dropout: Double, targets: [String]) throws {
        let config = LoRAConfig(rank: rank, alpha: Float(alpha), dropout: Float(dropout), targetModules: targets)
        try lm.enableLoRA(config, rng: Session.current.nextModelStream())
    }

    /// Folds LoRA adapters into the base weights.
    public func mergeLoRA() { orExit { try lm.mergeLoRA() } }

    /// The weights generation reads: "f32" (exact), "bf16" (half the bytes) or "q8_0" (about a
    /// quarter). Copies are made again from the trained weights whenever training changed them;
    /// training and log-probs always use the Float32 weights.
    public func decodeWeights(_ format: String) { orExit { try setDecodeWeights(format) } }

    func setDecodeWeights(_ format: String) throws {
        guard let packed = PackedFormat(rawValue: format) else {
            throw RecipeError(.runtime, "decodeWeights: unknown format \(format.debugDescription); use \"f32\", \"bf16\" or \"q8_0\"")
        }
        try lm.packForDecoding(packed)
    }

    /// Saves `config.json` and `model.safetensors` (loadable by transformers) into a folder under
    /// the output folder.
    public func save(_ path: String) { orExit { try makeSaved(path) } }

    func makeSaved(_ path: String) throws {
        let url = try Session.current.writableURL(path)
        try lm.save(to: url)
    }

    /// Saves only the LoRA adapters, as PEFT does (`adapter_config.json`,
    /// `adapter_model.safetensors`), into a folder under the output folder.
    public func saveAdapter(_ path: String) { orExit { try writeAdapter(path) } }

    func writeAdapter(_ path: String) throws { try lm.saveAdapter(to: try Session.current.writableURL(path)) }

    /// Puts LoRA adapters saved by `saveAdapter` or by PEFT on this model; then only they train.
    /// The path is read from the working directory, like `Model.load` (an adapter this run saved is
    /// under its output folder: `results/NAME/adapter`).
    public func loadAdapter(_ path: String) { orExit { try readAdapter(path) } }

    func readAdapter(_ path: String) throws {
        try lm.loadAdapter(from: try Session.current.readableURL(path), rng: Session.current.nextModelStream())
    }

    /// Samples a completion of `prompt` (greedy when `temperature` is 0); `chat` wraps the prompt
    /// in the model's chat template.
    public func generate(
        _ prompt: String, maxNewTokens: Int = 64, temperature: Double = 0, topP: Double = 1,
        topK: Int = 0, chat: Bool = false
    ) -> String {
        orExit { try makeGenerated(prompt, maxNewTokens: maxNewTokens, temperature: temperature, topP: topP, topK: topK, chat: chat) }
    }

    func makeGenerated(
        _ prompt: String, maxNewTokens: Int, temperature: Double, topP: Double, topK: Int,
        chat: Bool
    ) throws -> String {
        let ids = chat ? try tokenizer.encodeChat([.user(prompt)], addGenerationPrompt: true) : promptIDs(prompt)
        var params = SamplingParams(
            temperature: Float(temperature), topP: Float(topP), topK: topK,
            maxNewTokens: maxNewTokens, stopTokenIDs: [eosTokenID])
        if temperature == 0 { params = .greedy(maxNewTokens: maxNewTokens, stopTokenIDs: [eosTokenID]) }
        let stream = Session.current.nextSamplingStream()
        let completion = try Tensor.withNoGrad {
            try Generation.generate(model: lm, prompts: [ids], params: params, rng: stream)
        }[0]
        return tokenizer.decode(completion.tokens, skipSpecialTokens: true)
    }

    /// Log-probability of each token of `text` given the ones before it (the first has none).
    public func logprobs(_ text: String) -> [Double] { orExit { try makeLogprobs(text) } }

    func makeLogprobs(_ text: String) throws -> [Double] {
        let ids = promptIDs(text)
        guard ids.count > 1 else { return [] }
        return try Tensor.withNoGrad {
            let logits = try lm.logits(ids: ids, batch: 1, length: ids.count)
            let next = Array(ids.dropFirst()) + [-1]
            let lp = try logProbs(logits, labels: next)
            return lp.data.dropLast().map(Double.init)
        }
    }

    /// Token ids of a prompt: BOS first when the tokenizer has one.
    func promptIDs(_ text: String) -> [Int] {
        (tokenizer.bosTokenID.map { [$0] } ?? []) + tokenizer.encode(text)
    }
}

/// Where `Model.smolLM2()` looks: `RLHF_SMOLLM2_GGUF`, else `.cache/models` in the working directory.
func smolLM2Path() -> URL { CausalLM.smolLM2Path }

/// `1.2M`, `135M`, `12.3K`.
func formatCount(_ n: Int) -> String {
    if n >= 1_000_000 { return Format.fixed(Double(n) / 1e6, 1) + "M" }
    if n >= 1_000 { return Format.fixed(Double(n) / 1e3, 1) + "K" }
    return "\(n)"
}

extension Session {
    /// A fresh stream for the next model (or adapter) the recipe creates: models are numbered in
    /// creation order, so the same recipe and seed give the same weights.
    func nextModelStream() -> RNG { nextStream("model") }

    /// A fresh stream for the next sampling call outside training.
    func nextSamplingStream() -> RNG { nextStream("sample") }

    private func nextStream(_ kind: String) -> RNG {
        let counter = (storage["counter.\(kind)"] as? Counter) ?? Counter()
        storage["counter.\(kind)"] = counter
        counter.value += 1
        return rng.fork("\(kind) \(counter.value)")
    }
}

/// A mutable count kept in `Session.storage`.
final class Counter {
    var value = 0
}

extension Model: CustomStringConvertible {
    /// What `print(model)` shows, in a compiled program as in the interpreter.
    public var description: String { describe() }
}
