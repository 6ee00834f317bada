import Foundation
import Tokenizers

// How records become model text, and text becomes ids with a loss mask: OpenRLHF's
// `input_template` and `apply_chat_template`, tokenized piece by piece so the boundary between
// prompt and response is exact.

/// How a prompt (or a conversation) is turned into the text the model reads.
public enum PromptFormat: Sendable, Equatable {
    /// The prompt text as written in the data.
    case plain
    /// OpenRLHF's `input_template`: the prompt put in the template's `{}`.
    case template(InputTemplate)
    /// OpenRLHF's `apply_chat_template`: prompts and responses are messages rendered by the template.
    case chat(ChatTemplate)

    /// The format OpenRLHF's options select: `applyChatTemplate` uses `tokenizerChatTemplate` or
    /// the tokenizer's own; else `inputTemplate` when given; else plain text.
    ///
    /// - Throws: ``DatasetError/invalidOption(_:)`` when both a template and the chat template
    ///   are asked for, or the tokenizer has no chat template or one that is not ChatML; a
    ///   tokenizer error for a template
    ///   without `{}`.
    public static func resolve(
        inputTemplate: String? = nil, applyChatTemplate: Bool = false,
        tokenizerChatTemplate: ChatTemplate? = nil, tokenizer: any TextTokenizer
    ) throws -> PromptFormat {
        if applyChatTemplate {
            if let inputTemplate {
                throw DatasetError.invalidOption(
                    "inputTemplate \(inputTemplate.debugDescription) and applyChatTemplate are both set; the chat template already formats the prompt — drop one"
                )
            }
            if let tokenizerChatTemplate { return .chat(tokenizerChatTemplate) }
            do {
                return .chat(try tokenizer.requireChatTemplate())
            } catch {
                throw DatasetError.invalidOption("applyChatTemplate is set but \(error)")
            }
        }
        if let inputTemplate { return .template(try InputTemplate(inputTemplate)) }
        return .plain
    }

    /// The prompt text for a plain string prompt.
    func prompt(_ text: String) -> String {
        switch self {
        case .plain: return text
        case .template(let t): return t.apply(text)
        case .chat(let c): return c.render([.user(text)], addGenerationPrompt: true)
        }
    }
}

/// A piece of model text and whether its tokens are trained.
struct Segment {
    var text: String
    var trained: Bool
}

extension ChatTemplate {
    /// The pieces of `messages` rendered by the template, with the messages at `trained` (their
    /// content, end marker and trailing newline) trained and everything else (system, user turns,
    /// role headers) not.
    func segments(_ messages: [ChatMessage], trained: Set<Int>, record: Record, key: String) throws -> [Segment] {
        var segments: [Segment] = []
        var done = ""
        for index in messages.indices where trained.contains(index) {
            let prefix = render(Array(messages[..<index]), addGenerationPrompt: true)
            let full = render(Array(messages[...index]))
            guard prefix.hasPrefix(done), full.hasPrefix(prefix) else {
                throw record.invalid(key, "the chat template does not render message \(index) after the ones before it")
            }
            segments.append(Segment(text: String(prefix.dropFirst(done.count)), trained: false))
            segments.append(Segment(text: String(full.dropFirst(prefix.count)), trained: true))
            done = full
        }
        let all = render(messages)
        guard all.hasPrefix(done) else { throw record.invalid(key, "the chat template does not render the conversation consistently") }
        segments.append(Segment(text: String(all.dropFirst(done.count)), trained: false))
        return segments
    }
}

/// Token ids and loss mask of `segments`, each tokenized on its own, with trailing newlines of the
/// whole text removed (as OpenRLHF's `rstrip("\n")`) and EOS appended unless the text already
/// ends with it (OpenRLHF appends `" " + eos_token` to the text; here the id is appended).
func tokenize(_ segments: [Segment], tokenizer: any TextTokenizer, eos: Int, appendEOS: Bool = true) -> (ids: [Int], mask: [Float]) {
    var pieces = segments
    while let last = pieces.last {
        let stripped = String(last.text.reversed().drop(while: { $0 == "\n" }).reversed())
        if stripped.isEmpty { pieces.removeLast(); continue }
        pieces[pieces.count - 1].text = stripped
        break
    }
    var ids: [Int] = []
    var mask: [Float] = []
    for piece in pieces where !piece.text.isEmpty {
        let pieceIDs = tokenizer.encode(piece.text)
        ids += pieceIDs
        mask += [Float](repeating: piece.trained ? 1 : 0, count: pieceIDs.count)
    }
    if appendEOS && ids.last != eos {
        ids.append(eos)
        mask.append(pieces.last?.trained ?? false ? 1 : 0)
    }
    return (ids, mask)
}

/// Cuts `ids` to `maxLen` tokens and makes the last one EOS (OpenRLHF's "avoid EOS truncation").
func truncateKeepingEOS(_ ids: inout [Int], _ mask: inout [Float], maxLen: Int, eos: Int) {
    guard ids.count > maxLen else { return }
    ids.removeLast(ids.count - maxLen)
    mask.removeLast(mask.count - maxLen)
    if maxLen > 0 { ids[maxLen - 1] = eos }
}

/// The number of tokens before the first trained one.
func promptLength(_ mask: [Float]) -> Int { mask.firstIndex(where: { $0 != 0 }) ?? mask.count }

/// The tokenizer's EOS id, or an error saying the data needs one.
func eosID(_ tokenizer: any TextTokenizer) throws -> Int {
    guard let eos = tokenizer.eosTokenID else {
        throw DatasetError.invalidOption("the tokenizer has no EOS token; responses must end with one")
    }
    return eos
}

/// Checks `maxLen` and says why a prompt of `promptLength` tokens leaves no room, or nil.
func promptTooLong(_ promptLength: Int, maxLen: Int) -> String? {
    promptLength >= maxLen - 2
        ? "prompt of \(promptLength) tokens leaves fewer than 2 tokens for the response within maxLen \(maxLen)" : nil
}

func checkMaxLen(_ maxLen: Int) throws {
    guard maxLen >= 3 else { throw DatasetError.invalidOption("maxLen must be at least 3 (a prompt token, a response token and EOS), got \(maxLen)") }
}
