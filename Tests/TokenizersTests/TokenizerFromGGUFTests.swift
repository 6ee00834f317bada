// The byte-level BPE tokenizer a GGUF file's `tokenizer.*` metadata describes.

import FixtureSupport
import Testing
import Tokenizers
import WeightFiles

@Suite struct TokenizerFromGGUFTests {
    @Test func tokenizerFromGGUFNeedsByteLevelBPE() throws {
        var builder = GGUFBuilder()
        builder.add("tokenizer.ggml.model", type: .string, GGUFBuilder.string("llama"))
        let spm = try GGUFFile(bytes: builder.build(), name: "spm.gguf")
        let message = errorText { _ = try spm.makeTokenizer() }
        #expect(message.contains("spm.gguf") && message.contains("'llama'"))

        var bpe = GGUFBuilder()
        bpe.add("tokenizer.ggml.model", type: .string, GGUFBuilder.string("gpt2"))
        bpe.add("tokenizer.ggml.pre", type: .string, GGUFBuilder.string("qwen2"))
        bpe.addStrings("tokenizer.ggml.tokens", ["a", "b", "ab"])
        bpe.addStrings("tokenizer.ggml.merges", ["a b"])
        let qwen = try GGUFFile(bytes: bpe.build(), name: "qwen.gguf")
        #expect(errorText { _ = try qwen.makeTokenizer() }.contains("qwen2"))
        let forced = try qwen.makeTokenizer(preTokenizer: .gpt2)
        #expect(forced.encode("abba") == [2, 1, 0])
        #expect(forced.chatTemplate == nil && forced.bosTokenID == nil)
    }
}
