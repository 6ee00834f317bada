// How the run file keeps text losslessly in HDF5 variable-length strings, which are C strings: a
// NUL would end them, and bytes that are not UTF-8 would be replaced when read. One escape covers
// both (docs/run-file.md, "Text"): each such byte b is stored as the three bytes ED, B0 | b >> 6,
// 80 | b & 3F, the UTF-8 form of the lone surrogate U+DC00 + b. Well-formed UTF-8 never holds a
// surrogate, so the escape cannot be confused with text; for the bytes 80…FF it is Python's
// `surrogateescape`, so h5py users undo it in one line. Text without NUL and with well-formed
// UTF-8 — nearly all text — is stored unchanged.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The escape the run file applies to every string it stores, and its inverse.
public enum StoredText {
    /// The bytes to store for `bytes`: no NUL, well-formed UTF-8 apart from the escapes.
    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> [UInt8] where Bytes.Index == Int {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let n = wellFormedLength(bytes, at: i)
            if n > 0 && bytes[i] != 0 {
                out.append(contentsOf: bytes[i..<(i + n)])
                i += n
            } else {
                let b = bytes[i]
                out.append(contentsOf: [0xED, 0xB0 | (b >> 6), 0x80 | (b & 0x3F)])
                i += 1
            }
        }
        return out
    }

    /// The original bytes of stored bytes: every escape turned back into its byte.
    public static func decode<Bytes: Collection<UInt8>>(_ stored: Bytes) -> [UInt8] where Bytes.Index == Int {
        var out: [UInt8] = []
        out.reserveCapacity(stored.count)
        var i = stored.startIndex
        while i < stored.endIndex {
            if let b = escapedByte(stored, at: i) {
                out.append(b)
                i += 3
            } else {
                out.append(stored[i])
                i += 1
            }
        }
        return out
    }

    /// The bytes to store for `text` (its UTF-8 with each NUL escaped).
    public static func encode(_ text: String) -> [UInt8] {
        var text = text
        return text.withUTF8 { utf8 in utf8.contains(0) ? encode(utf8) : Array(utf8) }
    }

    /// The text of stored bytes. Escaped bytes that do not form UTF-8 read as U+FFFD, as a
    /// `String` holds only Unicode; `decode(_:)` gives them back as bytes.
    public static func string<Bytes: Collection<UInt8>>(_ stored: Bytes) -> String where Bytes.Index == Int {
        stored.contains(0xED) ? String(decoding: decode(stored), as: UTF8.self) : String(decoding: stored, as: UTF8.self)
    }

    /// A `malloc`ed NUL-terminated copy of the stored form of `text`; the caller frees it.
    static func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
        let bytes = encode(text)
        let copy = malloc(bytes.count + 1)!.bindMemory(to: CChar.self, capacity: bytes.count + 1)
        for (i, byte) in bytes.enumerated() { copy[i] = CChar(bitPattern: byte) }
        copy[bytes.count] = 0
        return copy
    }

    /// The text of a NUL-terminated stored string.
    static func string(cString pointer: UnsafePointer<CChar>) -> String {
        string(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer)))
    }

    /// The byte an escape at `i` stands for, or nil when no escape starts there.
    private static func escapedByte<Bytes: Collection<UInt8>>(_ s: Bytes, at i: Int) -> UInt8? where Bytes.Index == Int {
        guard s[i] == 0xED, i + 2 < s.endIndex, (0xB0...0xB3).contains(s[i + 1]), (0x80...0xBF).contains(s[i + 2]) else {
            return nil
        }
        let b = (s[i + 1] & 0x03) << 6 | (s[i + 2] & 0x3F)
        return b == 0 || b >= 0x80 ? b : nil
    }

    /// The length of the well-formed UTF-8 sequence starting at `i` (Unicode Table 3-7), or 0.
    private static func wellFormedLength<Bytes: Collection<UInt8>>(_ s: Bytes, at i: Int) -> Int where Bytes.Index == Int {
        let b0 = s[i]
        if b0 < 0x80 { return 1 }
        func continuation(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            i + k < s.endIndex && range.contains(s[i + k])
        }
        switch b0 {
        case 0xC2...0xDF: return continuation(1) ? 2 : 0
        case 0xE0: return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : 0
        case 0xED: return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
        case 0xF0: return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4: return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default: return 0
        }
    }
}
