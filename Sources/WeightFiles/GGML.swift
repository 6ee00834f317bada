// GGML tensor types and their conversion to Float32, following the block layouts of ggml's
// `ggml-common.h` and `dequantize_row_*` in `ggml-quants.c`. A quantized tensor is a sequence of
// blocks along each row (ne[0]); every block holds `blockSize` values in `bytesPerBlock` bytes.
//
//   Q8_0  (34 B / 32): f16 d, i8 q[32]                  x = q·d
//   Q4_0  (18 B / 32): f16 d, u8 qs[16]                 x = (nibble − 8)·d
//   Q4_1  (20 B / 32): f16 d, f16 m, u8 qs[16]          x = nibble·d + m
//   Q5_0  (22 B / 32): f16 d, u8 qh[4], u8 qs[16]       x = (nibble | high bit << 4 − 16)·d
//   Q5_1  (24 B / 32): f16 d, f16 m, u8 qh[4], u8 qs[16] x = (nibble | high bit << 4)·d + m
//   Q4_K (144 B / 256), Q5_K (176 B / 256), Q6_K (210 B / 256): super-blocks with 6- or 8-bit
//   sub-block scales, see the functions below.
//
// In the 32-value blocks, byte j's low nibble is value j and its high nibble value j + 16.

/// A GGML tensor element type, as stored in a GGUF tensor info.
public struct GGMLType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    // The ids of `enum ggml_type` in ggml.h.
    public static let f32 = GGMLType(rawValue: 0)
    public static let f16 = GGMLType(rawValue: 1)
    public static let q4_0 = GGMLType(rawValue: 2)
    public static let q4_1 = GGMLType(rawValue: 3)
    public static let q5_0 = GGMLType(rawValue: 6)
    public static let q5_1 = GGMLType(rawValue: 7)
    public static let q8_0 = GGMLType(rawValue: 8)
    public static let q8_1 = GGMLType(rawValue: 9)
    public static let q2_K = GGMLType(rawValue: 10)
    public static let q3_K = GGMLType(rawValue: 11)
    public static let q4_K = GGMLType(rawValue: 12)
    public static let q5_K = GGMLType(rawValue: 13)
    public static let q6_K = GGMLType(rawValue: 14)
    public static let q8_K = GGMLType(rawValue: 15)
    public static let i8 = GGMLType(rawValue: 24)
    public static let i16 = GGMLType(rawValue: 25)
    public static let i32 = GGMLType(rawValue: 26)
    public static let i64 = GGMLType(rawValue: 27)
    public static let f64 = GGMLType(rawValue: 28)
    public static let bf16 = GGMLType(rawValue: 30)

    private static let layouts: [UInt32: (name: String, blockSize: Int, bytesPerBlock: Int)] = [
        0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
        6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
        10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
        14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
        24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
        30: ("BF16", 1, 2),
    ]

    /// The ggml name (`"Q4_1"`), or `"type N"` for a type this reader does not know.
    public var name: String { GGMLType.layouts[rawValue]?.name ?? "type \(rawValue)" }
    public var description: String { name }

    /// Values per block (1 for plain types), or nil for an unknown type.
    public var blockSize: Int? { GGMLType.layouts[rawValue]?.blockSize }

    /// Bytes per block, or nil for an unknown type.
    public var bytesPerBlock: Int? { GGMLType.layouts[rawValue]?.bytesPerBlock }

    /// Whether ``GGML/dequantize(_:type:count:into:)`` converts this type.
    public var canDequantize: Bool {
        [.f32, .f16, .bf16, .f64, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K].contains(self)
    }
}

/// Conversions between GGML storage and Float32.
public enum GGML {
    /// Every Float16 bit pattern as Float32 (exact: Float16 ⊂ Float32).
    static let halfTable: [Float] = (0...UInt16.max).map { halfToFloat($0) }

    /// The Float32 value of an IEEE 754 half-precision bit pattern (exact, NaN payloads kept).
    public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        var mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent != 0 { return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13)) }
        if mantissa == 0 { return Float(bitPattern: sign) }
        // Subnormal half: shift the mantissa up until its leading 1 is the implicit bit.
        var e: UInt32 = 113
        while mantissa & 0x400 == 0 {
            mantissa <<= 1
            e -= 1
        }
        return Float(bitPattern: sign | (e << 23) | ((mantissa & 0x3FF) << 13))
    }

    /// The half-precision bit pattern nearest to `value` (round to nearest even), for writing
    /// test blocks and F16 data.
    public static func floatToHalf(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? UInt16(0x200 | (mantissa >> 13)) : 0) }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }
            let m = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            var half = m >> shift
            let rest = m & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(e) << 10 | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(half)
    }

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        halfTable[Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))]
    }

    /// Converts `count` values of `type` stored at `source` to Float32.
    ///
    /// `count` must be a multiple of the type's block size and `source` must hold
    /// `count / blockSize * bytesPerBlock` bytes; the caller (the GGUF reader) has checked both.
    /// Returns false for a type without a conversion.
    @discardableResult
    public static func dequantize(
        _ source: UnsafeRawPointer, type: GGMLType, count: Int, into out: UnsafeMutablePointer<Float>
    ) -> Bool {
        switch type {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: source, byteCount: count * 4)
        case .f16:
            for i in 0..<count { out[i] = half(source, 2 * i) }
        case .bf16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                out[i] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .f64:
            for i in 0..<count {
                out[i] = Float(
                    Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .q8_0: forEachBlock(source, count, 32, 34, out, dequantizeQ8_0)
        case .q4_0: forEachBlock(source, count, 32, 18, out, dequantizeQ4_0)
        case .q4_1: forEachBlock(source, count, 32, 20, out, dequantizeQ4_1)
        case .q5_0: forEachBlock(source, count, 32, 22, out, dequantizeQ5_0)
        case .q5_1: forEachBlock(source, count, 32, 24, out, dequantizeQ5_1)
        case .q4_K: forEachBlock(source, count, 256, 144, out, dequantizeQ4_K)
        case .q5_K: forEachBlock(source, count, 256, 176, out, dequantizeQ5_K)
        case .q6_K: forEachBlock(source, count, 256, 210, out, dequantizeQ6_K)
        default:
            return false
        }
        return true
    }

    /// Converts raw blocks of `type` holding `count` values to Float32.
    public static func dequantize(_ bytes: [UInt8], type: GGMLType, count: Int) -> [Float]? {
        guard type.canDequantize, let blockSize = type.blockSize, let bytesPerBlock = type.bytesPerBlock,
            count % blockSize == 0, bytes.count >= count / blockSize * bytesPerBlock
        else { return nil }
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                if count > 0 { dequantize(raw.baseAddress!, type: type, count: count, into: buffer.baseAddress!) }
            }
            initialized = count
        }
    }

    @inline(__always)
    private static func forEachBlock(
        _ source: UnsafeRawPointer, _ count: Int, _ blockSize: Int, _ bytesPerBlock: Int,
        _ out: UnsafeMutablePointer<Float>, _ body: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void
    ) {
        for block in 0..<(count / blockSize) {
            body(source + block * bytesPerBlock, out + block * blockSize)
        }
    }

    // MARK: - 32-value blocks

    static func dequantizeQ8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<32 { y[j] = Float(b.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    static func dequantizeQ4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 2 + j, as: UInt8.self)
            y[j] = Float(Int(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int(q >> 4) - 8) * d
        }
    }

    static func dequantizeQ4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        let m = half(b, 2)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 4 + j, as: UInt8.self)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    static func dequantizeQ5_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 6 + j, as: UInt8.self)
            let high0 = ((qh >> UInt32(j)) << 4) & 0x10
            let high1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(Int32(UInt32(q & 0x0F) | high0) - 16) * d
            y[j + 16] = Float(Int32(UInt32(q >> 4) | high1) - 16) * d
        }
    }

    static func dequantizeQ5_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        let m = half(b, 2)
        let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 8 + j, as: UInt8.self)
            let high0 = ((qh >> UInt32(j)) << 4) & 0x10
            let high1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(UInt32(q & 0x0F) | high0) * d + m
            y[j + 16] = Float(UInt32(q >> 4) | high1) * d + m
        }
    }

    // MARK: - 256-value super-blocks

    /// The 6-bit scale and min of sub-block `j` from the 12 packed bytes of Q4_K / Q5_K.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        func at(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (at(j) & 63, at(j + 4) & 63) }
        return ((at(j + 4) & 0x0F) | ((at(j - 4) >> 6) << 4), (at(j + 4) >> 4) | ((at(j) >> 6) << 4))
    }

    /// Q4_K: f16 d, f16 dmin, u8 scales[12], u8 qs[128]; 8 sub-blocks of 32 values.
    static func dequantizeQ4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        let dmin = half(b, 2)
        let scales = b + 4
        var q = b + 16
        var out = y
        for group in 0..<4 {
            let (sc1, m1) = scaleMinK4(2 * group, scales)
            let (sc2, m2) = scaleMinK4(2 * group + 1, scales)
            let d1 = d * Float(sc1)
            let min1 = dmin * Float(m1)
            let d2 = d * Float(sc2)
            let min2 = dmin * Float(m2)
            for l in 0..<32 {
                let v = q.load(fromByteOffset: l, as: UInt8.self)
                out[l] = d1 * Float(v & 0x0F) - min1
                out[l + 32] = d2 * Float(v >> 4) - min2
            }
            q += 32
            out += 64
        }
    }

    /// Q5_K: f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128].
    static func dequantizeQ5_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        let dmin = half(b, 2)
        let scales = b + 4
        let qh = b + 16
        var ql = b + 48
        var out = y
        var u1: UInt8 = 1
        var u2: UInt8 = 2
        for group in 0..<4 {
            let (sc1, m1) = scaleMinK4(2 * group, scales)
            let (sc2, m2) = scaleMinK4(2 * group + 1, scales)
            let d1 = d * Float(sc1)
            let min1 = dmin * Float(m1)
            let d2 = d * Float(sc2)
            let min2 = dmin * Float(m2)
            for l in 0..<32 {
                let low = ql.load(fromByteOffset: l, as: UInt8.self)
                let high = qh.load(fromByteOffset: l, as: UInt8.self)
                out[l] = d1 * Float((low & 0x0F) + (high & u1 != 0 ? 16 : 0)) - min1
                out[l + 32] = d2 * Float((low >> 4) + (high & u2 != 0 ? 16 : 0)) - min2
            }
            ql += 32
            out += 64
            u1 <<= 2
            u2 <<= 2
        }
    }

    /// Q6_K: u8 ql[128], u8 qh[64], i8 scales[16], f16 d; 16 sub-blocks of 16 values.
    static func dequantizeQ6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 208)
        var ql = b
        var qh = b + 128
        var sc = b + 192
        var out = y
        for _ in 0..<2 {
            for l in 0..<32 {
                let sub = l / 16
                let low0 = ql.load(fromByteOffset: l, as: UInt8.self)
                let low32 = ql.load(fromByteOffset: l + 32, as: UInt8.self)
                let high = qh.load(fromByteOffset: l, as: UInt8.self)
                let q1 = Int8(bitPattern: (low0 & 0x0F) | ((high >> 0) & 3) << 4) - 32
                let q2 = Int8(bitPattern: (low32 & 0x0F) | ((high >> 2) & 3) << 4) - 32
                let q3 = Int8(bitPattern: (low0 >> 4) | ((high >> 4) & 3) << 4) - 32
                let q4 = Int8(bitPattern: (low32 >> 4) | ((high >> 6) & 3) << 4) - 32
                func scale(_ i: Int) -> Float { Float(sc.load(fromByteOffset: i, as: Int8.self)) }
                out[l] = d * scale(sub) * Float(q1)
                out[l + 32] = d * scale(sub + 2) * Float(q2)
                out[l + 64] = d * scale(sub + 4) * Float(q3)
                out[l + 96] = d * scale(sub + 6) * Float(q4)
            }
            out += 128
            ql += 64
            qh += 32
            sc += 8
        }
    }
}
