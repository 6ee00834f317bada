import FixtureSupport
import Testing
import Tokenizers
import WeightFiles

/// A GGUF file whose chat template is not ChatML says so, with a hint a recipe can follow; it
/// used to read as "no chat template" with a hint only Swift code could follow.
@Suite struct UnrecognizedChatTemplateTests {
    func tokenizer(chatTemplate: String?) throws -> BPETokenizer {
        var builder = GGUFBuilder()
        builder.add("tokenizer.ggml.model", type: .string, GGUFBuilder.string("gpt2"))
        builder.add("tokenizer.ggml.pre", type: .string, GGUFBuilder.string("gpt-2"))
        builder.addStrings("tokenizer.ggml.tokens", ["a", "b", "ab"])
        builder.addStrings("tokenizer.ggml.merges", ["a b"])
        if let chatTemplate { builder.add("tokenizer.chat_template", type: .string, GGUFBuilder.string(chatTemplate)) }
        return try GGUFFile(bytes: builder.build(), name: "m.gguf").makeTokenizer()
    }

    @Test func aTemplateOfAnotherKindIsReportedAsSuch() throws {
        let llama3 = "{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>{% endfor %}"
        let tok = try tokenizer(chatTemplate: llama3)
        #expect(tok.chatTemplate == nil && tok.unrecognizedChatTemplate == llama3)
        let message = errorText { _ = try tok.encodeChat([.user("hi")]) }
        #expect(message.contains("not ChatML") && message.contains("<|start_header_id|>"), "\(message)")
        #expect(!message.contains("no chat template"), "\(message)")
        #expect(message.contains("drop applyChatTemplate and give inputTemplate"), "\(message)")
    }

    @Test func noTemplateAtAllStillSaysSo() throws {
        let tok = try tokenizer(chatTemplate: nil)
        #expect(tok.unrecognizedChatTemplate == nil)
        let message = errorText { _ = try tok.requireChatTemplate() }
        #expect(message.contains("no chat template") && message.contains("inputTemplate: \"User: {}\\nAssistant: \""), "\(message)")
    }
}
