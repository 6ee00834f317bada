// SmolLM2's tokenizer and chat template against the token ids and texts that transformers
// produced from the same GGUF file (Tests/Fixtures/smollm2/reference.json).

import FixtureSupport
import Foundation
import Testing
import Tokenizers
import WeightFiles

/// The SmolLM2 GGUF's tokenizer, loaded once for all tests.
enum SmolLM2 {
    static let loaded: Result<(GGUFFile, BPETokenizer), Error> = Result {
        guard let url = Fixtures.smolLM2GGUF, FileManager.default.fileExists(atPath: url.path) else {
            throw MissingModel()
        }
        let file = try GGUFFile(url: url)
        return (file, try file.makeTokenizer())
    }

    struct MissingModel: Error, CustomStringConvertible {
        var description: String {
            "SmolLM2-135M-Instruct.Q4_1.gguf is missing from .cache/models: run scripts/fetch-smollm2 "
                + "(or set RLHF_SMOLLM2_GGUF to the file)"
        }
    }

    /// The tokenizer; throws (failing the test) with the fetch command when the file is missing.
    static func tokenizer() throws -> BPETokenizer { try loaded.get().1 }

    static func file() throws -> GGUFFile { try loaded.get().0 }

    /// The tokenizer as transformers' GGUF loader builds it, which made the reference: it ignores
    /// the file's `smollm` pre-tokenizer and splits with the plain GPT-2 regex (the two differ only
    /// where two or more whitespace characters precede a digit; see `digitsAreSplitOneByOne`).
    static let transformers: Result<BPETokenizer, Error> = Result { try file().makeTokenizer(preTokenizer: .gpt2) }
}

/// One tokenized text of a reference file.
struct ReferenceText {
    var text: String
    var ids: [Int]
}

/// One conversation of a reference file.
struct ReferenceChat {
    var messages: [ChatMessage]
    var templateText: String
    var ids: [Int]
}

func referenceTexts(_ url: URL) throws -> [ReferenceText] {
    let fixture = try Fixtures.load(url)
    let entries = fixture.value("tokenize") as? [[String: Any]] ?? []
    return entries.map { entry in
        ReferenceText(text: entry["text"] as? String ?? "", ids: (entry["ids"] as? [NSNumber] ?? []).map(\.intValue))
    }
}

func referenceChats(_ url: URL) throws -> [ReferenceChat] {
    let fixture = try Fixtures.load(url)
    let entries = fixture.value("chat") as? [[String: Any]] ?? []
    return entries.map { entry in
        var messages: [ChatMessage] = []
        if let list = entry["messages"] as? [[String: Any]] {
            messages = list.map { ChatMessage(role: $0["role"] as? String ?? "", content: $0["content"] as? String ?? "") }
        } else {
            messages = [.user(entry["prompt"] as? String ?? "")]
        }
        return ReferenceChat(
            messages: messages, templateText: entry["template_text"] as? String ?? "",
            ids: (entry["ids"] as? [NSNumber] ?? []).map(\.intValue))
    }
}

@Suite("SmolLM2 reference")
struct SmolLM2ReferenceTests {
    @Test("token ids of every reference text", arguments: Fixtures.smolLM2References)
    func tokenIDsMatchTransformers(reference: URL) throws {
        let tokenizer = try SmolLM2.transformers.get()
        let texts = try referenceTexts(reference)
        #expect(!texts.isEmpty, "\(reference.path) has no 'tokenize' entries")
        for entry in texts {
            let ids = tokenizer.encode(entry.text)
            #expect(ids == entry.ids, "\(reference.lastPathComponent): \(entry.text.debugDescription)")
            #expect(tokenizer.decode(ids) == entry.text)
        }
    }

    @Test("chat template text and ids of every reference conversation", arguments: Fixtures.smolLM2References)
    func chatTemplateMatchesTransformers(reference: URL) throws {
        let tokenizer = try SmolLM2.transformers.get()
        let template = try #require(tokenizer.chatTemplate, "the GGUF's chat template was not recognised as ChatML")
        let chats = try referenceChats(reference)
        #expect(!chats.isEmpty, "\(reference.path) has no 'chat' entries")
        for chat in chats {
            let text = template.render(chat.messages, addGenerationPrompt: true)
            #expect(text == chat.templateText)
            #expect(tokenizer.encode(text) == chat.ids)
            #expect(try tokenizer.encodeChat(chat.messages, addGenerationPrompt: true) == chat.ids)
        }
    }

    @Test func templateFromGGUFIsSmolLM2s() throws {
        let tokenizer = try SmolLM2.tokenizer()
        #expect(tokenizer.chatTemplate == ChatTemplate.smolLM2)
    }

    @Test func specialTokenIDs() throws {
        let tokenizer = try SmolLM2.tokenizer()
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.bosTokenID == 1)
        #expect(tokenizer.eosTokenID == 2)
        #expect(tokenizer.padTokenID == 2)
        #expect(tokenizer.unknownTokenID == 0)
        #expect(tokenizer.preTokenizer == .gpt2IndividualDigits)
        #expect(tokenizer.tokenID("<|im_start|>") == 1)
        #expect(tokenizer.tokenID("<|im_end|>") == 2)
        #expect(tokenizer.isSpecial(2) && !tokenizer.isSpecial(504))
        #expect(tokenizer.encode("<|im_start|><|im_end|><|endoftext|>") == [1, 2, 0])
        #expect(tokenizer.decode([1, 504, 2], skipSpecialTokens: true) == "The")
    }

    @Test func specialTokensSplitWordsWithoutSpaces() throws {
        let tokenizer = try SmolLM2.tokenizer()
        // The marker cuts "Hello" from "world": each side is tokenized on its own.
        let ids = tokenizer.encode("Hello<|im_end|>world")
        #expect(ids == tokenizer.encode("Hello") + [2] + tokenizer.encode("world"))
        // A near miss is ordinary text.
        #expect(!tokenizer.encode("<|im_end>").contains(2))
    }

    @Test func digitsAreSplitOneByOne() throws {
        let tokenizer = try SmolLM2.tokenizer()
        let ids = tokenizer.encode("12345")
        #expect(ids.count == 5)
        #expect(ids.map { tokenizer.tokens[$0] } == ["1", "2", "3", "4", "5"])
        // With isolated digits, whitespace before a digit stays in one word ("ĠĠ"), as SmolLM2's
        // tokenizer.json does; the plain GPT-2 regex leaves one space to join the digit's word.
        let smol = tokenizer.encode("a  1").map { tokenizer.tokens[$0] }
        #expect(smol == ["a", "ĠĠ", "1"])
        let file = try SmolLM2.file()
        let plain = try file.makeTokenizer(preTokenizer: .gpt2)
        #expect(plain.encode("a  1").map { plain.tokens[$0] } == ["a", "Ġ", "Ġ", "1"])
    }

    @Test(
        "UTF-8 round trip",
        arguments: [
            "", "Hello, world!", "  leading spaces and\ttabs\nnewline", "trailing   ", "\n\n\n", "\r\n",
            "I'm sure it's what they'll say, we'd've LL'S", "emoji 👩‍👩‍👧‍👦 🇫🇷 😀!", "日本語のテキスト、中文文本",
            "한국어 텍스트", "e\u{301} combining n\u{303}", "Ünïcödé ǅ ß ﬁ", "math ∑∫√ ≤ 3.14159 × 10⁻³",
            "tabs\t\tand\u{00A0}nbsp\u{2003}em space", "mixed123abc456 7 8 9", "<|im_start|>system\nHi<|im_end|>\n",
            "\u{FEFF}bom", "zero\u{200B}width", "Ω≈ç√∫˜µ≤≥÷", "\u{7F}\u{80}\u{9F}", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈", "\u{10FFFF}",
            "a'b'c ''s 's 'S 'tis", "   ", "x" + String(repeating: "y", count: 300),
        ])
    func roundTrip(text: String) throws {
        let tokenizer = try SmolLM2.tokenizer()
        #expect(tokenizer.decode(tokenizer.encode(text)) == text)
    }

    @Test func bytesTheVocabularyCannotSpellBecomeUnknown() throws {
        // SmolLM2's vocabulary lacks the byte-level symbols of bytes 0x04, 0x06, 0x13, 0x14, 0x16,
        // 0x1D, 0xF1 and 0xF2, so text holding U+0004 or a character in U+40000...U+BFFFF cannot
        // round-trip. Like transformers (unk = <|endoftext|>, fused), such bytes become id 0.
        let tokenizer = try SmolLM2.tokenizer()
        #expect(tokenizer.encode("\u{4}\u{6}") == [0])
        let ids = tokenizer.encode("a\u{4}b")
        #expect(ids.contains(0) && ids.first != 0)
    }

    @Test func encodingIsFastEnough() throws {
        // A loose bound that catches an accidental quadratic, not a benchmark.
        let tokenizer = try SmolLM2.tokenizer()
        let text = String(repeating: "The quick brown fox jumps over the lazy dog 1234. ", count: 2000)
        let start = Date()
        let ids = tokenizer.encode(text)
        #expect(ids.count > 20000)
        #expect(Date().timeIntervalSince(start) < 5)
    }
}
