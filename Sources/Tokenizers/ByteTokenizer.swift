// One token per UTF-8 byte, plus a few specials: the tokenizer of the synthetic tasks, where a
// tiny model should not have to learn a 49k-token vocabulary.

/// A tokenizer whose ids 0...255 are the bytes of the UTF-8 text, followed by special tokens.
///
/// Ids: 0...255 bytes, 256 `<pad>`, 257 `<bos>`, 258 `<eos>`, 259 `<|im_start|>`, 260 `<|im_end|>`,
/// then any extra specials in the order given. Special tokens written in the text are matched
/// (leftmost, longest first), so chat-formatted synthetic data round-trips.
public struct ByteTokenizer: TextTokenizer, Equatable {
    /// The special tokens after the 256 bytes, in id order.
    public let specialTokens: [String]
    /// ChatML without a default system prompt, unless another was given.
    public let chatTemplate: ChatTemplate?
    private let matcher: AddedTokenMatcher

    /// The tokenizer with the standard specials and, if given, more specials after them.
    ///
    /// - Parameter chatTemplate: Defaults to ChatML without a default system prompt.
    public init(extraSpecialTokens: [String] = [], chatTemplate: ChatTemplate? = ChatTemplate(defaultSystemPrompt: nil)) {
        self.specialTokens = ByteTokenizer.standardSpecialTokens + extraSpecialTokens
        self.chatTemplate = chatTemplate
        self.matcher = AddedTokenMatcher(
            specialTokens.enumerated().map { AddedToken(id: 256 + $0.offset, content: $0.element) })
    }

    /// The specials every byte tokenizer has, with ids 256...260.
    public static let standardSpecialTokens = ["<pad>", "<bos>", "<eos>", "<|im_start|>", "<|im_end|>"]

    public var vocabularySize: Int { 256 + specialTokens.count }
    public var padTokenID: Int? { 256 }
    public var bosTokenID: Int? { 257 }
    public var eosTokenID: Int? { 258 }

    public func tokenID(_ token: String) -> Int? {
        if let index = specialTokens.firstIndex(of: token) { return 256 + index }
        let bytes = Array(token.utf8)
        return bytes.count == 1 ? Int(bytes[0]) : nil
    }

    public func isSpecial(_ id: Int) -> Bool { id >= 256 && id < vocabularySize }

    public static func == (a: ByteTokenizer, b: ByteTokenizer) -> Bool {
        a.specialTokens == b.specialTokens && a.chatTemplate == b.chatTemplate
    }

    public func encode(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count)
        var start = 0
        var bytes: [UInt8] = []
        while start < scalars.count {
            let match = matcher.firstMatch(in: scalars, from: start)
            let end = match?.range.lowerBound ?? scalars.count
            bytes.removeAll(keepingCapacity: true)
            for scalar in scalars[start..<end] { BPETokenizer.appendUTF8(scalar, to: &bytes) }
            ids.append(contentsOf: bytes.map { Int($0) })
            guard let match else { break }
            ids.append(match.id)
            start = match.range.upperBound
        }
        return ids
    }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count)
        for id in ids {
            if id >= 0 && id < 256 {
                bytes.append(UInt8(id))
            } else if isSpecial(id) && !skipSpecialTokens {
                bytes.append(contentsOf: Array(specialTokens[id - 256].utf8))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
