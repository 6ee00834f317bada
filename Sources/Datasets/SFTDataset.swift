import Foundation
import Tokenizers

/// Supervised fine-tuning data: prompt/response pairs, chat conversations or raw text.
public typealias SFTDataset = Dataset<SFTExample>

extension Dataset where Example == SFTExample {
    /// Tokenizes SFT records, as OpenRLHF's `SFTDataset` (v0.7.0) reads them.
    ///
    /// - Plain or templated: `inputKey` holds the prompt (put through the format), `outputKey` the
    ///   response. The response and the EOS appended after it are trained.
    /// - Chat (`format: .chat`): `inputKey` holds a conversation (or a string, the user's message)
    ///   and `outputKey` the response (a string, the assistant's message, or messages). Without
    ///   `outputKey`, the last message of `inputKey` is the response. With `multiturn`, every
    ///   assistant message of the conversation is trained.
    /// - `pretrainMode`: `inputKey` holds raw text; every token is trained, no EOS is added.
    ///
    /// The loss mask covers every response token including the first one and the EOS (OpenRLHF
    /// v0.7.0 dropped the first, issue #973). Sequences longer than `maxLen` are cut with EOS kept
    /// last; a record whose prompt leaves fewer than 2 tokens, or whose response is empty, is
    /// skipped and listed in ``Dataset/skipped``.
    ///
    /// ```swift
    /// let data = try SFTDataset.load(JSONLines.read("data/sft.jsonl"), tokenizer: ByteTokenizer(),
    ///                                format: .template(InputTemplate("Q: {}\nA: ")), maxLen: 256)
    /// ```
    /// - Throws: ``DatasetError`` naming the file, line and key of a missing or mistyped value.
    public static func load(
        _ records: [Record], tokenizer: any TextTokenizer, format: PromptFormat = .plain,
        inputKey: String = "input", outputKey: String? = "output", multiturn: Bool = false,
        pretrainMode: Bool = false, maxLen: Int = 2048
    ) throws -> SFTDataset {
        try checkMaxLen(maxLen)
        let eos = try eosID(tokenizer)
        var examples: [SFTExample] = []
        var skipped: [SkippedRecord] = []
        for record in records {
            if pretrainMode {
                var ids = tokenizer.encode(try record.string(inputKey))
                if ids.count > maxLen { ids.removeLast(ids.count - maxLen) }
                examples.append(SFTExample(ids: ids, lossMask: [Float](repeating: 1, count: ids.count)))
                continue
            }
            let segments: [Segment]
            if case .chat(let template) = format {
                segments = try chatSegments(record, template: template, inputKey: inputKey, outputKey: outputKey, multiturn: multiturn)
            } else {
                let prompt = format.prompt(try record.string(inputKey))
                guard let outputKey else {
                    throw DatasetError.invalidOption("SFT without outputKey needs format .chat (the response is the last message) or pretrainMode")
                }
                let response = try record.string(outputKey)
                segments = [Segment(text: prompt, trained: false), Segment(text: response, trained: true)]
            }
            guard segments.contains(where: { $0.trained && !$0.text.trimmingCharacters(in: .newlines).isEmpty }) else {
                skipped.append(SkippedRecord(file: record.file, line: record.line, reason: "empty response"))
                continue
            }
            var (ids, mask) = tokenize(segments, tokenizer: tokenizer, eos: eos)
            if let reason = promptTooLong(promptLength(mask), maxLen: maxLen) {
                skipped.append(SkippedRecord(file: record.file, line: record.line, reason: reason))
                continue
            }
            truncateKeepingEOS(&ids, &mask, maxLen: maxLen, eos: eos)
            examples.append(SFTExample(ids: ids, lossMask: mask))
        }
        return SFTDataset(examples: examples, skipped: skipped)
    }

    /// The pieces of a chat record: which messages are trained depends on `outputKey` and `multiturn`.
    static func chatSegments(
        _ record: Record, template: ChatTemplate, inputKey: String, outputKey: String?,
        multiturn: Bool
    ) throws -> [Segment] {
        var messages = try record.conversation(inputKey, role: "user")
        var responseStart = messages.count - 1
        if let outputKey, record.optionalValue(outputKey) != nil || !multiturn {
            let response = try record.conversation(outputKey, role: "assistant")
            responseStart = messages.count
            messages += response
        }
        guard !messages.isEmpty, responseStart >= 0, responseStart < messages.count else {
            throw record.invalid(inputKey, "the conversation has no response message")
        }
        let trained: Set<Int>
        if multiturn {
            trained = Set(messages.indices.filter { messages[$0].role == "assistant" })
            guard !trained.isEmpty else { throw record.invalid(inputKey, "multiturn conversation has no assistant message") }
        } else {
            if outputKey == nil, messages[responseStart].role != "assistant" {
                throw record.invalid(
                    inputKey, "the last message is the response and must be the assistant's, found role '\(messages[responseStart].role)'")
            }
            trained = Set(responseStart..<messages.count)
        }
        return try template.segments(messages, trained: trained, record: record, key: inputKey)
    }
}
