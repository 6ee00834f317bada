// GPT-2's reversible map between bytes and printable characters ("bytes_to_unicode"): byte-level
// BPE vocabularies spell every token with these characters, so a space is "Ġ" and "\n" is "Ċ".

/// The byte ↔ character map used by byte-level BPE vocabularies.
public enum ByteLevel {
    /// The character that stands for each byte, indexed by byte value.
    ///
    /// Printable bytes ('!'...'~', '¡'...'¬', '®'...'ÿ') stand for themselves; the other 68 bytes
    /// are given U+0100, U+0101, ... in increasing byte order.
    public static let characterForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte each byte-level character stands for, or nil for other characters.
    public static let byteForCharacter: [Unicode.Scalar: UInt8] = {
        var map: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in characterForByte.enumerated() { map[scalar] = UInt8(byte) }
        return map
    }()

    /// The byte-level spelling of `bytes` (each byte becomes one character).
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(characterForByte[Int(byte)]) }
        return String(scalars)
    }

    /// The bytes a byte-level spelled token stands for. Characters outside the map (which a
    /// well-formed vocabulary never has) contribute their own UTF-8 bytes, as HuggingFace's
    /// ByteLevel decoder does.
    public static func decode(_ token: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            if let byte = byteForCharacter[scalar] {
                bytes.append(byte)
            } else {
                bytes.append(contentsOf: Array(String(scalar).utf8))
            }
        }
        return bytes
    }
}
