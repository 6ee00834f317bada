import Models
import Tensors
import Tokenizers

/// A conversation with a model through its chat template, each reply sampled with KV cache and
/// streamed token by token (what `rlhf chat` runs).
///
/// Turn `n` samples from `RNG(seed: seed).fork("turn n")`, so the same seed and messages give the
/// same replies. Replies stop at the model's EOS ids, the tokenizer's EOS and `<|im_end|>`.
///
/// ```swift
/// var chat = try ChatSession(model: lm, tokenizer: tokenizer, temperature: 0)
/// let completion = try chat.send("What is the capital of France?") { bytes in print(bytes) }
/// ```
public struct ChatSession {
    public let model: CausalLM
    public let tokenizer: BPETokenizer
    /// The tokenizer's template, or a ChatML one without a default system prompt.
    public let template: ChatTemplate
    public let params: SamplingParams
    /// The system prompt every conversation starts with (nil: the template's own).
    public let system: String?
    /// The conversation so far, system prompt first.
    public private(set) var messages: [ChatMessage]
    private let rng: RNG
    private var turn = 0

    /// - Throws: ``GenerationError`` for invalid sampling settings.
    public init(
        model: CausalLM, tokenizer: BPETokenizer, system: String? = nil, temperature: Float = 0.2, topP: Float = 0.9,
        maxNewTokens: Int = 256, seed: UInt64 = 0
    ) throws {
        var stopIDs = model.config.eosTokenIDs
        for id in [tokenizer.eosTokenID, tokenizer.tokenID(ChatTemplate.messageEnd)].compactMap({ $0 }) where !stopIDs.contains(id) {
            stopIDs.append(id)
        }
        params = SamplingParams(temperature: temperature, topP: topP, maxNewTokens: maxNewTokens, stopTokenIDs: stopIDs)
        try params.validate()
        self.model = model
        self.tokenizer = tokenizer
        self.template = tokenizer.chatTemplate ?? ChatTemplate(defaultSystemPrompt: nil)
        self.system = system
        self.messages = system.map { [.system($0)] } ?? []
        self.rng = RNG(seed: seed)
    }

    /// Forgets the conversation (the system prompt stays).
    public mutating func reset() {
        messages = system.map { [.system($0)] } ?? []
    }

    /// Adds the user's message, samples the reply and adds it to the conversation.
    ///
    /// - Parameter onBytes: Called with the UTF-8 bytes of each reply token as it is sampled
    ///   (special tokens are not shown).
    /// - Returns: The reply's completion; its `finishReason` is `.length` when it hit `maxNewTokens`.
    @discardableResult
    public mutating func send(_ text: String, onBytes: ([UInt8]) -> Void = { _ in }) throws -> Completion {
        messages.append(.user(text))
        let prompt = tokenizer.encode(template.render(messages, addGenerationPrompt: true))
        let tokenizer = self.tokenizer
        var reply: [Int] = []
        let completion = try withoutActuallyEscaping(onBytes) { onBytes in
            try generate(model: model, prompts: [prompt], params: params, rng: rng.fork("turn \(turn)")) { _, token in
                reply.append(token)
                if !tokenizer.isSpecial(token), let bytes = tokenizer.bytes(of: token) { onBytes(bytes) }
            }[0]
        }
        messages.append(.assistant(tokenizer.decode(reply, skipSpecialTokens: true)))
        turn += 1
        return completion
    }
}
