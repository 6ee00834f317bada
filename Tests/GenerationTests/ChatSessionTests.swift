// A chat session: replies streamed through the chat template, the conversation kept between
// turns, reset, and replies that follow from the seed.

import Generation
import Models
import Tensors
import Testing
import Tokenizers

@Suite struct ChatSessionTests {
    /// A byte-level BPE tokenizer without merges (256 byte tokens, then `<|im_start|>` and
    /// `<|im_end|>`) and a Llama small enough to sample from in a test.
    static func tinyChatModel() throws -> (CausalLM, BPETokenizer) {
        let tokens = ByteLevel.characterForByte.map { String(Character($0)) } + [ChatTemplate.messageStart, ChatTemplate.messageEnd]
        let tokenizer = try BPETokenizer(
            tokens: tokens, merges: [], tokenTypes: Array(repeating: 1, count: 256) + [3, 3],
            bosTokenID: nil, eosTokenID: 257, padTokenID: nil, unknownTokenID: nil, preTokenizer: .gpt2,
            chatTemplate: ChatTemplate(defaultSystemPrompt: nil))
        let model = CausalLM(
            config: .llama(
                vocabSize: tokens.count, hiddenSize: 32, intermediateSize: 48, layers: 1, heads: 4, maxPositions: 512,
                initializerRange: 0.2),
            rng: RNG(seed: 3))
        return (model, tokenizer)
    }

    @Test func repliesAreStreamedRememberedAndFollowTheSeed() throws {
        let (model, tokenizer) = try Self.tinyChatModel()
        var chat = try ChatSession(model: model, tokenizer: tokenizer, system: "Be brief.", temperature: 1, maxNewTokens: 12, seed: 5)
        var streamed: [UInt8] = []
        let first = try chat.send("hi") { streamed += $0 }
        #expect(!first.tokens.isEmpty && first.tokens.count <= 12)
        #expect(chat.messages.map(\.role) == ["system", "user", "assistant"])
        #expect(chat.messages[2].content == String(decoding: streamed, as: UTF8.self))
        #expect(chat.params.stopTokenIDs.contains(257))

        try chat.send("and again?")
        #expect(chat.messages.count == 5)
        chat.reset()
        #expect(chat.messages == [.system("Be brief.")])

        var twin = try ChatSession(model: model, tokenizer: tokenizer, system: "Be brief.", temperature: 1, maxNewTokens: 12, seed: 5)
        #expect(try twin.send("hi").tokens == first.tokens)
    }

    @Test func invalidSamplingSettingsAreRejected() throws {
        let (model, tokenizer) = try Self.tinyChatModel()
        #expect(throws: GenerationError.self) { _ = try ChatSession(model: model, tokenizer: tokenizer, topP: 0) }
    }
}
