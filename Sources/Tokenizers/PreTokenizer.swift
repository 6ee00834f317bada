// Pre-tokenization: splitting text into the words that BPE merges within. Written as a scanner
// rather than a regex engine; it reproduces exactly what the regex below matches (leftmost
// alternative, greedy runs, the one-character backtrack of `\s+(?!\S)`).
//
// GPT-2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// SmolLM2: every \p{N} character alone first (tokenizers' Digits(individual_digits: true), which
//          llama.cpp calls the "smollm" pre-tokenizer), then the GPT-2 regex on the rest.

/// How text is split into words before the BPE merges run.
public enum PreTokenizer: String, Sendable, Equatable, CaseIterable {
    /// The GPT-2 regex alone (tokenizers' `ByteLevel(use_regex: true)`).
    case gpt2
    /// Each digit isolated, then the GPT-2 regex: SmolLM2's `tokenizer.json`, llama.cpp's `smollm`.
    case gpt2IndividualDigits

    /// The pre-tokenizer that a GGUF `tokenizer.ggml.pre` name stands for, or nil if unknown.
    ///
    /// Names whose llama.cpp regexes are the GPT-2 one, with or without isolated digits, are
    /// mapped; others (llama3, qwen2, deepseek, falcon, ...) split differently and are not
    /// implemented.
    public init?(ggufName: String) {
        switch ggufName {
        case "gpt-2", "mpt", "olmo", "jais":
            self = .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            self = .gpt2IndividualDigits
        default:
            return nil
        }
    }

    /// The words of `scalars`, as half-open index ranges into it, in order and covering it all.
    public func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        switch self {
        case .gpt2:
            PreTokenizer.scanGPT2(scalars, 0..<scalars.count, into: &pieces)
        case .gpt2IndividualDigits:
            var start = 0
            for i in 0..<scalars.count where CharacterClass.of(scalars[i]) == .number {
                if start < i { PreTokenizer.scanGPT2(scalars, start..<i, into: &pieces) }
                pieces.append(i..<(i + 1))
                start = i + 1
            }
            if start < scalars.count { PreTokenizer.scanGPT2(scalars, start..<scalars.count, into: &pieces) }
        }
        return pieces
    }

    /// The classes the GPT-2 regex distinguishes: \p{L}, \p{N}, \s and everything else.
    enum CharacterClass: UInt8 {
        case letter, number, whitespace, other

        static let ascii: [CharacterClass] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

        @inline(__always)
        static func of(_ scalar: Unicode.Scalar) -> CharacterClass {
            scalar.value < 128 ? ascii[Int(scalar.value)] : classify(scalar)
        }

        static func classify(_ scalar: Unicode.Scalar) -> CharacterClass {
            let properties = scalar.properties
            // Oniguruma's \s under Unicode is the White_Space property.
            if properties.isWhitespace { return .whitespace }
            switch properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                return .letter
            case .decimalNumber, .letterNumber, .otherNumber:
                return .number
            default:
                return .other
            }
        }
    }

    /// Appends the GPT-2 regex matches of `scalars[range]` to `pieces`. The regex sees the range as
    /// the whole input, so `(?!\S)` succeeds at the range's end.
    static func scanGPT2(_ s: [Unicode.Scalar], _ range: Range<Int>, into pieces: inout [Range<Int>]) {
        let end = range.upperBound
        var i = range.lowerBound
        while i < end {
            let c = s[i]
            // 's 't 're 've 'm 'll 'd (lower case only, as the regex is case-sensitive).
            if c == "'" && i + 1 < end {
                let a = s[i + 1]
                if a == "s" || a == "t" || a == "m" || a == "d" {
                    pieces.append(i..<(i + 2))
                    i += 2
                    continue
                }
                if i + 2 < end {
                    let b = s[i + 2]
                    if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") {
                        pieces.append(i..<(i + 3))
                        i += 3
                        continue
                    }
                }
            }
            let cls = CharacterClass.of(c)
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
            var runStart = i
            var runClass = cls
            if c == " " && i + 1 < end {
                let next = CharacterClass.of(s[i + 1])
                if next != .whitespace {
                    runStart = i + 1
                    runClass = next
                }
            }
            if runClass != .whitespace {
                var j = runStart + 1
                while j < end && CharacterClass.of(s[j]) == runClass { j += 1 }
                pieces.append(i..<j)
                i = j
                continue
            }
            // `\s+(?!\S)` then `\s+`: a whitespace run, less its last character when a
            // non-space follows, so that character can lead the next word.
            var j = i + 1
            while j < end && CharacterClass.of(s[j]) == .whitespace { j += 1 }
            if j < end && j - i >= 2 { j -= 1 }
            pieces.append(i..<j)
            i = j
        }
    }
}
