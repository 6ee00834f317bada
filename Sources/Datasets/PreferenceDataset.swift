import Foundation
import Tokenizers

/// Preference pairs for reward models and DPO: a prompt, a chosen and a rejected response.
public typealias PreferenceDataset = Dataset<PreferenceExample>

extension Dataset where Example == PreferenceExample {
    /// Tokenizes preference records, as OpenRLHF's `RewardDataset` reads them.
    ///
    /// - Plain or templated: `promptKey` holds the prompt (nil: no prompt), `chosenKey` and
    ///   `rejectedKey` the two responses.
    /// - Chat: with `promptKey`, the prompt is a conversation (or the user's message) and each
    ///   response a message list (or the assistant's message); without it, `chosenKey` and
    ///   `rejectedKey` hold whole conversations that must agree up to their last message.
    /// - `marginKey`: an optional number per pair (0 when absent).
    ///
    /// Each response ends with EOS; `prompt + response` longer than `maxLen` is cut with EOS kept
    /// last, and a pair whose prompt leaves fewer than 2 tokens is skipped.
    ///
    /// - Throws: ``DatasetError`` naming the file, line and key of a missing or mistyped value.
    public static func load(
        _ records: [Record], tokenizer: any TextTokenizer, format: PromptFormat = .plain,
        promptKey: String? = "prompt", chosenKey: String = "chosen", rejectedKey: String = "rejected",
        marginKey: String? = "margin", maxLen: Int = 2048
    ) throws -> PreferenceDataset {
        try checkMaxLen(maxLen)
        let eos = try eosID(tokenizer)
        var examples: [PreferenceExample] = []
        var skipped: [SkippedRecord] = []
        for record in records {
            let chosen = try promptAndResponse(record, format: format, tokenizer: tokenizer, eos: eos, promptKey: promptKey, responseKey: chosenKey)
            let rejected = try promptAndResponse(
                record, format: format, tokenizer: tokenizer, eos: eos, promptKey: promptKey, responseKey: rejectedKey)
            guard chosen.prompt == rejected.prompt else {
                throw record.invalid(rejectedKey, "the '\(chosenKey)' and '\(rejectedKey)' conversations differ before their last message")
            }
            var margin: Float = 0
            if let marginKey, let value = record.optionalValue(marginKey) {
                guard case .number(let m) = value else { throw record.wrongType(marginKey, expected: "a number", found: value) }
                margin = Float(m)
            }
            if let reason = promptTooLong(chosen.prompt.count, maxLen: maxLen) {
                skipped.append(SkippedRecord(file: record.file, line: record.line, reason: reason))
                continue
            }
            examples.append(
                PreferenceExample(
                    promptIDs: chosen.prompt,
                    chosenIDs: fitResponse(chosen.response, promptLength: chosen.prompt.count, maxLen: maxLen, eos: eos),
                    rejectedIDs: fitResponse(rejected.response, promptLength: chosen.prompt.count, maxLen: maxLen, eos: eos),
                    margin: margin))
        }
        return PreferenceDataset(examples: examples, skipped: skipped)
    }
}

/// The tokenized prompt and EOS-terminated response of one side of a record.
///
/// Chat with `promptKey`: the prompt conversation plus the response messages, the latter trained.
/// Chat without it: `responseKey` holds the whole conversation and its last message is the response.
func promptAndResponse(
    _ record: Record, format: PromptFormat, tokenizer: any TextTokenizer, eos: Int,
    promptKey: String?, responseKey: String
) throws -> (prompt: [Int], response: [Int]) {
    let segments: [Segment]
    switch format {
    case .chat(let template):
        if let promptKey {
            let prompt = try record.conversation(promptKey, role: "user")
            let response = try record.conversation(responseKey, role: "assistant")
            segments = try template.segments(
                prompt + response, trained: Set(prompt.count..<(prompt.count + response.count)),
                record: record, key: responseKey)
        } else {
            let conversation = try record.messages(responseKey)
            guard let last = conversation.last, last.role == "assistant" else {
                throw record.invalid(responseKey, "without a prompt key the conversation must end with the assistant's response")
            }
            segments = try template.segments(conversation, trained: [conversation.count - 1], record: record, key: responseKey)
        }
    case .plain, .template:
        let prompt = try promptKey.map { format.prompt(try record.string($0)) } ?? ""
        segments = [Segment(text: prompt, trained: false), Segment(text: try record.string(responseKey), trained: true)]
    }
    let (ids, mask) = tokenize(segments, tokenizer: tokenizer, eos: eos)
    let split = promptLength(mask)
    return (Array(ids[..<split]), Array(ids[split...]))
}

/// `response` cut so that `promptLength + response.count <= maxLen`, its last id made EOS.
func fitResponse(_ response: [Int], promptLength: Int, maxLen: Int, eos: Int) -> [Int] {
    let room = maxLen - promptLength
    guard response.count > room else { return response }
    var cut = Array(response.prefix(room))
    if !cut.isEmpty { cut[cut.count - 1] = eos }
    return cut
}
