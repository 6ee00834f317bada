import CKernels
import Foundation
import Tensors
import WeightFiles

// Matrix–vector products for decoding, on weights kept in the bytes they were stored in.
//
// Shapes: a weight is W [O, I] (out × in, row-major, as nn.Linear stores it); the input is
// X [R, I] (R rows, one token each); the output is Y [R, O] = X · Wᵀ.
//
// Decoding one token reads every weight once, so its speed is the speed of reading W. Float32
// SmolLM2 is ~540 MB a token; its GGUF blocks (Q4_1 and Q8_0) are ~96 MB, bfloat16 copies half of
// Float32. The kernels read the stored format and convert it in registers (with four or more rows,
// a quantized weight row is dequantized once into a small scratch row shared by all of them).
//
// Every output Y[r, o] is computed by one thread, from row r of X alone, in an order fixed by I:
// so the bits of a row never depend on the thread count or on the other rows in the batch (a
// sample's tokens do not depend on its batch neighbours). Rows and outputs are grouped only to
// reuse loads; each output's arithmetic is the same as when it is alone.
//
// Block layouts (ggml): Q8_0 = f16 d, i8 q[32] (x = q·d); Q4_1 = f16 d, f16 m, u8 qs[16]
// (x = nibble·d + m; byte j's low nibble is value j, its high nibble value j + 16). The kernels
// are C (`Sources/CKernels`), built twice: for AVX2 + FMA and for baseline x86-64, chosen once at
// load, so a machine always computes the same bits.

/// How a ``PackedMatrix`` stores its weights.
public enum PackedFormat: String, Sendable, CaseIterable {
    /// Float32, row-major `[out, in]`.
    case f32
    /// GGUF Q8_0 blocks: 32 values in 34 bytes.
    case q8_0
    /// GGUF Q4_1 blocks: 32 values in 20 bytes.
    case q4_1
    /// bfloat16, row-major `[out, in]`: the high half of each Float32, rounded to nearest even.
    case bf16

    /// Bytes per weight, on average.
    public var bytesPerValue: Double {
        switch self {
        case .f32: return 4
        case .q8_0: return 34.0 / 32
        case .q4_1: return 20.0 / 32
        case .bf16: return 2
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
        guard format == .q8_0 || format == .q4_1, inFeatures % 32 == 0 else {
            throw ModelError.invalidInput("PackedMatrix: \(format) needs a quantized format and in-features divisible by 32 (got \(inFeatures))")
        }
        let expected = Int(format.bytesPerValue * 32) * (inFeatures / 32) * outFeatures
        guard blocks.count == expected else {
            throw ModelError.invalidInput(
                "PackedMatrix: \(blocks.count) bytes of \(format) blocks, [\(outFeatures), \(inFeatures)] needs \(expected)")
        }
        self.format = format
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        floats = []
        bytes = blocks
    }

    /// Rounds Float32 weights `[out, in]` to bfloat16 (to nearest, ties to even; NaN stays NaN).
    public init(bfloat16 values: [Float], outFeatures: Int, inFeatures: Int) {
        precondition(values.count == outFeatures * inFeatures, "PackedMatrix: \(values.count) values for [\(outFeatures), \(inFeatures)]")
        format = .bf16
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        floats = []
        var out = [UInt8](repeating: 0, count: 2 * values.count)
        for (i, value) in values.enumerated() {
            let bits = value.bitPattern
            let half = value.isNaN ? UInt16(bits >> 16) | 0x40 : UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
            out[2 * i] = UInt8(half & 0xFF)
            out[2 * i + 1] = UInt8(half >> 8)
        }
        bytes = out
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
        case .bf16:
            return bytes.withUnsafeBytes { raw in
                (0..<(outFeatures * inFeatures)).map { Float(bitPattern: UInt32(raw.load(fromByteOffset: 2 * $0, as: UInt16.self)) << 16) }
            }
        }
    }

    /// Which build of the kernels this machine runs: "avx2+fma" or "baseline".
    public static var instructionSet: String { String(cString: rlhf_kernel_isa()) }

    /// The stored weights as the kernels read them: Float32 values or the raw blocks.
    public func withStorage<R>(_ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        format == .f32 ? try floats.withUnsafeBytes { try body($0.baseAddress!) } : try bytes.withUnsafeBytes { try body($0.baseAddress!) }
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
        case .bf16:
            bytes.withUnsafeBytes { raw in
                PackedKernels.run(rlhf_matvec_bf16, raw.baseAddress!, x: x, rows: rows, out: outFeatures, in: inFeatures, y: y)
            }
        case .q8_0, .q4_1:
            let kernel = format == .q8_0 ? rlhf_matvec_q8_0 : rlhf_matvec_q4_1
            bytes.withUnsafeBytes { raw in
                PackedKernels.run(kernel, raw.baseAddress!, x: x, rows: rows, out: outFeatures, in: inFeatures, y: y)
            }
        }
    }
}

/// Kernels behind ``PackedMatrix``: the C kernels of `CKernels` (AVX2 + FMA where the CPU has
/// them), with the outputs split into chunks over the worker threads.
enum PackedKernels {
    /// Parallel chunks of a product's outputs: about 64k multiply-adds each, so that claiming a
    /// chunk costs little beside it, and at most 16, enough for threads to share the work evenly.
    @inline(__always) static func chunkCount(out: Int, in n: Int, rows: Int) -> Int {
        max(1, min(16, out / 2, out * n * rows / 65_536))
    }

    static func f32(
        _ w: UnsafePointer<Float>, x: UnsafePointer<Float>, rows: Int, out: Int, in n: Int,
        y: UnsafeMutablePointer<Float>
    ) {
        run(rlhf_matvec_f32, UnsafeRawPointer(w), x: x, rows: rows, out: out, in: n, y: y)
    }

    /// Runs `kernel` over chunks of the outputs (boundaries from the shape alone), on whichever
    /// thread is free; each output is computed whole by one thread.
    static func run(
        _ kernel: (UnsafeRawPointer?, UnsafePointer<Float>?, Int, Int, Int, Int, UnsafeMutablePointer<Float>?, Int) -> Void,
        _ w: UnsafeRawPointer, x: UnsafePointer<Float>, rows: Int, out: Int, in n: Int, y: UnsafeMutablePointer<Float>
    ) {
        guard out > 0, rows > 0 else { return }
        let chunks = chunkCount(out: out, in: n, rows: rows)
        Parallel.perform(chunks) { c in
            kernel(w, x, rows, n, out * c / chunks, out * (c + 1) / chunks, y, out)
        }
    }
}
