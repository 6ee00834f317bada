// Reading GGUF, llama.cpp's model file (versions 2 and 3, little-endian):
//
//   "GGUF" u32 version  u64 tensor_count  u64 metadata_count
//   metadata_count × { string key, u32 value_type, value }        (strings: u64 length + UTF-8)
//   tensor_count   × { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
//   padding to `general.alignment` (default 32), then the tensor data; each offset is relative
//   to the start of the data and aligned too.
//
// Shapes: GGUF lists dimensions fastest-varying first (ne[0] is the number of columns). This
// reader reports `shape` in row-major order like PyTorch, i.e. ne reversed: a GGUF tensor with
// ne = [576, 49152] has shape [49152, 576], and its Float32 values are that row-major matrix.

import Foundation

/// The type tag of a GGUF metadata value.
public enum GGUFValueType: UInt32, Sendable, CustomStringConvertible {
    case uint8 = 0
    case int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

    public var description: String {
        [
            "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array",
            "uint64", "int64", "float64",
        ][Int(rawValue)]
    }
}

/// A GGUF metadata value.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case uint64(UInt64)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case bool(Bool)
    case string(String)
    /// An array with its element type (arrays of arrays are allowed by the format).
    case array(GGUFValueType, [GGUFValue])

    /// The value's type tag.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    /// The value of any integer type, or nil.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// The value of any float or integer type, or nil.
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    /// The value of a string, or nil.
    public var string: String? { if case .string(let v) = self { return v } else { return nil } }
    /// The value of a bool, or nil.
    public var bool: Bool? { if case .bool(let v) = self { return v } else { return nil } }
    /// The elements of an array, or nil.
    public var array: [GGUFValue]? { if case .array(_, let v) = self { return v } else { return nil } }

    /// The elements of a string array, or nil.
    public var strings: [String]? {
        guard case .array(.string, let items) = self else { return nil }
        return items.map { $0.string ?? "" }
    }

    /// The elements of an integer array, or nil.
    public var ints: [Int]? {
        guard case .array(_, let items) = self else { return nil }
        var values: [Int] = []
        values.reserveCapacity(items.count)
        for item in items {
            guard let v = item.int else { return nil }
            values.append(v)
        }
        return values
    }

    /// A short rendering for error messages and `inspect`.
    public var summary: String {
        switch self {
        case .string(let v): return v.count > 60 ? String(v.prefix(60)).debugDescription + "…" : v.debugDescription
        case .array(let t, let items): return "[\(items.count) × \(t)]"
        case .bool(let v): return String(v)
        default: return double.map { int != nil ? String(int!) : String($0) } ?? "?"
        }
    }
}

/// Where and how one tensor is stored in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor name (`blk.0.attn_q.weight`).
    public let name: String
    /// Dimensions as GGUF lists them, fastest-varying first (`ne[0]` = columns).
    public let dimensions: [Int]
    /// How the values are stored (F32, Q4_1, ...).
    public let type: GGMLType
    /// Byte offset from the start of the data section.
    public let offset: Int

    /// Row-major shape (PyTorch order): `dimensions` reversed.
    public var shape: [Int] { dimensions.reversed() }
    /// Number of values.
    public var elementCount: Int { dimensions.reduce(1, *) }
    /// Number of rows of the row-major matrix: every dimension but `ne[0]`, multiplied.
    public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
    /// Values per row (`ne[0]`).
    public var rowLength: Int { dimensions.first ?? 1 }
    /// Bytes of one row of blocks, or nil for an unknown type.
    public var bytesPerRow: Int? {
        guard let blockSize = type.blockSize, let bytes = type.bytesPerBlock else { return nil }
        return rowLength / blockSize * bytes
    }
    /// Bytes of the whole tensor, or nil for an unknown type.
    public var byteCount: Int? { bytesPerRow.map { $0 * rowCount } }
}

/// A GGUF file: its metadata, its tensor infos, and access to each tensor's bytes or Float32 values.
///
/// The file is memory-mapped; tensors are read when asked for.
///
/// ```swift
/// let gguf = try GGUFFile(url: path)
/// gguf.architecture                            // "llama"
/// try gguf.int("llama.block_count")            // 30
/// let w = try gguf.floats("blk.0.attn_q.weight")   // 576 × 576, row-major
/// ```
public final class GGUFFile: @unchecked Sendable {
    /// Names the file in error messages.
    public let path: String
    /// The GGUF version (2 or 3).
    public let version: UInt32
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Every metadata value by key (`general.architecture`, `llama.block_count`, `tokenizer.ggml.tokens`, ...).
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment`, or 32.
    public let alignment: Int
    /// Byte offset of the data section in the file.
    public let dataOffset: Int

    private let bytes: FileBytes
    private let tensorIndex: [String: Int]

    /// Opens and memory-maps the GGUF file at `url`, reading its header.
    ///
    /// - Throws: ``WeightFileError`` when the file is missing, truncated, not GGUF, of an
    ///   unsupported version, or declares tensors outside its data.
    public convenience init(url: URL) throws {
        try self.init(bytes: FileBytes(mapping: url), path: url.path)
    }

    /// Reads a GGUF file held in memory; `name` names it in error messages.
    public convenience init<C: Collection>(bytes: C, name: String = "<memory>") throws where C.Element == UInt8 {
        try self.init(bytes: FileBytes(copying: bytes), path: name)
    }

    init(bytes: FileBytes, path: String) throws {
        self.bytes = bytes
        self.path = path
        var reader = ByteReader(bytes.buffer(0..<bytes.count), path: path)

        let magic = try reader.readBytes(4, "the magic number")
        guard Array(magic) == Array("GGUF".utf8) else {
            throw WeightFileError.badMagic(path: path, expected: "GGUF", found: GGUFFile.show(Array(magic)))
        }
        version = try reader.read(UInt32.self, "the version")
        guard version == 2 || version == 3 else {
            if version.byteSwapped == 2 || version.byteSwapped == 3 {
                throw WeightFileError.invalidHeader(path: path, reason: "big-endian GGUF files are not supported")
            }
            throw WeightFileError.unsupportedVersion(path: path, version: version)
        }
        let tensorCount = try reader.read(UInt64.self, "the tensor count")
        let metadataCount = try reader.read(UInt64.self, "the metadata count")
        // Each entry takes at least 8 bytes; larger counts can only come from a corrupt file.
        guard tensorCount <= UInt64(bytes.count / 8), metadataCount <= UInt64(bytes.count / 8) else {
            throw WeightFileError.invalidHeader(
                path: path,
                reason: "\(tensorCount) tensors and \(metadataCount) metadata entries cannot fit in \(bytes.count) bytes")
        }

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for index in 0..<Int(metadataCount) {
            let key = try GGUFFile.readString(&reader, "metadata key \(index)")
            let rawType = try reader.read(UInt32.self, "the type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw WeightFileError.invalidHeader(path: path, reason: "metadata '\(key)' has unknown value type \(rawType)")
            }
            metadata[key] = try GGUFFile.readValue(&reader, type: type, key: key, depth: 0)
            keys.append(key)
        }
        self.metadataKeys = keys
        self.metadata = metadata

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.int, a > 0, a & (a - 1) == 0 else {
                throw WeightFileError.invalidHeader(
                    path: path, reason: "general.alignment \(value.summary) is not a power of two")
            }
            alignment = a
        }
        self.alignment = alignment

        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for i in 0..<Int(tensorCount) {
            let name = try GGUFFile.readString(&reader, "tensor name \(i)")
            let dimensionCount = try reader.read(UInt32.self, "the dimension count of '\(name)'")
            guard dimensionCount >= 1 && dimensionCount <= 4 else {
                throw WeightFileError.invalidHeader(
                    path: path, reason: "tensor '\(name)' has \(dimensionCount) dimensions (1 to 4 allowed)")
            }
            var dimensions: [Int] = []
            for _ in 0..<dimensionCount {
                let d = try reader.read(UInt64.self, "a dimension of '\(name)'")
                guard d <= UInt64(Int32.max) else {
                    throw WeightFileError.invalidHeader(path: path, reason: "tensor '\(name)' has dimension \(d)")
                }
                dimensions.append(Int(d))
            }
            let type = GGMLType(rawValue: try reader.read(UInt32.self, "the type of '\(name)'"))
            let offset = try reader.read(UInt64.self, "the offset of '\(name)'")
            guard offset <= UInt64(Int.max / 2) else {
                throw WeightFileError.invalidHeader(path: path, reason: "tensor '\(name)' has offset \(offset)")
            }
            guard index[name] == nil else {
                throw WeightFileError.invalidHeader(path: path, reason: "tensor '\(name)' is listed twice")
            }
            index[name] = infos.count
            infos.append(GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: Int(offset)))
        }
        self.tensors = infos
        self.tensorIndex = index

        let dataOffset = (reader.offset + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        for info in infos {
            guard info.offset % alignment == 0 else {
                throw WeightFileError.invalidHeader(
                    path: path,
                    reason: "tensor '\(info.name)' offset \(info.offset) is not a multiple of the alignment \(alignment)")
            }
            guard let blockSize = info.type.blockSize, let byteCount = info.byteCount else { continue }
            guard info.rowLength % blockSize == 0 else {
                throw WeightFileError.badTensorData(
                    path: path, tensor: info.name,
                    reason: "row length \(info.rowLength) is not a multiple of the \(info.type) block size \(blockSize)")
            }
            let end = dataOffset + info.offset + byteCount
            guard end <= bytes.count else {
                throw WeightFileError.truncated(
                    path: path,
                    reason:
                        "tensor '\(info.name)' (\(info.type), \(byteCount) bytes) ends at byte \(end), but the file has \(bytes.count) bytes"
                )
            }
        }
    }

    // MARK: - Tensors

    /// The info of the tensor called `name`.
    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let i = tensorIndex[name] else {
            throw WeightFileError.unknownTensor(path: path, name: name, hint: nearestNames(to: name, in: tensors.map(\.name)))
        }
        return tensors[i]
    }

    /// Whether the file has a tensor called `name`.
    public func contains(_ name: String) -> Bool { tensorIndex[name] != nil }

    /// Calls `body` with the stored bytes (blocks) of tensor `name`, without copying.
    ///
    /// The buffer lives as long as this `GGUFFile`; do not let it escape `body`.
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer, GGUFTensorInfo) throws -> R) throws -> R {
        let info = try self.info(name)
        guard let count = info.byteCount else {
            throw WeightFileError.unsupportedType(path: path, tensor: name, type: info.type.name)
        }
        return try body(bytes.buffer((dataOffset + info.offset)..<(dataOffset + info.offset + count)), info)
    }

    /// A copy of the stored bytes of tensor `name`: rows of blocks, `info.bytesPerRow` bytes each.
    /// Quantized kernels use these directly.
    public func rawBytes(_ name: String) throws -> [UInt8] {
        try withRawBytes(name) { buffer, _ in Array(buffer) }
    }

    /// The values of tensor `name` as Float32, row-major in ``GGUFTensorInfo/shape`` order.
    ///
    /// - Throws: ``WeightFileError/unsupportedType(path:tensor:type:)`` for types without a
    ///   conversion (see ``GGMLType/canDequantize``).
    public func floats(_ name: String) throws -> [Float] {
        try withRawBytes(name) { buffer, info in
            guard info.type.canDequantize else {
                throw WeightFileError.unsupportedType(path: path, tensor: name, type: info.type.name)
            }
            let count = info.elementCount
            return [Float](unsafeUninitializedCapacity: count) { out, initialized in
                if count > 0 { GGML.dequantize(buffer.baseAddress!, type: info.type, count: count, into: out.baseAddress!) }
                initialized = count
            }
        }
    }

    // MARK: - Metadata

    /// The architecture (`general.architecture`), e.g. `"llama"`.
    public var architecture: String? { metadata["general.architecture"]?.string }

    /// The Jinja chat template stored in the file (`tokenizer.chat_template`), if any.
    public var chatTemplateSource: String? { metadata["tokenizer.chat_template"]?.string }

    /// The value of `key`, or a ``WeightFileError/missingMetadata(path:key:)`` error.
    public func value(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else { throw WeightFileError.missingMetadata(path: path, key: key) }
        return value
    }

    /// The integer at `key` (any integer type).
    public func int(_ key: String) throws -> Int {
        let v = try value(key)
        guard let i = v.int else { throw mismatch(key, "an integer", v) }
        return i
    }

    /// The number at `key` (any float or integer type).
    public func double(_ key: String) throws -> Double {
        let v = try value(key)
        guard let d = v.double else { throw mismatch(key, "a number", v) }
        return d
    }

    /// The string at `key`.
    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard let s = v.string else { throw mismatch(key, "a string", v) }
        return s
    }

    /// The string array at `key`.
    public func strings(_ key: String) throws -> [String] {
        let v = try value(key)
        guard let s = v.strings else { throw mismatch(key, "an array of strings", v) }
        return s
    }

    /// The integer array at `key`.
    public func ints(_ key: String) throws -> [Int] {
        let v = try value(key)
        guard let s = v.ints else { throw mismatch(key, "an array of integers", v) }
        return s
    }

    private func mismatch(_ key: String, _ expected: String, _ found: GGUFValue) -> WeightFileError {
        .wrongMetadataType(path: path, key: key, expected: expected, found: "\(found.type) \(found.summary)")
    }

    // MARK: - Parsing

    static func readString(_ reader: inout ByteReader, _ what: @autoclosure () -> String) throws -> String {
        let length = try reader.read(UInt64.self, "the length of \(what())")
        guard length <= UInt64(reader.bytes.count) else {
            throw WeightFileError.truncated(
                path: reader.path,
                reason:
                    "\(what()) claims \(length) bytes at offset \(reader.offset), but the file has \(reader.bytes.count) bytes")
        }
        let raw = try reader.readBytes(Int(length), what())
        return String(decoding: raw, as: UTF8.self)
    }

    static func readValue(_ reader: inout ByteReader, type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        let what = "the value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, what))
        case .int8: return .int8(try reader.read(Int8.self, what))
        case .uint16: return .uint16(try reader.read(UInt16.self, what))
        case .int16: return .int16(try reader.read(Int16.self, what))
        case .uint32: return .uint32(try reader.read(UInt32.self, what))
        case .int32: return .int32(try reader.read(Int32.self, what))
        case .uint64: return .uint64(try reader.read(UInt64.self, what))
        case .int64: return .int64(try reader.read(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try reader.read(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try reader.read(UInt64.self, what)))
        case .bool:
            let b = try reader.read(UInt8.self, what)
            guard b <= 1 else {
                throw WeightFileError.invalidHeader(path: reader.path, reason: "metadata '\(key)' has bool byte \(b)")
            }
            return .bool(b == 1)
        case .string: return .string(try readString(&reader, what))
        case .array:
            guard depth < 8 else {
                throw WeightFileError.invalidHeader(path: reader.path, reason: "metadata '\(key)' nests arrays too deeply")
            }
            let rawType = try reader.read(UInt32.self, "the element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw WeightFileError.invalidHeader(
                    path: reader.path, reason: "metadata '\(key)' has unknown element type \(rawType)")
            }
            let count = try reader.read(UInt64.self, "the length of '\(key)'")
            guard count <= UInt64(reader.bytes.count - reader.offset) else {
                throw WeightFileError.truncated(
                    path: reader.path,
                    reason:
                        "array '\(key)' claims \(count) elements at offset \(reader.offset), but the file has \(reader.bytes.count) bytes"
                )
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                items.append(try readValue(&reader, type: elementType, key: key, depth: depth + 1))
            }
            return .array(elementType, items)
        }
    }

    static func show(_ bytes: [UInt8]) -> String {
        let printable = bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        return printable
            ? "\"" + String(decoding: bytes, as: UTF8.self) + "\""
            : bytes.map { String(format: "%02x", $0) }.joined(separator: " ")
    }
}
