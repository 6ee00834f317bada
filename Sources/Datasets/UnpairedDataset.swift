import Foundation
import Tokenizers

/// Unpaired responses labelled desirable or undesirable, for KTO.
public typealias UnpairedDataset = Dataset<UnpairedExample>

extension Dataset where Example == UnpairedExample {
    /// Tokenizes unpaired records, as OpenRLHF's `UnpairedPreferenceDataset` reads them.
    ///
    /// `inputKey` holds the prompt, `outputKey` the response (as for preference data, a chat
    /// conversation without `outputKey` has the response as its last message), and `labelKey`
    /// whether it is desirable: a boolean, or a number 1 / 0.
    ///
    /// - Throws: ``DatasetError`` naming the file, line and key of a missing or mistyped value.
    public static func load(
        _ records: [Record], tokenizer: any TextTokenizer, format: PromptFormat = .plain,
        inputKey: String = "input", outputKey: String? = "output", labelKey: String = "label",
        maxLen: Int = 2048
    ) throws -> UnpairedDataset {
        try checkMaxLen(maxLen)
        let eos = try eosID(tokenizer)
        var examples: [UnpairedExample] = []
        var skipped: [SkippedRecord] = []
        for record in records {
            let label: Bool
            switch try record.value(labelKey) {
            case .bool(let b): label = b
            case .number(let n) where n == 0 || n == 1: label = n == 1
            case let other: throw record.wrongType(labelKey, expected: "a boolean (or 1 / 0)", found: other)
            }
            let pair: (prompt: [Int], response: [Int])
            if let outputKey {
                pair = try promptAndResponse(record, format: format, tokenizer: tokenizer, eos: eos, promptKey: inputKey, responseKey: outputKey)
            } else {
                guard case .chat = format else {
                    throw DatasetError.invalidOption("unpaired data without outputKey needs format .chat (the response is the last message)")
                }
                pair = try promptAndResponse(record, format: format, tokenizer: tokenizer, eos: eos, promptKey: nil, responseKey: inputKey)
            }
            if let reason = promptTooLong(pair.prompt.count, maxLen: maxLen) {
                skipped.append(SkippedRecord(file: record.file, line: record.line, reason: reason))
                continue
            }
            examples.append(
                UnpairedExample(
                    promptIDs: pair.prompt, responseIDs: fitResponse(pair.response, promptLength: pair.prompt.count, maxLen: maxLen, eos: eos),
                    label: label))
        }
        return UnpairedDataset(examples: examples, skipped: skipped)
    }
}
