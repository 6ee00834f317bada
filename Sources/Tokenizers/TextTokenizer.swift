// The tokenizer interface shared by the byte-level BPE tokenizer (real models) and the byte
// tokenizer (synthetic tasks), and the errors both raise.

import Foundation

/// Turns text into token ids and back.
///
/// Two implementations exist: ``BPETokenizer`` (GPT-2 style byte-level BPE, for SmolLM2 and other
/// HuggingFace models) and ``ByteTokenizer`` (one token per UTF-8 byte, for synthetic tasks).
/// Encoding never adds a BOS or EOS token by itself: templates and datasets add them explicitly,
/// as transformers does for SmolLM2.
public protocol TextTokenizer: Sendable {
    /// Number of token ids, the size of the model's embedding table.
    var vocabularySize: Int { get }
    /// The beginning-of-sequence token id, if the tokenizer has one.
    var bosTokenID: Int? { get }
    /// The end-of-sequence token id, if the tokenizer has one.
    var eosTokenID: Int? { get }
    /// The padding token id, if the tokenizer has one.
    var padTokenID: Int? { get }
    /// The chat template that renders a conversation into the text the model was trained on.
    var chatTemplate: ChatTemplate? { get }
    /// The source of a chat template the tokenizer came with but that cannot be rendered (not
    /// ChatML); nil when it has none or `chatTemplate` holds it.
    var unrecognizedChatTemplate: String? { get }

    /// Token ids of `text`. Special tokens written in the text (`<|im_start|>`) become their ids.
    func encode(_ text: String) -> [Int]

    /// The text of `ids`. Byte sequences that are not valid UTF-8 become U+FFFD, ids outside the
    /// vocabulary are skipped, and special tokens are left out when `skipSpecialTokens` is true.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String

    /// The id of the token spelled `token` (in the tokenizer's own spelling), or nil.
    func tokenID(_ token: String) -> Int?

    /// Whether `id` is a special token (`<|im_end|>`, padding, ...).
    func isSpecial(_ id: Int) -> Bool
}

extension TextTokenizer {
    /// The text of `ids`, special tokens included.
    public func decode(_ ids: [Int]) -> String { decode(ids, skipSpecialTokens: false) }

    public var unrecognizedChatTemplate: String? { nil }

    /// The chat template, or the error that says why there is none to use: the tokenizer came
    /// with a template of a kind that is not rendered, or with none at all.
    public func requireChatTemplate() throws -> ChatTemplate {
        if let chatTemplate { return chatTemplate }
        if let jinja = unrecognizedChatTemplate { throw TokenizerError.unsupportedChatTemplate(excerpt: ChatTemplate.excerpt(jinja)) }
        throw TokenizerError.noChatTemplate
    }

    /// Renders `messages` with the tokenizer's chat template and encodes the result.
    ///
    /// - Throws: ``TokenizerError/unsupportedChatTemplate(excerpt:)`` when the tokenizer's
    ///   template is not ChatML, ``TokenizerError/noChatTemplate`` when it has none.
    public func encodeChat(_ messages: [ChatMessage], addGenerationPrompt: Bool = false) throws -> [Int] {
        encode(try requireChatTemplate().render(messages, addGenerationPrompt: addGenerationPrompt))
    }
}

/// What went wrong while loading a tokenizer or applying a template.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A tokenizer file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A `tokenizer.json` is not what HuggingFace `tokenizers` writes.
    case malformedTokenizerJSON(path: String, reason: String)
    /// The tokenizer is of a kind this module does not implement (e.g. SentencePiece `llama`).
    case unsupportedModel(source: String, model: String)
    /// The vocabulary, merges or special-token ids contradict each other.
    case inconsistentVocabulary(source: String, reason: String)
    /// A chat template that is not of the ChatML family.
    case unsupportedChatTemplate(excerpt: String)
    /// A tokenizer without a chat template was asked to render a conversation.
    case noChatTemplate
    /// An input template that Python's `str.format` with one argument would reject.
    case invalidInputTemplate(template: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "\(path): cannot read tokenizer file: \(reason)"
        case .malformedTokenizerJSON(let path, let reason):
            return "\(path): not a HuggingFace tokenizer.json: \(reason). "
                + "Pass the tokenizer.json saved by `tokenizers` / `transformers`, not tokenizer_config.json."
        case .unsupportedModel(let source, let model):
            return "\(source): tokenizer model '\(model)' is not supported; only byte-level BPE "
                + "('gpt2' in GGUF, 'BPE' with a ByteLevel pre-tokenizer in tokenizer.json) is implemented."
        case .inconsistentVocabulary(let source, let reason):
            return "\(source): inconsistent vocabulary: \(reason)"
        case .unsupportedChatTemplate(let excerpt):
            return "the tokenizer's chat template is not ChatML (no '<|im_start|>' role/content pattern) and "
                + "only the ChatML family is implemented; template begins: \(excerpt). "
                + "Write the prompt format yourself: drop applyChatTemplate and give inputTemplate, e.g. "
                + #"inputTemplate: "User: {}\nAssistant: ""#
        case .noChatTemplate:
            return "this tokenizer has no chat template; drop applyChatTemplate and give inputTemplate, e.g. "
                + #"inputTemplate: "User: {}\nAssistant: " (from Swift: ChatTemplate(defaultSystemPrompt:))"#
        case .invalidInputTemplate(let template, let reason):
            return "input template \(template.debugDescription): \(reason). "
                + "Write the prompt's place as {} and literal braces as {{ and }}."
        }
    }
}
