// Byte-level BPE, as GPT-2 introduced it and HuggingFace `tokenizers` implements it:
//
//   text ─► added/special tokens split out (leftmost-longest match) ─► pre-tokenizer words
//        ─► each word's UTF-8 bytes as byte-level symbols ─► merges, lowest rank first ─► ids
//
// A word's ids depend on the word alone, so they are cached.

import Foundation

/// A token matched in the raw text before pre-tokenization (`<|im_start|>`, `<|endoftext|>`).
public struct AddedToken: Sendable, Equatable {
    /// The token id.
    public var id: Int
    /// The exact text that stands for the token.
    public var content: String
    /// Whether the token is special: `decode(_:skipSpecialTokens: true)` leaves it out.
    public var special: Bool

    /// An added token; `special` ones are skipped by `decode(_:skipSpecialTokens: true)`.
    public init(id: Int, content: String, special: Bool = true) {
        self.id = id
        self.content = content
        self.special = special
    }
}

/// A byte-level BPE tokenizer (GPT-2, SmolLM2, StarCoder, ...).
///
/// Build it from a GGUF file's `tokenizer.ggml.*` arrays (see `GGUFFile.makeTokenizer()` in
/// `Models`), or from a HuggingFace `tokenizer.json` with ``init(tokenizerJSON:chatTemplate:)``.
///
/// ```swift
/// let ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>")   // [1, 4093, 198, ...]
/// tokenizer.decode(ids) == "<|im_start|>user\nHi<|im_end|>"
/// ```
///
/// Encoding and decoding are safe to call from several threads at once.
public final class BPETokenizer: TextTokenizer, @unchecked Sendable {
    /// The vocabulary, indexed by id, spelled with byte-level characters ("Ġthe").
    public let tokens: [String]
    /// The added tokens, matched in the text before pre-tokenization.
    public let addedTokens: [AddedToken]
    /// How text is split into words.
    public let preTokenizer: PreTokenizer
    /// `tokenizer.ggml.bos_token_id` or the config's `bos_token`; encoding never adds it.
    public let bosTokenID: Int?
    /// The end-of-sequence id (`<|im_end|>` for SmolLM2-Instruct): generation stops on it.
    public let eosTokenID: Int?
    /// The padding id (SmolLM2 pads with `<|im_end|>`).
    public let padTokenID: Int?
    /// The id that stands for bytes the vocabulary cannot spell, if any; else they are dropped.
    public let unknownTokenID: Int?
    /// The ChatML template found in the file, or nil when it has none or another kind.
    public let chatTemplate: ChatTemplate?
    /// The file's chat template when it is of a kind this module does not render (not ChatML),
    /// so asking for the chat template reports that rather than "no chat template".
    public let unrecognizedChatTemplate: String?

    private let tokenToID: [String: Int]
    private let specialIDs: Set<Int>
    /// Byte-level symbol id of each byte, or -1 when the vocabulary lacks it.
    private let byteSymbol: [Int32]
    /// (left id, right id) packed in 64 bits ─► rank and merged id.
    private let merges: [UInt64: Merge]
    /// What each id decodes to.
    private let tokenBytes: [[UInt8]]
    private let fuseUnknown: Bool
    private let ignoreMerges: Bool
    private let matcher: AddedTokenMatcher

    private let cacheLock = NSLock()
    private var cache: [[UInt8]: [Int32]] = [:]
    private static let cacheLimit = 200_000

    struct Merge {
        var rank: Int32
        var id: Int32
    }

    /// Creates a tokenizer from its vocabulary, merges and added tokens.
    ///
    /// - Parameters:
    ///   - tokens: The vocabulary, indexed by id, in byte-level spelling.
    ///   - merges: The merge rules, highest priority first, as pairs of token spellings.
    ///     A rule whose parts or result is not in the vocabulary is ignored.
    ///   - addedTokens: Tokens matched in the text before pre-tokenization.
    ///   - fuseUnknown: Whether consecutive unknown bytes of a word become one unknown token.
    ///   - ignoreMerges: Whether a word that is itself in the vocabulary skips the merges
    ///     (`tokenizers`' `ignore_merges`, used by Llama 3).
    ///   - source: Names the file the data came from, for error messages.
    /// - Throws: ``TokenizerError/inconsistentVocabulary(source:reason:)`` when an id is out of range.
    public init(
        tokens: [String], merges: [(String, String)], addedTokens: [AddedToken],
        bosTokenID: Int?, eosTokenID: Int?, padTokenID: Int?, unknownTokenID: Int?,
        preTokenizer: PreTokenizer, fuseUnknown: Bool = true, ignoreMerges: Bool = false,
        chatTemplate: ChatTemplate? = nil, unrecognizedChatTemplate: String? = nil, source: String = "tokenizer"
    ) throws {
        guard !tokens.isEmpty else {
            throw TokenizerError.inconsistentVocabulary(source: source, reason: "the vocabulary is empty")
        }
        let checkedIDs: [(String, Int?)] =
            [
                ("bos", bosTokenID), ("eos", eosTokenID), ("pad", padTokenID), ("unk", unknownTokenID),
            ] + addedTokens.map { ("added token \($0.content.debugDescription)", $0.id) }
        for (name, id) in checkedIDs {
            if let id, !(0..<tokens.count).contains(id) {
                throw TokenizerError.inconsistentVocabulary(
                    source: source, reason: "\(name) id \(id) is outside the vocabulary of \(tokens.count) tokens")
            }
        }
        self.tokens = tokens
        self.addedTokens = addedTokens
        self.preTokenizer = preTokenizer
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.padTokenID = padTokenID
        self.unknownTokenID = unknownTokenID
        self.fuseUnknown = fuseUnknown
        self.ignoreMerges = ignoreMerges
        self.chatTemplate = chatTemplate
        self.unrecognizedChatTemplate = unrecognizedChatTemplate

        var tokenToID: [String: Int] = [:]
        tokenToID.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { tokenToID[token] = id }
        self.tokenToID = tokenToID

        self.byteSymbol = ByteLevel.characterForByte.map { scalar in
            tokenToID[String(scalar)].map { Int32($0) } ?? -1
        }

        var mergeTable: [UInt64: Merge] = [:]
        mergeTable.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let a = tokenToID[left], let b = tokenToID[right], let merged = tokenToID[left + right] else {
                continue
            }
            let key = BPETokenizer.pairKey(Int32(a), Int32(b))
            if mergeTable[key] == nil { mergeTable[key] = Merge(rank: Int32(rank), id: Int32(merged)) }
        }
        self.merges = mergeTable

        var bytes = tokens.map { ByteLevel.decode($0) }
        for added in addedTokens { bytes[added.id] = Array(added.content.utf8) }
        self.tokenBytes = bytes
        self.specialIDs = Set(addedTokens.filter(\.special).map(\.id))
        self.matcher = AddedTokenMatcher(addedTokens)
    }

    /// Creates a tokenizer from vocabulary arrays as GGUF stores them.
    ///
    /// - Parameters:
    ///   - merges: Rules written `"left right"` (`tokenizer.ggml.merges`).
    ///   - tokenTypes: `tokenizer.ggml.token_type`: 1 normal, 3 control, 4 user-defined. Control
    ///     tokens become special added tokens and user-defined ones plain added tokens. Empty when
    ///     the file has none.
    public convenience init(
        tokens: [String], merges: [String], tokenTypes: [Int32],
        bosTokenID: Int?, eosTokenID: Int?, padTokenID: Int?, unknownTokenID: Int?,
        preTokenizer: PreTokenizer, chatTemplate: ChatTemplate? = nil, unrecognizedChatTemplate: String? = nil,
        source: String = "tokenizer"
    ) throws {
        if !tokenTypes.isEmpty && tokenTypes.count != tokens.count {
            throw TokenizerError.inconsistentVocabulary(
                source: source, reason: "\(tokenTypes.count) token types for \(tokens.count) tokens")
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (index, rule) in merges.enumerated() {
            guard let space = rule.firstIndex(of: " ") else {
                throw TokenizerError.inconsistentVocabulary(
                    source: source, reason: "merge \(index) \(rule.debugDescription) has no space between its parts")
            }
            pairs.append((String(rule[..<space]), String(rule[rule.index(after: space)...])))
        }
        var added: [AddedToken] = []
        for (id, type) in tokenTypes.enumerated() where type == 3 || type == 4 {
            added.append(AddedToken(id: id, content: tokens[id], special: type == 3))
        }
        try self.init(
            tokens: tokens, merges: pairs, addedTokens: added,
            bosTokenID: bosTokenID, eosTokenID: eosTokenID, padTokenID: padTokenID, unknownTokenID: unknownTokenID,
            preTokenizer: preTokenizer, chatTemplate: chatTemplate, unrecognizedChatTemplate: unrecognizedChatTemplate,
            source: source)
    }

    public var vocabularySize: Int { tokens.count }

    public func tokenID(_ token: String) -> Int? { tokenToID[token] }

    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    public func encode(_ text: String) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(scalars.count / 3 + 1)
        var start = 0
        while start < scalars.count {
            if let match = matcher.firstMatch(in: scalars, from: start) {
                if match.range.lowerBound > start {
                    encodeOrdinary(scalars[start..<match.range.lowerBound], into: &ids)
                }
                ids.append(match.id)
                start = match.range.upperBound
            } else {
                encodeOrdinary(scalars[start...], into: &ids)
                break
            }
        }
        return ids
    }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where id >= 0 && id < tokenBytes.count {
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            bytes.append(contentsOf: tokenBytes[id])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The UTF-8 bytes that `id` stands for (a token may hold part of a character), or nil.
    public func bytes(of id: Int) -> [UInt8]? {
        id >= 0 && id < tokenBytes.count ? tokenBytes[id] : nil
    }

    // MARK: - Encoding a stretch without added tokens

    private func encodeOrdinary(_ slice: ArraySlice<Unicode.Scalar>, into ids: inout [Int]) {
        let scalars = Array(slice)
        var word: [UInt8] = []
        for piece in preTokenizer.split(scalars) {
            word.removeAll(keepingCapacity: true)
            for scalar in scalars[piece] { BPETokenizer.appendUTF8(scalar, to: &word) }
            for id in wordIDs(word) { ids.append(Int(id)) }
        }
    }

    private func wordIDs(_ word: [UInt8]) -> [Int32] {
        cacheLock.lock()
        let cached = cache[word]
        cacheLock.unlock()
        if let cached { return cached }
        let ids = mergeWord(word)
        cacheLock.lock()
        if cache.count >= BPETokenizer.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[word] = ids
        cacheLock.unlock()
        return ids
    }

    /// Applies the merges to one word: repeatedly merge the adjacent pair of lowest rank, the
    /// leftmost one on ties, as `tokenizers`' priority queue does.
    private func mergeWord(_ word: [UInt8]) -> [Int32] {
        if ignoreMerges, let id = tokenToID[ByteLevel.encode(word)] { return [Int32(id)] }
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var lastWasUnknown = false
        for byte in word {
            let id = byteSymbol[Int(byte)]
            if id >= 0 {
                symbols.append(id)
                lastWasUnknown = false
            } else if let unknown = unknownTokenID {
                if !(fuseUnknown && lastWasUnknown) { symbols.append(Int32(unknown)) }
                lastWasUnknown = true
            }
        }
        while symbols.count > 1 {
            var bestRank = Int32.max
            var bestPosition = -1
            var bestID: Int32 = 0
            for position in 0..<(symbols.count - 1) {
                if let merge = merges[BPETokenizer.pairKey(symbols[position], symbols[position + 1])],
                    merge.rank < bestRank
                {
                    bestRank = merge.rank
                    bestPosition = position
                    bestID = merge.id
                }
            }
            if bestPosition < 0 { break }
            symbols[bestPosition] = bestID
            symbols.remove(at: bestPosition + 1)
        }
        return symbols
    }

    @inline(__always)
    static func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }

    @inline(__always)
    static func appendUTF8(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        let v = scalar.value
        if v < 0x80 {
            bytes.append(UInt8(v))
        } else if v < 0x800 {
            bytes.append(UInt8(0xC0 | (v >> 6)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x10000 {
            bytes.append(UInt8(0xE0 | (v >> 12)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            bytes.append(UInt8(0xF0 | (v >> 18)))
            bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}

/// Finds added tokens in text, leftmost first and longest among those starting at one place,
/// as `tokenizers`' added vocabulary does.
struct AddedTokenMatcher: Sendable {
    /// Candidates by first scalar, longest first.
    private let candidates: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int)]]

    init(_ tokens: [AddedToken]) {
        var table: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int)]] = [:]
        for token in tokens {
            let scalars = Array(token.content.unicodeScalars)
            guard let first = scalars.first else { continue }
            table[first, default: []].append((scalars, token.id))
        }
        for key in table.keys { table[key]!.sort { $0.scalars.count > $1.scalars.count } }
        candidates = table
    }

    func firstMatch(in text: [Unicode.Scalar], from start: Int) -> (range: Range<Int>, id: Int)? {
        if candidates.isEmpty { return nil }
        var i = start
        while i < text.count {
            if let list = candidates[text[i]] {
                for candidate in list where i + candidate.scalars.count <= text.count {
                    if text[i..<(i + candidate.scalars.count)].elementsEqual(candidate.scalars) {
                        return (i..<(i + candidate.scalars.count), candidate.id)
                    }
                }
            }
            i += 1
        }
        return nil
    }
}
