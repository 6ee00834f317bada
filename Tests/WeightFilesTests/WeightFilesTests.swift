// The weight-file readers: safetensors in and out (bit-exact, with typed errors for damaged
// files), GGUF headers, metadata and dequantization, and llama.cpp's Q/K row permutation.

import FixtureSupport
import Foundation
import Testing
import WeightFiles

// MARK: - Helpers

struct MissingSmolLM2: Error, CustomStringConvertible {
    var description: String {
        "SmolLM2-135M-Instruct.Q4_1.gguf is missing from .cache/models: run scripts/fetch-smollm2 "
            + "(or set RLHF_SMOLLM2_GGUF to the file)"
    }
}

/// The SmolLM2 GGUF; throws (failing the test) with the fetch command when it is missing.
func smolLM2URL() throws -> URL {
    guard let url = Fixtures.smolLM2GGUF, FileManager.default.fileExists(atPath: url.path) else {
        throw MissingSmolLM2()
    }
    return url
}

/// The half-precision bytes of `value`.
func halfBytes(_ value: Float) -> [UInt8] { littleEndian(GGML.floatToHalf(value)) }

// MARK: - safetensors

@Suite struct SafetensorsTests {
    static let fixtures = ["tiny_llama.safetensors", "tiny_gpt2.safetensors"]

    func url(_ name: String) -> URL { Fixtures.root.appendingPathComponent("reference").appendingPathComponent(name) }

    @Test func readsTheTinyLlama() throws {
        let file = try SafetensorsFile(url: url("tiny_llama.safetensors"))
        #expect(file.metadata == ["format": "pt"])
        let embed = try file.info("model.embed_tokens.weight")
        #expect(embed.dtype == .f32 && embed.shape == [50, 32])
        #expect(try file.info("model.layers.0.mlp.down_proj.weight").shape == [32, 64])
        #expect(try file.info("model.layers.1.self_attn.k_proj.weight").shape == [16, 32])
        let values = try file.floats("model.layers.0.input_layernorm.weight")
        #expect(values.count == 32 && values.allSatisfy(\.isFinite))
        #expect(file.names.contains("lm_head.weight"))
    }

    @Test func readsTheTinyGPT2() throws {
        let file = try SafetensorsFile(url: url("tiny_gpt2.safetensors"))
        #expect(try file.info("transformer.h.0.attn.c_attn.weight").shape == [32, 96])
        #expect(try file.floats("transformer.h.0.attn.c_attn.bias").count == 96)
    }

    @Test("write reproduces the file byte for byte", arguments: fixtures)
    func roundTripIsBitExact(name: String) throws {
        let original = try Array(Data(contentsOf: url(name)))
        let file = try SafetensorsFile(url: url(name))
        var tensors: [String: SafetensorsTensor] = [:]
        for tensorName in file.names {
            tensors[tensorName] = SafetensorsTensor(shape: try file.info(tensorName).shape, values: try file.floats(tensorName))
        }
        let written = try SafetensorsFile.serialize(tensors, metadata: file.metadata)
        #expect(written == original)

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rt-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: out) }
        try SafetensorsFile.write(tensors, metadata: file.metadata, to: out)
        #expect(try Array(Data(contentsOf: out)) == original, "the streamed file is the serialized bytes")
        let reread = try SafetensorsFile(url: out)
        for tensorName in file.names {
            let a = try file.floats(tensorName).map(\.bitPattern)
            let b = try reread.floats(tensorName).map(\.bitPattern)
            #expect(a == b, "\(tensorName)")
        }
    }

    @Test func writingIntoAMissingFolderSaysWhere() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("missing-\(UUID().uuidString)")
        let target = folder.appendingPathComponent("model.safetensors")
        #expect {
            try SafetensorsFile.write(["w": SafetensorsTensor(shape: [1], values: [1])], to: target)
        } throws: { error in
            "\(error)".contains(target.path) && "\(error)".contains("cannot write")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path))
    }

    @Test func writerPadsTheHeaderToEightBytesAndEscapesNames() throws {
        let special = "odd \"name\"\n\u{1}ü"
        let bytes = try SafetensorsFile.serialize(
            [
                "b": SafetensorsTensor(shape: [2], values: [1, -0.0]), special: SafetensorsTensor(shape: [], values: [.nan]),
                "a": SafetensorsTensor(shape: [1, 0], values: []),
            ], metadata: nil)
        let headerLength = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect(headerLength % 8 == 0)
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix(#"{"a":{"dtype":"F32","shape":[1,0],"data_offsets":[0,0]},"b":"#))
        #expect(header.contains(#""odd \"name\"\n\u0001ü""#))
        let file = try SafetensorsFile(bytes: bytes)
        #expect(file.metadata.isEmpty)
        #expect(try file.floats("b").map(\.bitPattern) == [Float(1).bitPattern, Float(-0.0).bitPattern])
        #expect(try file.floats(special)[0].isNaN)
        #expect(try file.floats("a").isEmpty)
    }

    @Test func readsHalfPrecisionTypes() throws {
        let header =
            #"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]},"i":{"dtype":"I64","shape":[1],"data_offsets":[10,18]}}"#
        var bytes = littleEndian(UInt64(header.utf8.count)) + Array(header.utf8)
        bytes += littleEndian(UInt16(0x3C00)) + littleEndian(UInt16(0xC000)) + littleEndian(UInt16(0x0001))  // 1, -2, 2^-24
        bytes += littleEndian(UInt16(0x3F80)) + littleEndian(UInt16(0x4049))  // 1, 3.140625
        bytes += littleEndian(Int64(7))
        let file = try SafetensorsFile(bytes: bytes, name: "half.safetensors")
        #expect(try file.floats("h") == [1, -2, Float(1) / 16_777_216])
        #expect(try file.floats("b") == [1, 3.140625])
        #expect(try file.rawBytes("i") == littleEndian(Int64(7)))
        let intError = errorText { _ = try file.floats("i") }
        #expect(intError.contains("half.safetensors") && intError.contains("I64"))
    }

    @Test func damagedFilesGiveTypedErrors() throws {
        let good = try Array(Data(contentsOf: url("tiny_llama.safetensors")))
        let headerLength = Int(good[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        func open(_ bytes: [UInt8]) -> String { errorText { _ = try SafetensorsFile(bytes: bytes, name: "broken.safetensors") } }
        func withHeader(_ json: String, data: Int = 8) -> [UInt8] {
            littleEndian(UInt64(json.utf8.count)) + Array(json.utf8) + [UInt8](repeating: 0, count: data)
        }

        let short = open([1, 2, 3])
        #expect(short.contains("broken.safetensors") && short.contains("truncated"))
        let tooLong = open(littleEndian(UInt64(1 << 40)) + Array(good[8..<100]))
        #expect(tooLong.contains("header length") && tooLong.contains("exceeds"))
        let cut = open(Array(good[0..<(8 + headerLength + 100)]))
        #expect(cut.contains("outside") && cut.contains("broken.safetensors"))
        let badJSON = open(withHeader("{\"a\": [1, 2"))
        #expect(badJSON.contains("not valid JSON"))
        let notObject = open(withHeader("[1, 2, 3]"))
        #expect(notObject.contains("not a JSON object"))
        let dtype = open(withHeader(#"{"w":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}}"#))
        #expect(dtype.contains("F17") && dtype.contains("'w'"))
        let mismatch = open(withHeader(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#))
        #expect(mismatch.contains("needs 12 bytes"))
        let backwards = open(withHeader(#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#))
        #expect(backwards.contains("outside"))
        let noOffsets = open(withHeader(#"{"w":{"dtype":"F32","shape":[2]}}"#))
        #expect(noOffsets.contains("data_offsets"))
        let negativeShape = open(withHeader(#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#))
        #expect(negativeShape.contains("shape"))
        let metadata = open(withHeader(#"{"__metadata__":{"format":1}}"#))
        #expect(metadata.contains("__metadata__"))

        let missing = errorText { _ = try SafetensorsFile(url: URL(fileURLWithPath: "/nonexistent/model.safetensors")) }
        #expect(missing.contains("/nonexistent/model.safetensors") && missing.contains("cannot open"))
        let file = try SafetensorsFile(url: url("tiny_llama.safetensors"))
        let unknown = errorText { _ = try file.floats("model.layers.0.mlp.up_proj") }
        #expect(unknown.contains("model.layers.0.mlp.up_proj.weight"))
        let shape = errorText { _ = try SafetensorsFile.serialize(["w": SafetensorsTensor(shape: [2, 2], values: [1])]) }
        #expect(shape.contains("'w'") && shape.contains("[2, 2]"))
    }
}

// MARK: - GGUF

@Suite struct GGUFTests {
    func smolLM2() throws -> GGUFFile { try GGUFFile(url: try smolLM2URL()) }

    @Test func smolLM2HeaderAndMetadata() throws {
        let file = try smolLM2()
        #expect(file.version == 3)
        #expect(file.architecture == "llama")
        #expect(file.alignment == 32)
        #expect(file.dataOffset == 1_785_664)
        #expect(file.tensors.count == 272)
        #expect(try file.int("llama.block_count") == 30)
        #expect(try file.int("llama.embedding_length") == 576)
        #expect(try file.int("llama.feed_forward_length") == 1536)
        #expect(try file.int("llama.attention.head_count") == 9)
        #expect(try file.int("llama.attention.head_count_kv") == 3)
        #expect(try file.int("llama.context_length") == 8192)
        #expect(try file.int("llama.vocab_size") == 49152)
        #expect(try file.double("llama.rope.freq_base") == 100_000)
        #expect(try Float(file.double("llama.attention.layer_norm_rms_epsilon")) == Float(1e-5))
        #expect(try file.strings("general.languages") == ["en"])
        #expect(try file.strings("tokenizer.ggml.tokens").count == 49152)
        #expect(file.metadata["tokenizer.ggml.add_bos_token"] == .bool(false))
        #expect(file.chatTemplateSource?.contains("<|im_start|>") == true)
        let wrongType = errorText { _ = try file.int("general.name") }
        #expect(wrongType.contains("general.name") && wrongType.contains("integer"))
        let missing = errorText { _ = try file.string("llama.nonexistent") }
        #expect(missing.contains("llama.nonexistent") && missing.contains("missing"))
    }

    @Test func smolLM2TensorInfos() throws {
        let file = try smolLM2()
        let embed = try file.info("token_embd.weight")
        #expect(embed.type == .q8_0 && embed.dimensions == [576, 49152] && embed.shape == [49152, 576])
        #expect(embed.bytesPerRow == 576 / 32 * 34)
        let q = try file.info("blk.0.attn_q.weight")
        #expect(q.type == .q4_1 && q.shape == [576, 576])
        #expect(try file.info("blk.0.attn_k.weight").shape == [192, 576])
        #expect(try file.info("blk.0.ffn_down.weight").shape == [576, 1536])
        #expect(try file.info("blk.29.ffn_gate.weight").shape == [1536, 576])
        #expect(try file.info("output_norm.weight").type == .f32)
        #expect(!file.contains("output.weight"))  // tied to token_embd
        let types = Set(file.tensors.map(\.type))
        #expect(types == [.f32, .q4_1, .q8_0])
        let unknown = errorText { _ = try file.info("blk.0.attn_q") }
        #expect(unknown.contains("blk.0.attn_q.weight"))
        #expect(try file.rawBytes("blk.0.attn_q.weight").count == 576 * 576 / 32 * 20)
    }

    /// Values that gguf-py's `dequantize` gives for the same tensors.
    @Test func smolLM2DequantizesLikeGGUFPy() throws {
        let file = try smolLM2()
        let embed = try file.floats("token_embd.weight")
        #expect(embed.count == 49152 * 576)
        #expect(
            Array(embed[(504 * 576)..<(504 * 576 + 6)])
                == [
                    0.1096038818359375, 0.017436981201171875, -0.09465789794921875, 0.08220291137695312, 0.09216690063476562,
                    -0.027400970458984375,
                ])
        #expect(Array(embed[(49151 * 576)..<(49151 * 576 + 3)]) == [0.011505126953125, 0.0057525634765625, 0.0977935791015625])
        let q = try file.floats("blk.0.attn_q.weight")
        #expect(
            Array(q[0..<6]) == [
                -0.0963134765625, 0.1573486328125, -0.0963134765625, -0.73046875, 1.1719970703125, -0.0963134765625,
            ])
        #expect(q[(575 * 576)..<(576 * 576)].reduce(0.0) { $0 + Double($1) } == -4.734954833984375)
        let k = try file.floats("blk.0.attn_k.weight")
        #expect(Array(k[(191 * 576)..<(191 * 576 + 4)]) == [0.015869140625, -0.4342041015625, 0.015869140625, -0.7342529296875])
        let norm = try file.floats("output_norm.weight")
        #expect(Array(norm[0..<6]) == [1.7578125, 1.8203125, 1.78125, 1.6015625, 1.7421875, 1.71875])
        #expect(norm.reduce(0.0) { $0 + Double($1) } == 1038.33203125)
    }

    @Test func truncatedAndForeignFilesGiveTypedErrors() throws {
        let url = try smolLM2URL()
        let handle = try FileHandle(forReadingFrom: url)
        let head = try Array(handle.read(upToCount: 1_900_000) ?? Data())
        try handle.close()
        func open(_ bytes: [UInt8]) -> String { errorText { _ = try GGUFFile(bytes: bytes, name: "cut.gguf") } }

        let inMetadata = open(Array(head[0..<5000]))
        #expect(inMetadata.contains("cut.gguf") && inMetadata.contains("truncated"))
        let inData = open(head)
        #expect(inData.contains("truncated") && inData.contains("ends at byte"))
        #expect(open(Array(head[0..<10])).contains("truncated"))
        let magic = open(Array("GGML".utf8) + Array(head[4..<64]))
        #expect(magic.contains("not a GGUF file"))
        let version1 = open(Array(head[0..<4]) + littleEndian(UInt32(1)) + Array(head[8..<64]))
        #expect(version1.contains("version 1"))
        let huge = open(Array(head[0..<8]) + littleEndian(UInt64(1) << 40) + Array(head[16..<64]))
        #expect(huge.contains("cannot fit"))
        let missing = errorText { _ = try GGUFFile(url: URL(fileURLWithPath: "/nonexistent/model.gguf")) }
        #expect(missing.contains("/nonexistent/model.gguf"))
    }

    @Test func readsEveryMetadataTypeInVersion2() throws {
        var builder = GGUFBuilder()
        builder.version = 2
        builder.alignment = 64
        builder.add("u8", type: .uint8, [200])
        builder.add("i8", type: .int8, [0xFF])
        builder.add("u16", type: .uint16, littleEndian(UInt16(60000)))
        builder.add("i16", type: .int16, littleEndian(Int16(-300)))
        builder.add("u32", type: .uint32, littleEndian(UInt32(4_000_000_000)))
        builder.add("i32", type: .int32, littleEndian(Int32(-5)))
        builder.add("f32", type: .float32, littleEndian(Float(1.5).bitPattern))
        builder.add("bool", type: .bool, [1])
        builder.add("str", type: .string, GGUFBuilder.string("héllo"))
        builder.add("u64", type: .uint64, littleEndian(UInt64(1) << 40))
        builder.add("i64", type: .int64, littleEndian(Int64(-7)))
        builder.add("f64", type: .float64, littleEndian(Double(0.25).bitPattern))
        builder.add(
            "ints", type: .array,
            littleEndian(GGUFValueType.int32.rawValue) + littleEndian(UInt64(3))
                + littleEndian(Int32(1)) + littleEndian(Int32(-2)) + littleEndian(Int32(3)))
        builder.add(
            "nested", type: .array,
            littleEndian(GGUFValueType.array.rawValue) + littleEndian(UInt64(1))
                + littleEndian(GGUFValueType.uint8.rawValue) + littleEndian(UInt64(2)) + [7, 8])
        builder.addStrings("words", ["a", "", "ü"])
        builder.tensors.append(("vector", [3], 0, [Float(1), 2, 3].flatMap { littleEndian($0.bitPattern) }))
        builder.tensors.append(("matrix", [2, 3], 1, [Float(1), -2, 0.5, 0, 65504, -0.25].flatMap(halfBytes)))

        let file = try GGUFFile(bytes: builder.build(), name: "v2.gguf")
        #expect(file.version == 2 && file.alignment == 64 && file.dataOffset % 64 == 0)
        #expect(file.metadataKeys.first == "general.alignment")
        #expect(file.metadata["u8"] == .uint8(200) && file.metadata["i8"] == .int8(-1))
        #expect(try file.int("u16") == 60000 && file.int("i16") == -300 && file.int("u32") == 4_000_000_000)
        #expect(try file.int("i32") == -5 && file.int("u64") == 1 << 40 && file.int("i64") == -7)
        #expect(try file.double("f32") == 1.5 && file.double("f64") == 0.25)
        #expect(file.metadata["bool"] == .bool(true))
        #expect(try file.string("str") == "héllo")
        #expect(try file.ints("ints") == [1, -2, 3])
        #expect(file.metadata["nested"] == .array(.array, [.array(.uint8, [.uint8(7), .uint8(8)])]))
        #expect(try file.strings("words") == ["a", "", "ü"])
        #expect(try file.floats("vector") == [1, 2, 3])
        let matrix = try file.info("matrix")
        #expect(matrix.shape == [3, 2] && matrix.type == .f16)
        #expect(try file.floats("matrix") == [1, -2, 0.5, 0, 65504, -0.25])
    }

    @Test func rejectsMisalignedOffsetsAndUnknownBlocks() throws {
        var builder = GGUFBuilder()
        builder.tensors.append(("w", [33], GGMLType.q8_0.rawValue, [UInt8](repeating: 0, count: 68)))
        let ragged = errorText { _ = try GGUFFile(bytes: builder.build(), name: "ragged.gguf") }
        #expect(ragged.contains("not a multiple of the Q8_0 block size 32"))

        var unknown = GGUFBuilder()
        unknown.tensors.append(("x", [4], 99, [0, 0, 0, 0]))
        let file = try GGUFFile(bytes: unknown.build(), name: "future.gguf")
        let message = errorText { _ = try file.floats("x") }
        #expect(message.contains("type 99"))
    }
}

// MARK: - Dequantization of hand-made blocks

@Suite struct DequantizationTests {
    @Test func q8_0() {
        // d = 0.5, q = -16...15 → x = q / 2.
        let quants = (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        let values = GGML.dequantize(halfBytes(0.5) + quants, type: .q8_0, count: 32)
        #expect(values == (0..<32).map { Float($0 - 16) * 0.5 })
    }

    @Test func q4_0() {
        // d = 2; byte j holds value j in its low nibble and value j+16 in its high nibble.
        let nibbles = (0..<32).map { UInt8($0 % 16) }
        let packed = (0..<16).map { nibbles[$0] | nibbles[$0 + 16] << 4 }
        let values = GGML.dequantize(halfBytes(2) + packed, type: .q4_0, count: 32)
        #expect(values == nibbles.map { (Float($0) - 8) * 2 })
    }

    @Test func q4_1() {
        // d = 0.25, m = -1: x = nibble · 0.25 − 1; two blocks to check the stride.
        let low = (0..<16).map { UInt8($0) }
        let high = (0..<16).map { UInt8(15 - $0) }
        let block = halfBytes(0.25) + halfBytes(-1) + (0..<16).map { low[$0] | high[$0] << 4 }
        let second = halfBytes(1) + halfBytes(0.5) + [UInt8](repeating: 0x21, count: 16)
        let values = GGML.dequantize(block + second, type: .q4_1, count: 64)
        let expected =
            (low + high).map { Float($0) * 0.25 - 1 } + [Float](repeating: 1.5, count: 16) + [Float](repeating: 2.5, count: 16)
        #expect(values == expected)
    }

    @Test func q5_0AndQ5_1UseTheFifthBit() {
        // All nibbles 0; high bits set for values 0 and 16 only (qh bits 0 and 16).
        let qh = littleEndian(UInt32(1 | 1 << 16))
        let zeros = [UInt8](repeating: 0, count: 16)
        let q5_0 = GGML.dequantize(halfBytes(1) + qh + zeros, type: .q5_0, count: 32)!
        #expect(q5_0[0] == 0 && q5_0[16] == 0 && q5_0[1] == -16 && q5_0[17] == -16)
        let q5_1 = GGML.dequantize(halfBytes(1) + halfBytes(0.5) + qh + zeros, type: .q5_1, count: 32)!
        #expect(q5_1[0] == 16.5 && q5_1[16] == 16.5 && q5_1[1] == 0.5)
    }

    @Test func halfAndBFloatConversions() {
        #expect(GGML.halfToFloat(0x3C00) == 1)
        #expect(GGML.halfToFloat(0x7BFF) == 65504)
        #expect(GGML.halfToFloat(0x0001) == Float(1) / 16_777_216)  // smallest subnormal
        #expect(GGML.halfToFloat(0x8000).bitPattern == Float(-0.0).bitPattern)
        #expect(GGML.halfToFloat(0x7C00) == .infinity && GGML.halfToFloat(0x7E00).isNaN)
        // Every finite half survives a round trip through Float.
        for bits in UInt16(0)...UInt16.max where bits & 0x7C00 != 0x7C00 {
            if GGML.floatToHalf(GGML.halfToFloat(bits)) != bits {
                Issue.record("half \(bits) does not round-trip")
                break
            }
        }
        let bf16 = GGML.dequantize(littleEndian(UInt16(0xBFC0)) + littleEndian(UInt16(0x7F80)), type: .bf16, count: 2)
        #expect(bf16 == [-1.5, .infinity])
    }

    @Test func refusesPartialBlocksAndUnknownTypes() {
        #expect(GGML.dequantize([UInt8](repeating: 0, count: 34), type: .q8_0, count: 16) == nil)
        #expect(GGML.dequantize([UInt8](repeating: 0, count: 10), type: .q8_0, count: 32) == nil)
        #expect(GGML.dequantize([0, 0], type: GGMLType(rawValue: 99), count: 1) == nil)
        #expect(GGMLType.q4_1.name == "Q4_1" && GGMLType(rawValue: 99).name == "type 99")
    }
}

// MARK: - Llama layout

@Suite struct LlamaGGUFLayoutTests {
    @Test func permutationMatchesLlamaCpp() {
        // llama.cpp: w.reshape(heads, 2, d/2, cols).swapaxes(1, 2).reshape(rows, cols).
        // Two heads of size 4 → GGUF row order [0, 2, 1, 3, 4, 6, 5, 7].
        #expect(permuteLlamaQK(Array(0..<8), rows: 8, rowLength: 1, heads: 2) == [0, 2, 1, 3, 4, 6, 5, 7])
        // One head of size 6: rows (p, i) → (i, p).
        #expect(permuteLlamaQK(Array(0..<6), rows: 6, rowLength: 1, heads: 1) == [0, 3, 1, 4, 2, 5])
    }

    @Test func unpermuteUndoesPermute() {
        let rows = 192
        let columns = 5
        let heads = 3
        let values = (0..<(rows * columns)).map { Float($0) }
        let permuted = permuteLlamaQK(values, rows: rows, rowLength: columns, heads: heads)
        #expect(permuted != values)
        #expect(unpermuteLlamaQK(permuted, rows: rows, rowLength: columns, heads: heads) == values)
        // Whole rows move: raw quantized rows can be reordered the same way.
        let bytes = (0..<(8 * 40)).map { UInt8($0 % 251) }
        #expect(
            unpermuteLlamaQK(permuteLlamaQK(bytes, rows: 8, rowLength: 40, heads: 2), rows: 8, rowLength: 40, heads: 2) == bytes)
    }

    @Test func tensorNamesMapBothWays() {
        let pairs = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
            ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"),
            ("blk.7.attn_q.weight", "model.layers.7.self_attn.q_proj.weight"),
            ("blk.7.attn_k.weight", "model.layers.7.self_attn.k_proj.weight"),
            ("blk.7.attn_v.weight", "model.layers.7.self_attn.v_proj.weight"),
            ("blk.7.attn_output.weight", "model.layers.7.self_attn.o_proj.weight"),
            ("blk.29.ffn_norm.weight", "model.layers.29.post_attention_layernorm.weight"),
            ("blk.29.ffn_gate.weight", "model.layers.29.mlp.gate_proj.weight"),
            ("blk.29.ffn_up.weight", "model.layers.29.mlp.up_proj.weight"),
            ("blk.29.ffn_down.weight", "model.layers.29.mlp.down_proj.weight"),
        ]
        for (gguf, hf) in pairs {
            #expect(GGUFLlamaNames.huggingFaceName(gguf) == hf)
            #expect(GGUFLlamaNames.ggufName(hf) == gguf)
        }
        #expect(GGUFLlamaNames.huggingFaceName("blk.x.attn_q.weight") == nil)
        #expect(GGUFLlamaNames.huggingFaceName("rope_freqs.weight") == nil)
    }

    @Test func everySmolLM2TensorHasAHuggingFaceName() throws {
        let file = try GGUFFile(url: try smolLM2URL())
        let unmapped = file.tensors.map(\.name).filter { GGUFLlamaNames.huggingFaceName($0) == nil }
        #expect(unmapped.isEmpty)
    }

    @Test func smolLM2WeightsInTransformersLayout() throws {
        let file = try GGUFFile(url: try smolLM2URL())
        let q = try file.llamaFloats(huggingFaceName: "model.layers.0.self_attn.q_proj.weight")
        #expect(q.shape == [576, 576])
        #expect(q.values == unpermuteLlamaQK(try file.floats("blk.0.attn_q.weight"), rows: 576, rowLength: 576, heads: 9))
        let k = try file.llamaFloats(huggingFaceName: "model.layers.0.self_attn.k_proj.weight")
        #expect(k.shape == [192, 576])
        #expect(k.values == unpermuteLlamaQK(try file.floats("blk.0.attn_k.weight"), rows: 192, rowLength: 576, heads: 3))
        // HF row 32 of head 0 (second half) is GGUF row 1.
        let rawK = try file.floats("blk.0.attn_k.weight")
        #expect(Array(k.values[(32 * 576)..<(33 * 576)]) == Array(rawK[576..<1152]))
        let v = try file.llamaFloats(huggingFaceName: "model.layers.0.self_attn.v_proj.weight")
        #expect(v.values == (try file.floats("blk.0.attn_v.weight")))
        let head = try file.llamaFloats(huggingFaceName: "lm_head.weight")
        #expect(head.shape == [49152, 576])
        #expect(head.values == (try file.floats("token_embd.weight")))
        #expect(errorText { _ = try file.llamaFloats(huggingFaceName: "transformer.wte.weight") }.contains("not a Llama tensor"))
    }
}
