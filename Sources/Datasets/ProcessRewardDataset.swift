import Foundation
import Tokenizers

/// Process-reward data: texts whose steps end with a placeholder token, one label per step.
public typealias ProcessRewardDataset = Dataset<ProcessRewardExample>

extension Dataset where Example == ProcessRewardExample {
    /// Tokenizes process-reward records, as OpenRLHF's `ProcessRewardDataset` reads them.
    ///
    /// `inputKey` holds the text with `placeholderToken` after each step; `labelKey` a list with
    /// one entry per placeholder: reward tokens (strings such as "+" / "-", each one token and, when
    /// `rewardTokens` is given, one of them) or probabilities (numbers in [0, 1]). Texts longer than
    /// `maxLen` are cut and keep the labels of the placeholders that remain.
    ///
    /// - Throws: ``DatasetError`` for a placeholder or reward token that is not one token, a label
    ///   list whose length differs from the number of placeholders, or a mistyped label.
    public static func load(
        _ records: [Record], tokenizer: any TextTokenizer, placeholderToken: String,
        rewardTokens: [String]? = nil, inputKey: String = "input", labelKey: String = "label",
        maxLen: Int = 2048
    ) throws -> ProcessRewardDataset {
        guard maxLen >= 1 else { throw DatasetError.invalidOption("maxLen must be at least 1, got \(maxLen)") }
        let placeholder = try singleTokenID(placeholderToken, tokenizer: tokenizer, role: "placeholderToken")
        let allowed = try rewardTokens.map { try $0.map { try singleTokenID($0, tokenizer: tokenizer, role: "rewardTokens") } }
        var examples: [ProcessRewardExample] = []
        for record in records {
            var ids = tokenizer.encode(try record.string(inputKey))
            let placeholders = ids.filter { $0 == placeholder }.count
            let value = try record.value(labelKey)
            guard case .array(let items) = value else { throw record.wrongType(labelKey, expected: "a list of labels", found: value) }
            guard items.count == placeholders else {
                throw record.invalid(
                    labelKey, "\(items.count) labels for \(placeholders) placeholder tokens \(placeholderToken.debugDescription) in '\(inputKey)'")
            }
            var labels: StepLabels
            if items.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
                labels = .tokens(
                    try items.enumerated().map { index, item in
                        guard case .string(let s) = item, let id = tokenID(s, tokenizer: tokenizer) else {
                            throw record.invalid("\(labelKey)[\(index)]", "label \(item.kindDescription) is not a single token")
                        }
                        if let allowed, !allowed.contains(id) {
                            throw record.invalid(
                                "\(labelKey)[\(index)]", "label \(s.debugDescription) is not one of the reward tokens \(rewardTokens ?? [])")
                        }
                        return id
                    })
            } else {
                labels = .probabilities(
                    try items.enumerated().map { index, item in
                        guard case .number(let p) = item else {
                            throw record.wrongType("\(labelKey)[\(index)]", expected: "a number like the other labels (or all strings)", found: item)
                        }
                        guard (0...1).contains(p) else { throw record.invalid("\(labelKey)[\(index)]", "probability \(p) is not in [0, 1]") }
                        return Float(p)
                    })
            }
            if ids.count > maxLen {
                ids.removeLast(ids.count - maxLen)
                let kept = ids.filter { $0 == placeholder }.count
                switch labels {
                case .tokens(let t): labels = .tokens(Array(t.prefix(kept)))
                case .probabilities(let p): labels = .probabilities(Array(p.prefix(kept)))
                }
            }
            examples.append(ProcessRewardExample(ids: ids, labels: labels, placeholderTokenID: placeholder))
        }
        return ProcessRewardDataset(examples: examples)
    }
}

/// The id of `token` when the tokenizer spells it as one token.
func tokenID(_ token: String, tokenizer: any TextTokenizer) -> Int? {
    if let id = tokenizer.tokenID(token) { return id }
    let ids = tokenizer.encode(token)
    return ids.count == 1 ? ids[0] : nil
}

func singleTokenID(_ token: String, tokenizer: any TextTokenizer, role: String) throws -> Int {
    guard let id = tokenID(token, tokenizer: tokenizer) else {
        throw DatasetError.invalidOption(
            "\(role) \(token.debugDescription) is not a single token of the tokenizer (it encodes to \(tokenizer.encode(token)))")
    }
    return id
}
