// The decode kernels: products on GGUF blocks equal products on the dequantized Float32 weights,
// and a row's bits do not depend on the other rows of the batch.

import CKernels
import Foundation
import Models
import Tensors
import Testing
import WeightFiles

/// Random GGUF blocks of `format` for a `[rows, columns]` matrix (scales kept small and positive).
func randomBlocks(_ format: PackedFormat, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
    var rng = RNG(seed: seed)
    let blocks = rows * columns / 32
    var bytes: [UInt8] = []
    for _ in 0..<blocks {
        let d = GGML.floatToHalf(0.01 + 0.02 * rng.uniform())
        bytes += [UInt8(d & 0xFF), UInt8(d >> 8)]
        if format == .q4_1 {
            let m = GGML.floatToHalf(-0.1 + 0.05 * rng.uniform())
            bytes += [UInt8(m & 0xFF), UInt8(m >> 8)]
            for _ in 0..<16 { bytes.append(UInt8(truncatingIfNeeded: rng.nextUInt32())) }
        } else {
            for _ in 0..<32 { bytes.append(UInt8(truncatingIfNeeded: rng.nextUInt32())) }
        }
    }
    return bytes
}

/// Y = X · Wᵀ in Double, the reference for the kernels.
func referenceProduct(_ x: [Float], _ w: [Float], rows: Int, out: Int, in n: Int) -> [Double] {
    var y = [Double](repeating: 0, count: rows * out)
    for r in 0..<rows { for o in 0..<out { for i in 0..<n { y[r * out + o] += Double(x[r * n + i]) * Double(w[o * n + i]) } } }
    return y
}

@Suite struct PackedMatrixTests {
    static let shapes = [(out: 40, in: 64), (out: 7, in: 576), (out: 130, in: 96)]

    @Test(arguments: [PackedFormat.q8_0, .q4_1])
    func blocksMultiplyAsTheirDequantizedValues(format: PackedFormat) throws {
        for (index, shape) in PackedMatrixTests.shapes.enumerated() {
            let bytes = randomBlocks(format, rows: shape.out, columns: shape.in, seed: UInt64(index))
            let type: GGMLType = format == .q8_0 ? .q8_0 : .q4_1
            let w = try #require(GGML.dequantize(bytes, type: type, count: shape.out * shape.in))
            let matrix = try PackedMatrix(blocks: bytes, format: format, outFeatures: shape.out, inFeatures: shape.in)
            for rows in [1, 3, 4, 6] {
                var rng = RNG(seed: 99)
                let x = (0..<(rows * shape.in)).map { _ in rng.normal() }
                var y = [Float](repeating: 0, count: rows * shape.out)
                x.withUnsafeBufferPointer { px in
                    y.withUnsafeMutableBufferPointer { matrix.multiply(px.baseAddress!, rows: rows, into: $0.baseAddress!) }
                }
                let expected = referenceProduct(x, w, rows: rows, out: shape.out, in: shape.in)
                for k in y.indices {
                    #expect(
                        abs(Double(y[k]) - expected[k]) <= 1e-4 * (1 + abs(expected[k])),
                        "\(format) \(shape) rows \(rows) [\(k)]: \(y[k]) vs \(expected[k])")
                }
            }
        }
    }

    @Test(arguments: [PackedFormat.f32, .bf16, .q8_0, .q4_1])
    func rowsDoNotDependOnTheirNeighbours(format: PackedFormat) throws {
        let out = 70, n = 128
        let matrix: PackedMatrix
        if format == .f32 || format == .bf16 {
            var rng = RNG(seed: 4)
            let values = (0..<(out * n)).map { _ in rng.normal() }
            matrix =
                format == .f32
                ? PackedMatrix(floats: values, outFeatures: out, inFeatures: n)
                : PackedMatrix(bfloat16: values, outFeatures: out, inFeatures: n)
        } else {
            matrix = try PackedMatrix(blocks: randomBlocks(format, rows: out, columns: n, seed: 4), format: format, outFeatures: out, inFeatures: n)
        }
        var rng = RNG(seed: 8)
        let x = (0..<(7 * n)).map { _ in rng.normal() }
        func product(_ rows: [Int]) -> [[UInt32]] {
            let input = rows.flatMap { x[($0 * n)..<(($0 + 1) * n)] }
            var y = [Float](repeating: 0, count: rows.count * out)
            input.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { matrix.multiply(px.baseAddress!, rows: rows.count, into: $0.baseAddress!) }
            }
            return rows.indices.map { r in y[(r * out)..<((r + 1) * out)].map(\.bitPattern) }
        }
        let all = product(Array(0..<7))
        for r in 0..<7 { #expect(product([r])[0] == all[r], "row \(r) alone differs") }
        #expect(product([6, 2, 0, 5])[1] == all[2])
    }

    /// The kernels are built for AVX2 + FMA and for baseline x86-64, and a machine runs one of
    /// them: both must give the reference product, for every format and for lengths that are not a
    /// multiple of the vector width (LoRA ranks, odd heads).
    /// The format codes of `rlhf_matvec_baseline`.
    let cFormat: [PackedFormat: Int32] = [.f32: 0, .q8_0: 1, .q4_1: 2, .bf16: 3]

    @Test(arguments: [PackedFormat.f32, .q8_0, .q4_1, .bf16])
    func bothBuildsGiveTheReferenceProduct(format: PackedFormat) throws {
        for (out, n) in [(40, 64), (9, 37), (24, 8), (5, 96)] where format == .f32 || format == .bf16 || n % 32 == 0 {
            var rng = RNG(seed: UInt64(n))
            let matrix: PackedMatrix
            if format == .f32 {
                matrix = PackedMatrix(floats: (0..<(out * n)).map { _ in rng.normal() }, outFeatures: out, inFeatures: n)
            } else if format == .bf16 {
                matrix = PackedMatrix(bfloat16: (0..<(out * n)).map { _ in rng.normal() }, outFeatures: out, inFeatures: n)
            } else {
                matrix = try PackedMatrix(
                    blocks: randomBlocks(format, rows: out, columns: n, seed: 3), format: format,
                    outFeatures: out, inFeatures: n)
            }
            let w = matrix.dequantized()
            for rows in [1, 5] {
                let x = (0..<(rows * n)).map { _ in rng.normal() }
                let expected = referenceProduct(x, w, rows: rows, out: out, in: n)
                var host = [Float](repeating: 0, count: rows * out), baseline = host
                x.withUnsafeBufferPointer { px in
                    host.withUnsafeMutableBufferPointer { matrix.multiply(px.baseAddress!, rows: rows, into: $0.baseAddress!) }
                    baseline.withUnsafeMutableBufferPointer { py in
                        matrix.withStorage { storage in
                            rlhf_matvec_baseline(
                                cFormat[format]!, storage, px.baseAddress!, rows, n, 0,
                                out, py.baseAddress!, out)
                        }
                    }
                }
                for k in expected.indices {
                    let tolerance = 1e-5 * (1 + abs(expected[k]))
                    #expect(
                        abs(Double(host[k]) - expected[k]) <= tolerance, "\(PackedMatrix.instructionSet) \(format) [\(out), \(n)] rows \(rows) [\(k)]"
                    )
                    #expect(abs(Double(baseline[k]) - expected[k]) <= tolerance, "baseline \(format) [\(out), \(n)] rows \(rows) [\(k)]")
                }
            }
        }
    }

    @Test func bfloat16RoundsToNearestEven() {
        let values: [Float] = [
            1, -2.5, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F80_8001),
            .greatestFiniteMagnitude, -.infinity, .nan, 0x1p-130,
        ]
        let expected: [UInt32] = [0x3F80_0000, 0xC020_0000, 0x3F80_0000, 0x3F82_0000, 0x3F81_0000, 0x7F80_0000, 0xFF80_0000, 0, 0x0008_0000]
        let rounded = PackedMatrix(bfloat16: values, outFeatures: 1, inFeatures: values.count).dequantized()
        for (k, value) in rounded.enumerated() where !values[k].isNaN {
            #expect(value.bitPattern == expected[k], "\(values[k]): \(String(value.bitPattern, radix: 16))")
        }
        #expect(rounded[7].isNaN)
    }

    @Test func q8_0QuantizationIsCloseToTheValues() throws {
        var rng = RNG(seed: 2)
        let values = (0..<(8 * 64)).map { _ in rng.normal() }
        let matrix = try PackedMatrix.quantizeQ8_0(values, outFeatures: 8, inFeatures: 64)
        var identity = [Float](repeating: 0, count: 64 * 64)
        for i in 0..<64 { identity[i * 64 + i] = 1 }
        var y = [Float](repeating: 0, count: 64 * 8)
        identity.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { matrix.multiply(px.baseAddress!, rows: 64, into: $0.baseAddress!) }
        }
        // y[i, o] = W[o, i]: each value within half a quantization step of the original.
        for o in 0..<8 {
            let block = values[(o * 64)..<(o * 64 + 32)]
            let step = block.map(abs).max()! / 127
            // Half a step, plus the Float16 rounding of the scale (127 · 2⁻¹¹ steps).
            for i in 0..<32 { #expect(abs(y[i * 8 + o] - values[o * 64 + i]) <= step * 0.57 + 1e-6) }
        }
    }
}

/// The attention kernel of decoding against softmax(q·Kᵀ·scale)·V in Double, with score gaps
/// from 0 to past the −87 where its exp flushes to zero, and head sizes off the vector width.
@Suite struct CacheAttentionTests {
    @Test(arguments: [(3, 1), (8, 7), (40, 8), (64, 37)])
    func groupAttentionMatchesTheReference(dh: Int, count: Int) {
        var rng = RNG(seed: UInt64(dh * 100 + count))
        let heads = 2, slots = count + 3
        let keys = (0..<(slots * dh)).map { _ in rng.normal() }, values = (0..<(slots * dh)).map { _ in rng.normal() }
        // Every other slot, in order, as a cache with padding holds them.
        let columns = (0..<count).map { $0 * slots / count }
        for spread: Float in [0.5, 8, 40] {
            let q = (0..<(heads * dh)).map { _ in rng.normal() * spread }
            let scale = 1 / Float(dh).squareRoot()
            var scores = [Float](repeating: 0, count: heads * count), out = [Float](repeating: 0, count: heads * dh)
            columns.withUnsafeBufferPointer { cols in
                rlhf_attend_group(q, dh, heads, keys, values, cols.baseAddress, count, dh, scale, &scores, &out)
            }
            for m in 0..<heads {
                let logits = columns.map { c in (0..<dh).reduce(0.0) { $0 + Double(q[m * dh + $1]) * Double(keys[c * dh + $1]) } * Double(scale) }
                let top = logits.max()!
                let weights = logits.map { Foundation.exp($0 - top) }, total = weights.reduce(0, +)
                for d in 0..<dh {
                    let expected = zip(weights, columns).reduce(0.0) { $0 + $1.0 / total * Double(values[$1.1 * dh + d]) }
                    #expect(
                        abs(Double(out[m * dh + d]) - expected) <= 2e-5 * (1 + abs(expected)),
                        "dh \(dh) count \(count) spread \(spread) head \(m) [\(d)]: \(out[m * dh + d]) vs \(expected)")
                }
            }
        }
    }
}
