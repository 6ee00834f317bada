// Loss masks, truncation and the dataset kinds, with the byte tokenizer (ids are bytes; 258 is EOS).

import Datasets
import Foundation
import Testing
import Tokenizers

@Suite struct TokenizedDatasetTests {
    let tokenizer = ByteTokenizer()
    let eos = 258
    let chatML = ChatTemplate(defaultSystemPrompt: nil)

    func bytes(_ s: String) -> [Int] { Array(s.utf8).map(Int.init) }

    /// The decoded runs of trained tokens.
    func trainedSpans(_ e: SFTExample) -> [String] {
        var spans: [[Int]] = []
        var open = false
        for (id, m) in zip(e.ids, e.lossMask) {
            if m != 0 { if !open { spans.append([]) }; spans[spans.count - 1].append(id) }
            open = m != 0
        }
        return spans.map { tokenizer.decode($0) }
    }

    @Test func firstResponseTokenAndEOSAreTrained() throws {
        let data = try SFTDataset.load([Record(["input": "ab", "output": "cd\n"])], tokenizer: tokenizer)
        #expect(data.examples == [SFTExample(ids: bytes("abcd") + [eos], lossMask: [0, 0, 1, 1, 1])])
    }

    @Test func inputTemplateFormatsThePrompt() throws {
        let data = try SFTDataset.load(
            [Record(["input": "2+2", "output": "4"])], tokenizer: tokenizer,
            format: .template(InputTemplate("Q: {}\nA: ")))
        #expect(data[0].ids == bytes("Q: 2+2\nA: 4") + [eos])
        #expect(data[0].lossMask == [Float](repeating: 0, count: 10) + [1, 1])
    }

    @Test func truncationKeepsEOSLast() throws {
        let sft = try SFTDataset.load([Record(["input": "abc", "output": "defghij"])], tokenizer: tokenizer, maxLen: 6)
        #expect(sft[0].ids == bytes("abcde") + [eos])
        #expect(sft[0].lossMask == [0, 0, 0, 1, 1, 1])
        let prefs = try PreferenceDataset.load([Record(["prompt": "abc", "chosen": "defg", "rejected": "x"])], tokenizer: tokenizer, maxLen: 6)
        #expect(prefs[0].promptIDs == bytes("abc"))
        #expect(prefs[0].chosenIDs == bytes("de") + [eos])
        #expect(prefs[0].rejectedIDs == bytes("x") + [eos])
        let unpaired = try UnpairedDataset.load([Record(["input": "abc", "output": "defg", "label": 1])], tokenizer: tokenizer, maxLen: 6)
        try #require(unpaired.count == 1)
        #expect(unpaired[0].responseIDs == bytes("de") + [eos] && unpaired[0].label)
    }

    @Test func promptsTooLongAreSkippedAndReported() throws {
        let records = [
            Record(["input": "abcd", "output": "x"], file: "s.jsonl", line: 1),
            Record(["input": "ab", "output": "x"], file: "s.jsonl", line: 2),
            Record(["input": "ab", "output": ""], file: "s.jsonl", line: 3),
        ]
        let data = try SFTDataset.load(records, tokenizer: tokenizer, maxLen: 5)
        #expect(data.count == 1)
        #expect(
            data.skipped == [
                SkippedRecord(file: "s.jsonl", line: 1, reason: "prompt of 4 tokens leaves fewer than 2 tokens for the response within maxLen 5"),
                SkippedRecord(file: "s.jsonl", line: 3, reason: "empty response"),
            ])
    }

    @Test func pretrainModeTrainsEveryToken() throws {
        let data = try SFTDataset.load([Record(["input": "hello"])], tokenizer: tokenizer, pretrainMode: true, maxLen: 4)
        #expect(data[0] == SFTExample(ids: bytes("hell"), lossMask: [1, 1, 1, 1]))
    }

    @Test func chatTrainsTheAssistantReply() throws {
        let data = try SFTDataset.load([Record(["input": "hi", "output": "yo"])], tokenizer: tokenizer, format: .chat(chatML))
        #expect(tokenizer.decode(data[0].ids) == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|><eos>")
        #expect(trainedSpans(data[0]) == ["yo<|im_end|><eos>"])
    }

    @Test func multiturnTrainsEveryAssistantTurn() throws {
        let conversation: JSONValue = .array([
            ["role": "system", "content": "be brief"], ["role": "user", "content": "u1"], ["role": "assistant", "content": "a1"],
            ["role": "user", "content": "u2"], ["role": "assistant", "content": "a2"],
        ])
        let record = Record(["messages": conversation])
        let all = try SFTDataset.load([record], tokenizer: tokenizer, format: .chat(chatML), inputKey: "messages", outputKey: nil, multiturn: true)
        #expect(
            tokenizer.decode(all[0].ids)
                == "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nu1<|im_end|>\n<|im_start|>assistant\na1<|im_end|>\n<|im_start|>user\nu2<|im_end|>\n<|im_start|>assistant\na2<|im_end|><eos>"
        )
        #expect(trainedSpans(all[0]) == ["a1<|im_end|>\n", "a2<|im_end|><eos>"])
        let last = try SFTDataset.load([record], tokenizer: tokenizer, format: .chat(chatML), inputKey: "messages", outputKey: nil)
        #expect(trainedSpans(last[0]) == ["a2<|im_end|><eos>"])
        #expect(last[0].ids == all[0].ids)
    }

    @Test func chatPreferencesShareThePrompt() throws {
        let chosen: JSONValue = .array([["role": "user", "content": "q"], ["role": "assistant", "content": "good"]])
        let rejected: JSONValue = .array([["role": "user", "content": "q"], ["role": "assistant", "content": "bad"]])
        let data = try PreferenceDataset.load(
            [Record(["chosen": chosen, "rejected": rejected])], tokenizer: tokenizer,
            format: .chat(chatML), promptKey: nil)
        try #require(data.count == 1)
        #expect(tokenizer.decode(data[0].promptIDs) == "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n")
        #expect(tokenizer.decode(data[0].chosenIDs) == "good<|im_end|><eos>")
        #expect(tokenizer.decode(data[0].rejectedIDs) == "bad<|im_end|><eos>")
        let other: JSONValue = .array([["role": "user", "content": "other"], ["role": "assistant", "content": "bad"]])
        #expect(throws: DatasetError.self) {
            try PreferenceDataset.load([Record(["chosen": chosen, "rejected": other])], tokenizer: tokenizer, format: .chat(chatML), promptKey: nil)
        }
    }

    @Test func promptsCarryLabelAndDatasource() throws {
        let records = [Record(["input": "1+1=", "label": 2]), Record(["input": "x", "label": "y", "datasource": "math"])]
        let plain = try PromptDataset.load(records, tokenizer: tokenizer)
        #expect(plain.map(\.label) == ["2", "y"])
        #expect(plain.map(\.datasource) == ["default", "math"])
        #expect(plain[0].ids == bytes("1+1="))
        let chat = try PromptDataset.load(records, tokenizer: tokenizer, format: .chat(chatML), promptMaxLen: 12)
        #expect(chat[1].text == "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n")
        #expect(tokenizer.decode(chat[1].ids) == "\n<|im_start|>assistant\n", "left truncation keeps the generation prompt")
    }

    @Test func processRewardLabelsFollowPlaceholders() throws {
        let records = [Record(["input": "q=1#2#3#", "label": ["+", "+", "-"]]), Record(["input": "q=1#2#", "label": [0.9, 0.25]])]
        let data = try ProcessRewardDataset.load(records, tokenizer: tokenizer, placeholderToken: "#", rewardTokens: ["+", "-"], maxLen: 6)
        try #require(data.count == 2)
        #expect(data[0].ids == bytes("q=1#2#"))
        #expect(data[0].labels == .tokens([43, 43]), "the label of the cut placeholder is dropped")
        #expect(data[1].labels == .probabilities([0.9, 0.25]))
        #expect(throws: DatasetError.self) {
            try ProcessRewardDataset.load([Record(["input": "a#b#", "label": ["+"]])], tokenizer: tokenizer, placeholderToken: "#")
        }
        #expect(throws: DatasetError.self) {
            try ProcessRewardDataset.load(
                [Record(["input": "a#", "label": ["?"]])], tokenizer: tokenizer, placeholderToken: "#", rewardTokens: ["+", "-"])
        }
        let batch = ProcessRewardBatch([data[0]], padTokenID: 256)
        #expect(batch.tokenLabels == [-100, -100, -100, 43, -100, 43])
        #expect(batch.rows.lossMask == [0, 0, 0, 1, 0, 1])
    }
}
