import Foundation
import Tokenizers

/// Prompts for online RL (PPO, GRPO, REINFORCE++, RLOO) and for evaluation.
public typealias PromptDataset = Dataset<PromptExample>

extension Dataset where Example == PromptExample {
    /// Reads prompt records, as OpenRLHF's `PromptDataset` does.
    ///
    /// `inputKey` holds the prompt (for chat, a conversation or the user's message, rendered with
    /// the generation prompt); `labelKey` an optional reference answer (a string or a number)
    /// for the reward function; `datasourceKey` an optional source name ("default" when absent).
    /// Prompts longer than `promptMaxLen` keep their last tokens, so a chat prompt keeps the
    /// generation prompt the model answers after.
    ///
    /// - Throws: ``DatasetError`` naming the file, line and key of a missing or mistyped value.
    public static func load(
        _ records: [Record], tokenizer: any TextTokenizer, format: PromptFormat = .plain,
        inputKey: String = "input", labelKey: String? = "label", datasourceKey: String = "datasource",
        promptMaxLen: Int? = nil
    ) throws -> PromptDataset {
        var examples: [PromptExample] = []
        for record in records {
            let text: String
            if case .chat(let template) = format {
                text = template.render(try record.conversation(inputKey, role: "user"), addGenerationPrompt: true)
            } else {
                text = format.prompt(try record.string(inputKey))
            }
            var ids = tokenizer.encode(text)
            if let promptMaxLen, ids.count > promptMaxLen { ids.removeFirst(ids.count - promptMaxLen) }
            var label = ""
            if let labelKey, let value = record.optionalValue(labelKey) {
                switch value {
                case .string(let s): label = s
                case .number(let n): label = n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
                default: throw record.wrongType(labelKey, expected: "a string or a number", found: value)
                }
            }
            var datasource = "default"
            if let value = record.optionalValue(datasourceKey) {
                guard case .string(let s) = value else { throw record.wrongType(datasourceKey, expected: "a string", found: value) }
                datasource = s
            }
            examples.append(PromptExample(text: text, ids: ids, label: label, datasource: datasource))
        }
        return PromptDataset(examples: examples)
    }
}
