// Reading data files: line-numbered errors with the exact text a user sees.

import Datasets
import Foundation
import Testing
import Tokenizers

@Suite struct DataFileTests {
    let tokenizer = ByteTokenizer()

    func error(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    @Test func malformedLineNamesFileAndLine() {
        let text = """
            {"prompt": "a", "chosen": "b", "rejected": "c"}
            {"prompt": "a", "chosen":
            """
        #expect(
            error { _ = try JSONLines.parse(text, file: "data/prefs.jsonl") }
                == #"data/prefs.jsonl:2: malformed JSON: {"prompt": "a", "chosen": (a JSONL file holds one JSON object per line)"#)
    }

    @Test func missingKeyListsTheKeysFound() throws {
        var lines = (1...16).map { _ in #"{"prompt": "p", "chosen": "c", "rejected": "r"}"# }
        lines.append(#"{"prompt": "p", "rejected": "r"}"#)
        let records = try JSONLines.parse(lines.joined(separator: "\n"), file: "data/prefs.jsonl")
        #expect(
            error { _ = try PreferenceDataset.load(records, tokenizer: tokenizer) }
                == "data/prefs.jsonl:17: key 'chosen' missing (found keys: prompt, rejected)")
    }

    @Test func wrongTypeSaysWhatWasExpectedAndFound() throws {
        let text = """
            {"prompt": "p", "chosen": "c", "rejected": "r", "margin": 0.5}

            {"prompt": "p", "chosen": "c", "rejected": "r", "margin": "high"}
            """
        let records = try JSONLines.parse(text, file: "data/prefs.jsonl")
        #expect(records.map(\.line) == [1, 3])
        #expect(
            error { _ = try PreferenceDataset.load(records, tokenizer: tokenizer) }
                == #"data/prefs.jsonl:3: key 'margin' should be a number, found a string "high""#)
        let sft = try JSONLines.parse(#"{"input": "q", "output": 42}"#, file: "sft.jsonl")
        #expect(error { _ = try SFTDataset.load(sft, tokenizer: tokenizer) } == "sft.jsonl:1: key 'output' should be a string, found a number 42")
        let kto = try JSONLines.parse(#"{"input": "q", "output": "a", "label": "yes"}"#, file: "kto.jsonl")
        #expect(
            error { _ = try UnpairedDataset.load(kto, tokenizer: tokenizer) }
                == #"kto.jsonl:1: key 'label' should be a boolean (or 1 / 0), found a string "yes""#)
    }

    @Test func numbersAndBooleansStayApart() throws {
        let records = try JSONLines.parse(#"{"a": 1, "b": 0, "c": true, "d": 2.5, "e": [false, null], "f": {"g": "h"}}"#, file: "x.jsonl")
        #expect(
            records[0].fields == [
                "a": .number(1), "b": .number(0), "c": .bool(true), "d": .number(2.5),
                "e": .array([.bool(false), .null]), "f": .object(["g": .string("h")]),
            ])
    }

    @Test func nullIsReportedAsNull() throws {
        let records = try JSONLines.parse(#"{"input": null, "output": "a"}"#, file: "sft.jsonl")
        #expect(error { _ = try SFTDataset.load(records, tokenizer: tokenizer) } == "sft.jsonl:1: key 'input' should be a value, found null")
    }

    @Test func recordMustBeAnObject() {
        #expect(error { _ = try JSONLines.parse("[1, 2]\n", file: "x.jsonl") } == "x.jsonl:1: expected a JSON object, found a number 1")
        #expect(error { _ = try JSONLines.parse("{}\n\"text\"\n", file: "x.jsonl") } == #"x.jsonl:2: expected a JSON object, found a string "text""#)
    }

    @Test func jsonArrayElementsKeepTheirLines() throws {
        let text = """
            [
              {"input": "a", "output": "b"},
              {"input": "c",
               "output": "d"},
              {"input": "e", "output": [1]}
            ]
            """
        let records = try JSONLines.parse(text, file: "data/sft.json")
        #expect(records.map(\.line) == [2, 3, 5])
        #expect(
            error { _ = try SFTDataset.load(records, tokenizer: tokenizer) } == "data/sft.json:5: key 'output' should be a string, found a list of 1")
        #expect(
            error { _ = try JSONLines.parse("[\n{\"a\": 1},\n{\"a\": }\n]", file: "b.json") }
                == #"b.json:3: malformed JSON: {"a": } (a JSONL file holds one JSON object per line)"#)
        #expect(
            error { _ = try JSONLines.parse("[{\"a\": 1},\n", file: "c.json") }
                == "c.json:2: malformed JSON: the JSON array is not closed with ']' (a JSONL file holds one JSON object per line)")
        #expect(try JSONLines.parse(" [ ] ", file: "d.json").isEmpty)
    }

    @Test func filesRoundTripAndUnreadableFilesAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("datasets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("sft.jsonl").path
        let records = [Record(["input": "a", "output": "b", "n": 3]), Record(["input": "c", "output": .array([.bool(true), .null])])]
        try JSONLines.write(records, to: path)
        #expect(
            try String(contentsOfFile: path, encoding: .utf8)
                == "{\"input\":\"a\",\"n\":3,\"output\":\"b\"}\n{\"input\":\"c\",\"output\":[true,null]}\n")
        let read = try JSONLines.read(path)
        #expect(read.map(\.fields) == records.map(\.fields))
        #expect(read.map(\.line) == [1, 2])
        #expect(read[0].file == path)
        let missing = dir.appendingPathComponent("none.jsonl").path
        #expect(error { _ = try JSONLines.read(missing) }?.hasPrefix("\(missing): cannot read data file:") == true)
    }

    @Test func messagesAreChecked() throws {
        let records = try JSONLines.parse(#"{"input": [{"role": "user", "text": "hi"}], "output": "a"}"#, file: "chat.jsonl")
        #expect(
            error { _ = try SFTDataset.load(records, tokenizer: tokenizer, format: .chat(ChatTemplate(defaultSystemPrompt: nil))) }
                == "chat.jsonl:1: key 'input[0]': message needs a string 'content' (found keys: role, text)")
    }

    @Test func formatOptionsResolveAsOpenRLHFs() throws {
        #expect(try PromptFormat.resolve(tokenizer: tokenizer) == .plain)
        #expect(try PromptFormat.resolve(inputTemplate: "Q: {}\nA: ", tokenizer: tokenizer) == .template(InputTemplate("Q: {}\nA: ")))
        #expect(try PromptFormat.resolve(applyChatTemplate: true, tokenizer: tokenizer) == .chat(tokenizer.chatTemplate!))
        #expect(throws: DatasetError.self) { try PromptFormat.resolve(inputTemplate: "{}", applyChatTemplate: true, tokenizer: tokenizer) }
        #expect(throws: DatasetError.self) {
            try PromptFormat.resolve(applyChatTemplate: true, tokenizer: ByteTokenizer(chatTemplate: nil))
        }
    }
}
