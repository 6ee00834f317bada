import Dispatch
import Foundation
import Tensors

// Matrix–vector products for decoding, on weights kept in the bytes they were stored in.
//
// Shapes: a weight is W [O, I] (out × in, row-major, as nn.Linear stores it); the input is
// X [R, I] (R rows, one token each); the output is Y [R, O] = X · Wᵀ.
//
// Decoding one token reads every weight once, so its speed is the speed of reading W. Float32
// SmolLM2 is ~540 MB a token; its GGUF blocks (Q4_1 and Q8_0) are ~96 MB. The kernels below read
// the blocks and dequantize them in registers, never into memory.
//
// Every output Y[r, o] is computed by one thread, from row r of X alone, in an order fixed by I:
// so the bits of a row never depend on the thread count or on the other rows in the batch (a
// sample's tokens do not depend on its batch neighbours). Rows are processed four at a time only to
// reuse the dequantized weights; each row's arithmetic is the same as when it is alone.
//
// Block layouts (ggml): Q8_0 = f16 d, i8 q[32] (x = q·d); Q4_1 = f16 d, f16 m, u8 qs[16]
// (x = nibble·d + m; byte j's low nibble is value j, its high nibble value j + 16).

/// How a ``PackedMatrix`` stores its weights.
public enum PackedFormat: String, Sendable, CaseIterable {
    /// Float32, row-major `[out, in]`.
    case f32
    /// GGUF Q8_0 blocks: 32 values in 34 bytes.
    case q8_0
    /// GGUF Q4_1 blocks: 32 values in 20 bytes.
    case q4_1

    /// Bytes per weight, on average.
    public var bytesPerValue: Double {
        switch self {
        case .f32: return 4
        case .q8_0: return 34.0 / 32
        case .q4_1: return 20.0 / 32
        }
    }
}

/// A weight matrix `[out, in]` stored for fast matrix–vector products (decoding).
///
/// Built from Float32 values or from GGUF blocks; used only under `Tensor.withNoGrad`.
public final class PackedMatrix {
    /// How the weights are stored.
    public let format: PackedFormat
    /// Output features (rows of W).
    public let outFeatures: Int
    /// Input features (columns of W).
    public let inFeatures: Int
    /// `f32`: the values; quantized formats: the raw blocks (row after row).
    let floats: [Float]
    let bytes: [UInt8]

    /// Keeps Float32 weights `[out, in]` (copied).
    public init(floats: [Float], outFeatures: Int, inFeatures: Int) {
        precondition(floats.count == outFeatures * inFeatures, "PackedMatrix: \(floats.count) values for [\(outFeatures), \(inFeatures)]")
        format = .f32
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.floats = floats
        bytes = []
    }

    /// Keeps GGUF blocks: `outFeatures` rows of `inFeatures / 32` blocks each.
    public init(blocks: [UInt8], format: PackedFormat, outFeatures: Int, inFeatures: Int) throws {
        guard format != .f32, inFeatures % 32 == 0 else {
            throw ModelError.invalidInput("PackedMatrix: \(format) needs a quantized format and in-features divisible by 32 (got \(inFeatures))")
        }
        let expected = Int(format.bytesPerValue * 32) * (inFeatures / 32) * outFeatures
        guard blocks.count == expected else {
            throw ModelError.invalidInput("PackedMatrix: \(blocks.count) bytes of \(format) blocks, [\(outFeatures), \(inFeatures)] needs \(expected)")
        }
        self.format = format
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        floats = []
        bytes = blocks
    }

    /// Quantizes Float32 weights `[out, in]` to Q8_0 blocks (per 32 values: scale = absmax / 127,
    /// rounded to Float16, as llama.cpp's `quantize_row_q8_0`).
    public static func quantizeQ8_0(_ values: [Float], outFeatures: Int, inFeatures: Int) throws -> PackedMatrix {
        guard inFeatures % 32 == 0, values.count == outFeatures * inFeatures else {
            throw ModelError.invalidInput("quantizeQ8_0: [\(outFeatures), \(inFeatures)] needs in-features divisible by 32")
        }
        let blocks = values.count / 32
        var out = [UInt8](repeating: 0, count: blocks * 34)
        for b in 0..<blocks {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(values[b * 32 + j])) }
            let d = amax / 127
            let half = Float16(d)
            let inverse: Float = d == 0 ? 0 : 1 / d
            let bits = half.bitPattern
            out[b * 34] = UInt8(bits & 0xFF)
            out[b * 34 + 1] = UInt8(bits >> 8)
            for j in 0..<32 {
                let q = Int8(clamping: Int((values[b * 32 + j] * inverse).rounded(.toNearestOrAwayFromZero)))
                out[b * 34 + 2 + j] = UInt8(bitPattern: q)
            }
        }
        return try PackedMatrix(blocks: out, format: .q8_0, outFeatures: outFeatures, inFeatures: inFeatures)
    }

    /// The weights as Float32 `[out, in]` (what the products compute with).
    public func dequantized() -> [Float] {
        switch format {
        case .f32: return floats
        case .q8_0: return GGML.dequantize(bytes, type: .q8_0, count: outFeatures * inFeatures) ?? []
        case .q4_1: return GGML.dequantize(bytes, type: .q4_1, count: outFeatures * inFeatures) ?? []
        }
    }

    /// Bytes read per product with one row.
    public var byteCount: Int { format == .f32 ? floats.count * 4 : bytes.count }

    /// Y [rows, out] = X [rows, in] · Wᵀ, into `y`.
    public func multiply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        switch format {
        case .f32:
            floats.withUnsafeBufferPointer { w in
                PackedKernels.f32(w.baseAddress!, x: x, rows: rows, out: outFeatures, in: inFeatures, y: y)
            }
        case .q8_0, .q4_1:
            // The input reordered to the lane order of the blocks (see `PackedKernels.permute`), and
            // for Q4_1 each block's sum (the `m` term: Σ (q·d + m)·x = d·Σ q·x + m·Σ x).
            let blocksPerRow = inFeatures / 32
            var xp = [Float](repeating: 0, count: rows * inFeatures)
            var sums = [Float](repeating: 0, count: rows * blocksPerRow)
            xp.withUnsafeMutableBufferPointer { pxp in
                sums.withUnsafeMutableBufferPointer { ps in
                    for r in 0..<rows {
                        PackedKernels.permute(x + r * inFeatures, pxp.baseAddress! + r * inFeatures, ps.baseAddress! + r * blocksPerRow,
                                              blocks: blocksPerRow)
                    }
                }
            }
            bytes.withUnsafeBytes { w in
                xp.withUnsafeBufferPointer { pxp in
                    sums.withUnsafeBufferPointer { ps in
                        PackedKernels.quantized(format, w.baseAddress!, x: pxp.baseAddress!, sums: ps.baseAddress!, rows: rows,
                                                out: outFeatures, in: inFeatures, y: y)
                    }
                }
            }
        }
    }
}

/// Kernels behind ``PackedMatrix``. Baseline x86-64 SIMD (SSE2): `SIMD4<Float>` products and
/// separate adds (a fused multiply-add would be a library call per lane without FMA hardware flags).
enum PackedKernels {
    /// Every Float16 bit pattern as Float32.
    static let halfTable: [Float] = (0...UInt16.max).map { Float(Float16(bitPattern: $0)) }

    /// Output rows per parallel chunk: enough work per chunk, and many chunks, so that two or
    /// more threads share the outputs evenly.
    @inline(__always) static func minOutputs(in inFeatures: Int, rows: Int) -> Int {
        max(4, 16_384 / max(1, inFeatures * max(rows, 1)))
    }

    /// Splits `0..<count` into chunks of at least `minRows` (at most 32; boundaries depend on the
    /// shape only) and runs `body` on each. Chunks go to whichever thread is free (the caller
    /// included), so a worker that the OS has not scheduled yet does not hold the product up;
    /// each output is still computed whole by one thread, so the bits never depend on the threads.
    static func chunks(_ count: Int, minRows: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let n = max(1, min(32, count / max(1, minRows)))
        if n == 1 || Parallel.threads <= 1 {
            for c in 0..<n { body((count * c / n)..<(count * (c + 1) / n)) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: n) { c in body((count * c / n)..<(count * (c + 1) / n)) }
    }

    // MARK: Float32

    static func f32(_ w: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, out: Int, in n: Int,
                    y: UnsafeMutablePointer<Float>) {
        let wa = Int(bitPattern: w), xa = Int(bitPattern: x), ya = Int(bitPattern: y)
        chunks(out, minRows: minOutputs(in: n, rows: rows)) { outputs in
            let w = UnsafePointer<Float>(bitPattern: wa)!, x = UnsafePointer<Float>(bitPattern: xa)!
            let y = UnsafeMutablePointer<Float>(bitPattern: ya)!
            // Each weight row is read once from memory and reused, from L1, by every group of rows.
            let groups = rows / 4
            for o in outputs {
                for g in 0..<groups { f32Dot4(w + o * n, x + 4 * g * n, n, y + 4 * g * out + o, out) }
                for r in (4 * groups)..<rows { y[r * out + o] = f32Dot1(w + o * n, x + r * n, n) }
            }
        }
    }

    /// One row's dot product: two SIMD4 partial sums over 8-wide steps, then the tail, in order.
    @inline(__always) static func f32Dot1(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD4<Float>(), a1 = SIMD4<Float>()
        let wr = UnsafeRawPointer(w), xr = UnsafeRawPointer(x)
        var i = 0
        while i + 8 <= n {
            let w0 = wr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD4<Float>.self)
            let w1 = wr.loadUnaligned(fromByteOffset: 4 * i + 16, as: SIMD4<Float>.self)
            a0 += w0 * xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD4<Float>.self)
            a1 += w1 * xr.loadUnaligned(fromByteOffset: 4 * i + 16, as: SIMD4<Float>.self)
            i += 8
        }
        var total = (a0 + a1).sum()
        while i < n { total += w[i] * x[i]; i += 1 }
        return total
    }

    /// Four rows against one weight row, each with exactly the arithmetic of ``f32Dot1``.
    @inline(__always) static func f32Dot4(_ w: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int,
                                          _ y: UnsafeMutablePointer<Float>, _ ystride: Int) {
        var a0 = SIMD4<Float>(), a1 = SIMD4<Float>(), b0 = SIMD4<Float>(), b1 = SIMD4<Float>()
        var c0 = SIMD4<Float>(), c1 = SIMD4<Float>(), d0 = SIMD4<Float>(), d1 = SIMD4<Float>()
        let wr = UnsafeRawPointer(w)
        let xa = UnsafeRawPointer(x), xb = UnsafeRawPointer(x + n), xc = UnsafeRawPointer(x + 2 * n), xd = UnsafeRawPointer(x + 3 * n)
        var i = 0
        while i + 8 <= n {
            let o = 4 * i
            let w0 = wr.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
            let w1 = wr.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
            a0 += w0 * xa.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
            a1 += w1 * xa.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
            b0 += w0 * xb.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
            b1 += w1 * xb.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
            c0 += w0 * xc.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
            c1 += w1 * xc.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
            d0 += w0 * xd.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
            d1 += w1 * xd.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
            i += 8
        }
        var ta = (a0 + a1).sum(), tb = (b0 + b1).sum(), tc = (c0 + c1).sum(), td = (d0 + d1).sum()
        while i < n {
            ta += w[i] * x[i]; tb += w[i] * x[n + i]; tc += w[i] * x[2 * n + i]; td += w[i] * x[3 * n + i]
            i += 1
        }
        y[0] = ta; y[ystride] = tb; y[2 * ystride] = tc; y[3 * ystride] = td
    }

    // MARK: Quantized blocks

    /// Reorders one row of X to the lane order the block kernels produce, and sums each block
    /// (for the offsets: Q4_1's m, Q8_0's −128·d).
    ///
    /// A block's 16 (Q4_1) or 32 (Q8_0) bytes are read as 32-bit words; lane i of word group g
    /// holds bytes 4i…4i+3. Slot (g·4 + c)·4 + i of the reordered block holds x[16g + 4i + c]:
    /// for Q8_0, byte c of the words of half g (values 16g + 4i + c); for Q4_1, nibble c of the
    /// words at bit 8c + 4g (low nibbles g = 0, values 4i + c; high nibbles g = 1, 16 + 4i + c).
    static func permute(_ x: UnsafePointer<Float>, _ xp: UnsafeMutablePointer<Float>, _ sums: UnsafeMutablePointer<Float>,
                        blocks: Int) {
        for b in 0..<blocks {
            let src = x + 32 * b, dst = xp + 32 * b
            var s: Float = 0
            for j in 0..<32 { s += src[j] }
            sums[b] = s
            for g in 0..<2 { for c in 0..<4 { for i in 0..<4 { dst[(g * 4 + c) * 4 + i] = src[16 * g + 4 * i + c] } } }
        }
    }

    static func quantized(_ format: PackedFormat, _ w: UnsafeRawPointer, x: UnsafePointer<Float>, sums: UnsafePointer<Float>,
                          rows: Int, out: Int, in n: Int, y: UnsafeMutablePointer<Float>) {
        let wa = Int(bitPattern: w), xa = Int(bitPattern: x), sa = Int(bitPattern: sums), ya = Int(bitPattern: y)
        let blocks = n / 32
        halfTable.withUnsafeBufferPointer { table in
            let ta = Int(bitPattern: table.baseAddress!)
            chunks(out, minRows: minOutputs(in: n, rows: rows)) { outputs in
                let w = UnsafeRawPointer(bitPattern: wa)!, x = UnsafePointer<Float>(bitPattern: xa)!
                let sums = UnsafePointer<Float>(bitPattern: sa)!, y = UnsafeMutablePointer<Float>(bitPattern: ya)!
                let table = UnsafePointer<Float>(bitPattern: ta)!
                switch format {
                case .q4_1:
                    let groups = rows / 4
                    for o in outputs {
                        let row = w + o * blocks * 20
                        for g in 0..<groups { q4_1Rows4(row, blocks, x + 4 * g * n, n, sums + 4 * g * blocks, table, y + 4 * g * out + o, out) }
                        for r in (4 * groups)..<rows { y[r * out + o] = q4_1Row1(row, blocks, x + r * n, sums + r * blocks, table) }
                    }
                case .q8_0:
                    let groups = rows / 4
                    for o in outputs {
                        let row = w + o * blocks * 34
                        for g in 0..<groups { q8_0Rows4(row, blocks, x + 4 * g * n, n, sums + 4 * g * blocks, table, y + 4 * g * out + o, out) }
                        for r in (4 * groups)..<rows { y[r * out + o] = q8_0Row1(row, blocks, x + r * n, sums + r * blocks, table) }
                    }
                case .f32:
                    preconditionFailure("f32 has its own kernel")
                }
            }
        }
    }

    /// The eight SIMD4 groups of values of one block, in the reordered lane order.
    typealias Block = (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>,
                       SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>)

    /// The 32 nibbles of a Q4_1 block as floats 0…15, without scale and offset. (Each nibble is
    /// shifted down before the conversion: converting it in place, as q·2^s, makes LLVM lower the
    /// conversion as unsigned, which baseline SSE2 does in several instructions.)
    @inline(__always) static func q4_1Nibbles(_ p: UnsafeRawPointer) -> Block {
        let q = p.loadUnaligned(as: SIMD4<UInt32>.self)
        let mask = SIMD4<UInt32>(repeating: 0x0F)
        @inline(__always) func f(_ v: SIMD4<UInt32>) -> SIMD4<Float> { SIMD4<Float>(SIMD4<Int32>(truncatingIfNeeded: v)) }
        return (f(q & mask), f((q &>> 8) & mask), f((q &>> 16) & mask), f((q &>> 24) & mask),
                f((q &>> 4) & mask), f((q &>> 12) & mask), f((q &>> 20) & mask), f(q &>> 28))
    }

    /// The 32 bytes of a Q8_0 block as unsigned floats q + 128 (0…255), without the scale: the
    /// kernel adds −128·d·Σx per block, as it adds Q4_1's offset. (Sign-extending each byte
    /// instead makes LLVM re-vectorise the block across lanes, at a third of the speed.)
    @inline(__always) static func q8_0Values(_ p: UnsafeRawPointer) -> Block {
        let flip = SIMD4<UInt32>(repeating: 0x8080_8080)
        let lo = p.loadUnaligned(as: SIMD4<UInt32>.self) ^ flip
        let hi = p.loadUnaligned(fromByteOffset: 16, as: SIMD4<UInt32>.self) ^ flip
        let mask = SIMD4<UInt32>(repeating: 0xFF)
        @inline(__always) func f(_ v: SIMD4<UInt32>) -> SIMD4<Float> { SIMD4<Float>(SIMD4<Int32>(truncatingIfNeeded: v)) }
        return (f(lo & mask), f((lo &>> 8) & mask), f((lo &>> 16) & mask), f(lo &>> 24),
                f(hi & mask), f((hi &>> 8) & mask), f((hi &>> 16) & mask), f(hi &>> 24))
    }

    /// Σ values · x over one block, as one SIMD4 (two interleaved partial sums, then added).
    @inline(__always) static func blockDot(_ v: Block, _ x: UnsafeRawPointer) -> SIMD4<Float> {
        @inline(__always) func xv(_ k: Int) -> SIMD4<Float> { x.loadUnaligned(fromByteOffset: 16 * k, as: SIMD4<Float>.self) }
        var p0 = v.0 * xv(0)
        var p1 = v.1 * xv(1)
        p0 += v.2 * xv(2)
        p1 += v.3 * xv(3)
        p0 += v.4 * xv(4)
        p1 += v.5 * xv(5)
        p0 += v.6 * xv(6)
        p1 += v.7 * xv(7)
        return p0 + p1
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int, _ table: UnsafePointer<Float>) -> Float {
        table[Int(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))]
    }

    @inline(__always) static func q4_1Row1(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Float>,
                                           _ sums: UnsafePointer<Float>, _ table: UnsafePointer<Float>) -> Float {
        var acc = SIMD4<Float>()
        var offset: Float = 0
        for b in 0..<blocks {
            let blk = w + b * 20
            let d = half(blk, 0, table), m = half(blk, 2, table)
            acc += blockDot(q4_1Nibbles(blk + 4), UnsafeRawPointer(x + 32 * b)) * d
            offset += m * sums[b]
        }
        return acc.sum() + offset
    }

    @inline(__always) static func q4_1Rows4(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Float>, _ n: Int,
                                            _ sums: UnsafePointer<Float>, _ table: UnsafePointer<Float>,
                                            _ y: UnsafeMutablePointer<Float>, _ ystride: Int) {
        var a0 = SIMD4<Float>(), a1 = SIMD4<Float>(), a2 = SIMD4<Float>(), a3 = SIMD4<Float>()
        var o0: Float = 0, o1: Float = 0, o2: Float = 0, o3: Float = 0
        for b in 0..<blocks {
            let blk = w + b * 20
            let d = half(blk, 0, table), m = half(blk, 2, table)
            let v = q4_1Nibbles(blk + 4)
            let xb = UnsafeRawPointer(x + 32 * b)
            a0 += blockDot(v, xb) * d
            a1 += blockDot(v, xb + 4 * n) * d
            a2 += blockDot(v, xb + 8 * n) * d
            a3 += blockDot(v, xb + 12 * n) * d
            o0 += m * sums[b]
            o1 += m * sums[blocks + b]
            o2 += m * sums[2 * blocks + b]
            o3 += m * sums[3 * blocks + b]
        }
        y[0] = a0.sum() + o0
        y[ystride] = a1.sum() + o1
        y[2 * ystride] = a2.sum() + o2
        y[3 * ystride] = a3.sum() + o3
    }

    @inline(__always) static func q8_0Row1(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Float>,
                                           _ sums: UnsafePointer<Float>, _ table: UnsafePointer<Float>) -> Float {
        var acc = SIMD4<Float>()
        var offset: Float = 0
        for b in 0..<blocks {
            let blk = w + b * 34
            let d = half(blk, 0, table)
            acc += blockDot(q8_0Values(blk + 2), UnsafeRawPointer(x + 32 * b)) * d
            offset += (-128 * d) * sums[b]
        }
        return acc.sum() + offset
    }

    @inline(__always) static func q8_0Rows4(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafePointer<Float>, _ n: Int,
                                            _ sums: UnsafePointer<Float>, _ table: UnsafePointer<Float>,
                                            _ y: UnsafeMutablePointer<Float>, _ ystride: Int) {
        var a0 = SIMD4<Float>(), a1 = SIMD4<Float>(), a2 = SIMD4<Float>(), a3 = SIMD4<Float>()
        var o0: Float = 0, o1: Float = 0, o2: Float = 0, o3: Float = 0
        for b in 0..<blocks {
            let blk = w + b * 34
            let d = half(blk, 0, table), m = -128 * d
            let v = q8_0Values(blk + 2)
            let xb = UnsafeRawPointer(x + 32 * b)
            a0 += blockDot(v, xb) * d
            a1 += blockDot(v, xb + 4 * n) * d
            a2 += blockDot(v, xb + 8 * n) * d
            a3 += blockDot(v, xb + 12 * n) * d
            o0 += m * sums[b]
            o1 += m * sums[blocks + b]
            o2 += m * sums[2 * blocks + b]
            o3 += m * sums[3 * blocks + b]
        }
        y[0] = a0.sum() + o0
        y[ystride] = a1.sum() + o1
        y[2 * ystride] = a2.sum() + o2
        y[3 * ystride] = a3.sum() + o3
    }
}
