// Chat templates without a Jinja engine: the ChatML family that SmolLM2 (and Qwen, ...) ship is
// implemented directly, parameterised by its default system prompt, and checked character for
// character against what transformers renders. OpenRLHF's plain `input_template` is the other way
// to turn a prompt into model input.

/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// `"system"`, `"user"`, `"assistant"` or any other role the template accepts.
    public var role: String
    /// The message text, inserted verbatim.
    public var content: String

    /// A message with any role.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// A `"system"` message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    /// A `"user"` message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    /// An `"assistant"` message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// A ChatML chat template: `<|im_start|>role\ncontent<|im_end|>\n` per message.
///
/// It renders what this Jinja template renders (SmolLM2's, with its prompt as the default):
///
/// ```jinja
/// {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}
/// {{ '<|im_start|>system\nDEFAULT<|im_end|>\n' }}{% endif %}
/// {{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}
/// {% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
/// ```
///
/// So a conversation that does not open with a system message gets the default one, and an empty
/// conversation gets none.
public struct ChatTemplate: Sendable, Equatable {
    /// The system prompt inserted before a conversation that has none; nil inserts nothing.
    public var defaultSystemPrompt: String?

    /// A ChatML template that inserts `defaultSystemPrompt` (when not nil) before conversations
    /// that do not open with a system message.
    public init(defaultSystemPrompt: String?) {
        self.defaultSystemPrompt = defaultSystemPrompt
    }

    /// SmolLM2-Instruct's template (135M, 360M and 1.7B ship the same one).
    public static let smolLM2 = ChatTemplate(
        defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")

    /// The marker that opens a message.
    public static let messageStart = "<|im_start|>"
    /// The marker that closes a message.
    public static let messageEnd = "<|im_end|>"

    /// Recognises a Jinja chat template of the ChatML family and reads its default system prompt.
    ///
    /// The template must write `<|im_start|>` followed by the message role; the default system
    /// prompt is the literal text between `<|im_start|>system\n` and `<|im_end|>` when the
    /// template writes one. Tool-calling branches (Qwen 2.5) are not rendered.
    ///
    /// - Throws: ``TokenizerError/unsupportedChatTemplate(excerpt:)`` for other templates.
    public init(jinja: String) throws {
        let writesRoles =
            jinja.contains("'<|im_start|>' + message['role']")
            || jinja.contains("\"<|im_start|>\" + message['role']")
            || jinja.contains("'<|im_start|>' + message.role")
            || jinja.contains("<|im_start|>{{ message['role'] }}")
            || jinja.contains("<|im_start|>{{ message.role }}")
            || jinja.contains("'<|im_start|>' + message[\"role\"]")
        guard writesRoles else { throw TokenizerError.unsupportedChatTemplate(excerpt: ChatTemplate.excerpt(jinja)) }
        self.defaultSystemPrompt = ChatTemplate.literalSystemPrompt(in: jinja)
    }

    /// The first characters of a template, quoted, for an error message.
    static func excerpt(_ jinja: String) -> String { String(jinja.prefix(120)).debugDescription }

    /// The text between `<|im_start|>system` + newline and `<|im_end|>` inside one string
    /// literal of `jinja`, with `\n` escapes resolved; nil when every system block is built
    /// from the messages.
    static func literalSystemPrompt(in jinja: String) -> String? {
        for opener in ["<|im_start|>system\n", "<|im_start|>system\\n"] {
            var searchStart = jinja.startIndex
            while let open = jinja.range(of: opener, range: searchStart..<jinja.endIndex) {
                searchStart = open.upperBound
                guard let close = jinja.range(of: messageEnd, range: open.upperBound..<jinja.endIndex) else { break }
                let body = jinja[open.upperBound..<close.lowerBound]
                // A quote inside means the literal ended and the prompt is an expression.
                if body.contains("'") || body.contains("\"") || body.contains("{") { continue }
                return body.replacingOccurrences(of: "\\n", with: "\n")
            }
        }
        return nil
    }

    /// The text that opens the assistant's reply, appended by `addGenerationPrompt`.
    public var generationPrompt: String { "\(ChatTemplate.messageStart)assistant\n" }

    /// Renders `messages` exactly as transformers' `apply_chat_template(..., tokenize=False)`.
    ///
    /// - Parameter addGenerationPrompt: Appends `<|im_start|>assistant\n` so the model answers.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = false) -> String {
        var text = ""
        if let first = messages.first, first.role != "system", let system = defaultSystemPrompt {
            text += "\(ChatTemplate.messageStart)system\n\(system)\(ChatTemplate.messageEnd)\n"
        }
        for message in messages {
            text += "\(ChatTemplate.messageStart)\(message.role)\n\(message.content)\(ChatTemplate.messageEnd)\n"
        }
        if addGenerationPrompt { text += generationPrompt }
        return text
    }
}

/// OpenRLHF's `input_template`: a string with one `{}` where the prompt goes, applied as
/// Python's `input_template.format(prompt)`.
///
/// ```swift
/// let template = try InputTemplate("User: {}\nAssistant: ")
/// template.apply("2+2?") == "User: 2+2?\nAssistant: "
/// ```
/// `{{` and `}}` stand for literal braces; `{0}` is the prompt too, as in Python.
public struct InputTemplate: Sendable, Equatable {
    /// The template as written.
    public let template: String
    private let parts: [String]

    /// Parses `template`.
    ///
    /// - Throws: ``TokenizerError/invalidInputTemplate(template:reason:)`` when `template` has no
    ///   `{}`, a named or numbered field other than `{0}`, or an unmatched brace.
    public init(_ template: String) throws {
        self.template = template
        var parts: [String] = []
        var current = ""
        var automaticFields = 0
        var numberedFields = 0
        let chars = Array(template)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{" {
                if i + 1 < chars.count && chars[i + 1] == "{" {
                    current.append("{")
                    i += 2
                    continue
                }
                guard let close = chars[(i + 1)...].firstIndex(of: "}") else {
                    throw TokenizerError.invalidInputTemplate(template: template, reason: "'{' at offset \(i) is never closed")
                }
                let field = String(chars[(i + 1)..<close])
                guard field.isEmpty || field == "0" else {
                    throw TokenizerError.invalidInputTemplate(
                        template: template, reason: "field {\(field)} is not the single prompt argument {}")
                }
                if field.isEmpty { automaticFields += 1 } else { numberedFields += 1 }
                if automaticFields > 1 {
                    throw TokenizerError.invalidInputTemplate(
                        template: template, reason: "more than one {} for the single prompt argument (write {0} to repeat it)")
                }
                if automaticFields > 0 && numberedFields > 0 {
                    throw TokenizerError.invalidInputTemplate(template: template, reason: "{} and {0} mixed")
                }
                parts.append(current)
                current = ""
                i = close + 1
            } else if c == "}" {
                guard i + 1 < chars.count && chars[i + 1] == "}" else {
                    throw TokenizerError.invalidInputTemplate(template: template, reason: "single '}' at offset \(i)")
                }
                current.append("}")
                i += 2
            } else {
                current.append(c)
                i += 1
            }
        }
        parts.append(current)
        guard parts.count >= 2 else {
            throw TokenizerError.invalidInputTemplate(template: template, reason: "no {} marks where the prompt goes")
        }
        self.parts = parts
    }

    /// The template with every `{}` replaced by `prompt`.
    public func apply(_ prompt: String) -> String {
        parts.joined(separator: prompt)
    }
}
