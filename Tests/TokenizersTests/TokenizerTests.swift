// The parts of the Tokenizers module that need no model file: the pre-tokenizer, the byte
// tokenizer, templates, tokenizer.json loading and errors.

import Foundation
import Testing
import Tokenizers

@Suite struct PreTokenizerTests {
    func words(_ text: String, _ pre: PreTokenizer = .gpt2) -> [String] {
        let scalars = Array(text.unicodeScalars)
        return pre.split(scalars).map { range in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
    }

    @Test func gpt2RegexCases() {
        #expect(words("Hello, world!") == ["Hello", ",", " world", "!"])
        #expect(
            words("  leading spaces and\ttabs\nnewline")
                == [" ", " leading", " spaces", " and", "\t", "tabs", "\n", "newline"])
        #expect(words("I'm they're we'll it'd") == ["I", "'m", " they", "'re", " we", "'ll", " it", "'d"])
        #expect(words("DON'T") == ["DON", "'", "T"])
        #expect(words("end   ") == ["end", "   "])
        #expect(words("a   b") == ["a", "  ", " b"])
        #expect(words("x\n\ny") == ["x", "\n", "\n", "y"])
        #expect(words("?!? ...") == ["?!?", " ..."])
        #expect(words("abc123 45") == ["abc", "123", " 45"])
        #expect(words("日本語 テキスト") == ["日本語", " テキスト"])
        #expect(words("") == [])
    }

    @Test func individualDigits() {
        #expect(words("abc123 45", .gpt2IndividualDigits) == ["abc", "1", "2", "3", " ", "4", "5"])
        #expect(words("a  1", .gpt2IndividualDigits) == ["a", "  ", "1"])
        #expect(words("a  1", .gpt2) == ["a", " ", " 1"])
        #expect(words("x²", .gpt2IndividualDigits) == ["x", "²"])
    }

    @Test func ggufNames() {
        #expect(PreTokenizer(ggufName: "smollm") == .gpt2IndividualDigits)
        #expect(PreTokenizer(ggufName: "gpt-2") == .gpt2)
        #expect(PreTokenizer(ggufName: "llama-bpe") == nil)
    }

    @Test func byteLevelMapIsABijection() {
        #expect(Set(ByteLevel.characterForByte).count == 256)
        #expect(ByteLevel.characterForByte[Int(UInt8(ascii: " "))] == "Ġ")
        #expect(ByteLevel.characterForByte[Int(UInt8(ascii: "\n"))] == "Ċ")
        let all = (0...255).map { UInt8($0) }
        #expect(ByteLevel.decode(ByteLevel.encode(all)) == all)
    }
}

@Suite struct ByteTokenizerTests {
    let tokenizer = ByteTokenizer()

    @Test func idsAreBytesThenSpecials() {
        #expect(tokenizer.vocabularySize == 261)
        #expect(tokenizer.encode("Az") == [65, 122])
        #expect(tokenizer.encode("é") == [0xC3, 0xA9])
        #expect(tokenizer.padTokenID == 256 && tokenizer.bosTokenID == 257 && tokenizer.eosTokenID == 258)
        #expect(tokenizer.encode("<|im_start|>hi<|im_end|>") == [259, 104, 105, 260])
        #expect(tokenizer.decode([257, 104, 105, 258], skipSpecialTokens: true) == "hi")
        #expect(tokenizer.decode([257, 104, 105, 258]) == "<bos>hi<eos>")
        #expect(tokenizer.tokenID("<eos>") == 258 && tokenizer.tokenID("a") == 97)
    }

    @Test("round trip", arguments: ["", "sort: 3 1 2", "naïve café 👍🏽", "中文", "<pad>x<bos>", "<|im_end", "\u{0}\u{1}"])
    func roundTrip(text: String) {
        #expect(tokenizer.decode(tokenizer.encode(text)) == text)
    }

    @Test func extraSpecials() {
        let custom = ByteTokenizer(extraSpecialTokens: ["<sep>"])
        #expect(custom.vocabularySize == 262)
        #expect(custom.encode("a<sep>b") == [97, 261, 98])
    }

    @Test func invalidUTF8BecomesReplacementCharacter() {
        #expect(tokenizer.decode([0xC3]) == "\u{FFFD}")
        #expect(tokenizer.decode([104, 0xFF, 105]) == "h\u{FFFD}i")
    }

    @Test func chatThroughTheProtocol() throws {
        let ids = try tokenizer.encodeChat([.user("2+2?")], addGenerationPrompt: true)
        #expect(tokenizer.decode(ids) == "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n")
    }
}

@Suite struct ChatTemplateTests {
    @Test func defaultSystemPromptOnlyWhenNoneGiven() {
        let template = ChatTemplate.smolLM2
        let system = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        #expect(template.render([.user("Hi")]) == system + "<|im_start|>user\nHi<|im_end|>\n")
        #expect(
            template.render([.system("Be brief."), .user("Hi")], addGenerationPrompt: true)
                == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(
            template.render([.user("Hi"), .assistant("Hello!"), .user("Bye")])
                == system
                + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n")
        #expect(template.render([], addGenerationPrompt: true) == "<|im_start|>assistant\n")
        #expect(template.render([]) == "")
    }

    @Test func recognisesChatMLJinja() throws {
        let smol =
            "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
        #expect(try ChatTemplate(jinja: smol) == .smolLM2)
        // The same template as tokenizer_config.json escapes it.
        #expect(try ChatTemplate(jinja: smol.replacingOccurrences(of: "\n", with: "\\n")) == .smolLM2)
        let plain =
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
        #expect(try ChatTemplate(jinja: plain).defaultSystemPrompt == nil)
        let qwenLike =
            "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{%- endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
        #expect(try ChatTemplate(jinja: qwenLike).defaultSystemPrompt == "You are a helpful assistant.")
    }

    @Test func rejectsOtherTemplates() {
        let llama3 =
            "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}{% endfor %}"
        #expect(throws: TokenizerError.self) { try ChatTemplate(jinja: llama3) }
        do {
            _ = try ChatTemplate(jinja: llama3)
        } catch {
            #expect("\(error)".contains("ChatML"))
        }
    }
}

@Suite struct InputTemplateTests {
    @Test func appliesLikePythonFormat() throws {
        #expect(try InputTemplate("User: {}\nAssistant: ").apply("2+2?") == "User: 2+2?\nAssistant: ")
        #expect(try InputTemplate("{{json}}: {}").apply("x") == "{json}: x")
        #expect(try InputTemplate("{0} and {0}").apply("a") == "a and a")
        #expect(try InputTemplate("{}").apply("{}") == "{}")
    }

    @Test func rejectsWhatPythonRejects() {
        for bad in ["no field", "{name}", "{} {}", "{} {0}", "open { brace", "close } brace"] {
            #expect(throws: TokenizerError.self, "\(bad)") { try InputTemplate(bad) }
        }
        do {
            _ = try InputTemplate("{prompt}")
        } catch {
            #expect("\(error)".contains("{prompt}"))
        }
    }
}

@Suite struct TokenizerJSONTests {
    /// A tiny byte-level BPE in tokenizer.json form: bytes "a", "b", "Ġ", merges a+b, Ġ+ab.
    func tinyJSON(
        preTokenizer: String = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"#,
        merges: String = #"["a b", "Ġ ab"]"#
    ) -> Data {
        Data(
            """
            {"version":"1.0","added_tokens":[{"id":0,"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
              {"id":6,"content":"<|im_end|>","special":true}],
             "normalizer":null,"pre_tokenizer":\(preTokenizer),
             "model":{"type":"BPE","unk_token":null,"fuse_unk":false,"byte_fallback":false,
                      "vocab":{"<|endoftext|>":0,"a":1,"b":2,"Ġ":3,"ab":4,"Ġab":5,"<|im_end|>":6,"1":7},
                      "merges":\(merges)}}
            """.utf8)
    }

    @Test func loadsVocabularyMergesAndAddedTokens() throws {
        let tokenizer = try BPETokenizer(tokenizerJSONData: tinyJSON())
        #expect(tokenizer.vocabularySize == 8)
        #expect(tokenizer.encode("ab ab<|im_end|>") == [4, 5, 6])
        #expect(tokenizer.encode("ba") == [2, 1])
        #expect(tokenizer.decode([4, 5, 6]) == "ab ab<|im_end|>")
        #expect(tokenizer.isSpecial(6))
        // Characters the vocabulary lacks are dropped without an unk token, as tokenizers does,
        // and their neighbours may then merge.
        #expect(tokenizer.encode("axb") == [4])
    }

    @Test func newMergeFormatAndDigits() throws {
        let digits =
            #"{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]}"#
        let tokenizer = try BPETokenizer(tokenizerJSONData: tinyJSON(preTokenizer: digits, merges: #"[["a","b"],["Ġ","ab"]]"#))
        #expect(tokenizer.preTokenizer == .gpt2IndividualDigits)
        #expect(tokenizer.encode(" ab11") == [5, 7, 7])
    }

    @Test func configurationGivesSpecialsAndTemplate() throws {
        let config = Data(
            #"{"bos_token":"<|endoftext|>","eos_token":{"content":"<|im_end|>"},"pad_token":"<|im_end|>","chat_template":"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"}"#
                .utf8)
        let tokenizer = try BPETokenizer(tokenizerJSONData: tinyJSON(), configurationData: config)
        #expect(tokenizer.bosTokenID == 0 && tokenizer.eosTokenID == 6 && tokenizer.padTokenID == 6)
        #expect(tokenizer.chatTemplate == ChatTemplate(defaultSystemPrompt: nil))
    }

    @Test func loadsFromFilesInADirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try tinyJSON().write(to: directory.appendingPathComponent("tokenizer.json"))
        let tokenizer = try BPETokenizer.load(directory: directory)
        #expect(tokenizer.encode("ab") == [4])
        #expect(tokenizer.chatTemplate == nil)
    }

    @Test func errorsNameTheFileAndTheProblem() throws {
        func error(_ body: () throws -> Void) -> String {
            do {
                try body()
                return ""
            } catch { return "\(error)" }
        }
        let missing = error { _ = try BPETokenizer(tokenizerJSON: URL(fileURLWithPath: "/nonexistent/tokenizer.json")) }
        #expect(missing.contains("/nonexistent/tokenizer.json"))
        let notJSON = error { _ = try BPETokenizer(tokenizerJSONData: Data("{oops".utf8), source: "bad.json") }
        #expect(notJSON.contains("bad.json") && notJSON.contains("invalid JSON"))
        let unigram = error {
            _ = try BPETokenizer(tokenizerJSONData: Data(#"{"model":{"type":"Unigram","vocab":[]}}"#.utf8), source: "t5.json")
        }
        #expect(unigram.contains("t5.json") && unigram.contains("Unigram"))
        let metaspace = error {
            _ = try BPETokenizer(tokenizerJSONData: tinyJSON(preTokenizer: #"{"type":"Metaspace"}"#))
        }
        #expect(metaspace.contains("Metaspace"))
        let badID = error {
            _ = try BPETokenizer(
                tokens: ["a"], merges: [], tokenTypes: [], bosTokenID: 5, eosTokenID: nil, padTokenID: nil,
                unknownTokenID: nil, preTokenizer: .gpt2, source: "x.gguf")
        }
        #expect(badID.contains("x.gguf") && badID.contains("bos id 5"))
    }
}
