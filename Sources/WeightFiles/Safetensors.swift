// Reading and writing safetensors, HuggingFace's weight file:
//
//   u64 N (little-endian)   N bytes of JSON header   tensor data
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data start) and may hold "__metadata__": {string: string}. The writer
// produces what the `safetensors` library writes for float32 tensors: compact JSON with
// "__metadata__" first, tensors sorted by name and stored in that order, and the header padded
// with spaces to a multiple of 8 bytes. Shapes are row-major, as in PyTorch.

import Foundation

/// A safetensors element type.
public struct SafetensorsDType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    // The float dtypes that `floats(_:)` converts; integer dtypes are read as raw bytes.
    public static let f64 = SafetensorsDType(rawValue: "F64")
    public static let f32 = SafetensorsDType(rawValue: "F32")
    public static let f16 = SafetensorsDType(rawValue: "F16")
    public static let bf16 = SafetensorsDType(rawValue: "BF16")

    static let sizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
        "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
    ]

    /// Bytes per element, or nil for a name the format does not define.
    public var byteSize: Int? { SafetensorsDType.sizes[rawValue] }
    public var description: String { rawValue }
}

/// Where one tensor lies in a safetensors file.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// The tensor name (`model.layers.0.mlp.up_proj.weight`).
    public let name: String
    /// The element type.
    public let dtype: SafetensorsDType
    /// Row-major shape.
    public let shape: [Int]
    /// Byte range relative to the start of the data.
    public let dataOffsets: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// Float32 values with their row-major shape, to be written to a safetensors file.
public struct SafetensorsTensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// A safetensors file opened for reading (memory-mapped).
///
/// ```swift
/// let file = try SafetensorsFile(url: url)
/// let w = try file.floats("model.layers.0.mlp.up_proj.weight")   // row-major, file.info(...).shape
/// try SafetensorsFile.write(["w": SafetensorsTensor(shape: [2, 3], values: w6)], to: out)
/// ```
public final class SafetensorsFile: @unchecked Sendable {
    /// Names the file in error messages.
    public let path: String
    /// The `__metadata__` strings (transformers writes `{"format": "pt"}`).
    public let metadata: [String: String]
    /// Tensor infos by name.
    public let tensors: [String: SafetensorsTensorInfo]
    /// Byte offset of the data in the file: 8 + header length.
    public let dataOffset: Int

    private let bytes: FileBytes

    /// Tensor names, sorted.
    public var names: [String] { tensors.keys.sorted() }

    /// Opens and memory-maps the safetensors file at `url`, checking its header.
    ///
    /// - Throws: ``WeightFileError`` naming the file and the problem: too short, header length
    ///   beyond the file, invalid JSON, unknown dtype, offsets outside the data or not matching
    ///   the shape.
    public convenience init(url: URL) throws {
        try self.init(bytes: FileBytes(mapping: url), path: url.path)
    }

    /// Reads a safetensors file held in memory; `name` names it in error messages.
    public convenience init<C: Collection>(bytes: C, name: String = "<memory>") throws where C.Element == UInt8 {
        try self.init(bytes: FileBytes(copying: bytes), path: name)
    }

    init(bytes: FileBytes, path: String) throws {
        self.bytes = bytes
        self.path = path
        var reader = ByteReader(bytes.buffer(0..<bytes.count), path: path)
        let headerLength = try reader.read(UInt64.self, "the 8-byte header length")
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw WeightFileError.truncated(
                path: path,
                reason: "the header length \(headerLength) exceeds the \(bytes.count - 8) bytes after the length field")
        }
        let header = try reader.readBytes(Int(headerLength), "the header")
        dataOffset = 8 + Int(headerLength)
        let dataSize = bytes.count - dataOffset

        func invalid(_ reason: String) -> WeightFileError { .invalidHeader(path: path, reason: reason) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(header), options: [])
        } catch {
            throw invalid("the header is not valid JSON (\(error.localizedDescription))")
        }
        guard let root = object as? [String: Any] else { throw invalid("the header is not a JSON object") }

        var metadata: [String: String] = [:]
        var tensors: [String: SafetensorsTensorInfo] = [:]
        for (name, value) in root {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else { throw invalid("__metadata__ is not an object") }
                for (key, item) in entries {
                    guard let text = item as? String else { throw invalid("__metadata__ value '\(key)' is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw invalid("entry '\(name)' is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw invalid("tensor '\(name)' has no string \"dtype\"") }
            let dtype = SafetensorsDType(rawValue: dtypeName)
            guard let elementSize = dtype.byteSize else {
                throw WeightFileError.unsupportedType(path: path, tensor: name, type: "unknown dtype '\(dtypeName)'")
            }
            guard let shapeList = entry["shape"] as? [Any] else { throw invalid("tensor '\(name)' has no \"shape\" list") }
            var shape: [Int] = []
            for item in shapeList {
                guard let number = item as? NSNumber, let d = Int(exactly: number.doubleValue), d >= 0, d <= Int(Int32.max) else {
                    throw invalid("tensor '\(name)' has a shape entry that is not a non-negative integer")
                }
                shape.append(d)
            }
            guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
                let beginNumber = offsets[0] as? NSNumber, let endNumber = offsets[1] as? NSNumber,
                let begin = Int(exactly: beginNumber.doubleValue), let end = Int(exactly: endNumber.doubleValue)
            else { throw invalid("tensor '\(name)' has no \"data_offsets\": [begin, end] of integers") }
            guard begin >= 0 && begin <= end && end <= dataSize else {
                throw WeightFileError.badTensorData(
                    path: path, tensor: name,
                    reason: "data_offsets [\(begin), \(end)] lie outside the \(dataSize) bytes of data (file truncated?)")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, count * elementSize == end - begin else {
                throw WeightFileError.badTensorData(
                    path: path, tensor: name,
                    reason:
                        "shape \(shape) of \(dtypeName) needs \(overflow ? "too many" : String(count * elementSize)) bytes, but data_offsets span \(end - begin)"
                )
            }
            tensors[name] = SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
        }
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The info of the tensor called `name`.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = tensors[name] else {
            throw WeightFileError.unknownTensor(path: path, name: name, hint: nearestNames(to: name, in: Array(tensors.keys)))
        }
        return info
    }

    /// A copy of the stored bytes of tensor `name` (little-endian elements).
    public func rawBytes(_ name: String) throws -> [UInt8] {
        let info = try self.info(name)
        return Array(bytes.buffer((dataOffset + info.dataOffsets.lowerBound)..<(dataOffset + info.dataOffsets.upperBound)))
    }

    /// The values of tensor `name` as Float32, row-major; F32 is copied bit for bit, F16, BF16
    /// and F64 are converted.
    ///
    /// - Throws: ``WeightFileError/unsupportedType(path:tensor:type:)`` for integer dtypes.
    public func floats(_ name: String) throws -> [Float] {
        let info = try self.info(name)
        let source = bytes.buffer((dataOffset + info.dataOffsets.lowerBound)..<(dataOffset + info.dataOffsets.upperBound))
        let type: GGMLType
        switch info.dtype {
        case .f32: type = .f32
        case .f16: type = .f16
        case .bf16: type = .bf16
        case .f64: type = .f64
        default: throw WeightFileError.unsupportedType(path: path, tensor: name, type: info.dtype.rawValue)
        }
        let count = info.elementCount
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0 { GGML.dequantize(source.baseAddress!, type: type, count: count, into: out.baseAddress!) }
            initialized = count
        }
    }

    // MARK: - Writing

    /// The bytes of a safetensors file holding `tensors` as F32, laid out as the `safetensors`
    /// library lays them out (so transformers loads it and a read-write round trip is bit-exact).
    ///
    /// - Parameter metadata: The `__metadata__` object; nil writes none.
    /// - Throws: ``WeightFileError/shapeMismatch(tensor:shape:valueCount:)`` when a tensor's values
    ///   do not fill its shape.
    public static func serialize(_ tensors: [String: SafetensorsTensor], metadata: [String: String]? = ["format": "pt"]) throws
        -> [UInt8]
    {
        let (prefix, names, dataSize) = try header(tensors, metadata: metadata)
        var out: [UInt8] = []
        out.reserveCapacity(prefix.count + dataSize)
        out += prefix
        // Assumes a little-endian host (x86_64, arm64), as the readers do.
        for name in names { tensors[name]!.values.withUnsafeBytes { out.append(contentsOf: $0) } }
        return out
    }

    /// Writes `tensors` as F32 to `url`, the bytes of ``serialize(_:metadata:)``, atomically (a crash
    /// leaves the old file or the new one). The values stream from the tensors into the file, so
    /// writing a checkpoint holds no second copy of them.
    public static func write(_ tensors: [String: SafetensorsTensor], metadata: [String: String]? = ["format": "pt"], to url: URL)
        throws
    {
        let (prefix, names, _) = try header(tensors, metadata: metadata)
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        func fail(_ reason: String) -> WeightFileError { .cannotWrite(path: url.path, reason: reason) }
        guard FileManager.default.createFile(atPath: partial.path, contents: nil),
            let handle = FileHandle(forWritingAtPath: partial.path)
        else { throw fail("cannot create \(partial.path)") }
        do {
            defer { try? handle.close() }
            try handle.write(contentsOf: prefix)
            for name in names {
                try tensors[name]!.values.withUnsafeBytes { raw in
                    // In pieces of at most 64 MB: no Data copy of a whole large tensor.
                    var start = 0
                    while start < raw.count {
                        let end = min(raw.count, start + (64 << 20))
                        try handle.write(contentsOf: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                        start = end
                    }
                }
            }
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw fail(error.localizedDescription)
        }
        guard rename(partial.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: partial)
            throw fail(reason)
        }
    }

    /// The file's first bytes (the header's length, the header padded with spaces to a multiple
    /// of 8), the tensor names in storage order, and the size of the data that follows.
    private static func header(_ tensors: [String: SafetensorsTensor], metadata: [String: String]?) throws -> (
        prefix: [UInt8], names: [String], dataSize: Int
    ) {
        let names = tensors.keys.sorted()
        var header = "{"
        var first = true
        if let metadata {
            header += "\"__metadata__\":{"
            header += metadata.keys.sorted().map { jsonString($0) + ":" + jsonString(metadata[$0]!) }.joined(separator: ",")
            header += "}"
            first = false
        }
        var offset = 0
        for name in names {
            let tensor = tensors[name]!
            guard tensor.shape.allSatisfy({ $0 >= 0 }), tensor.shape.reduce(1, *) == tensor.values.count else {
                throw WeightFileError.shapeMismatch(tensor: name, shape: tensor.shape, valueCount: tensor.values.count)
            }
            let size = tensor.values.count * 4
            if !first { header += "," }
            first = false
            header +=
                jsonString(name) + ":{\"dtype\":\"F32\",\"shape\":["
                + tensor.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(offset + size)]}"
            offset += size
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        headerBytes += [UInt8](repeating: 0x20, count: (8 - headerBytes.count % 8) % 8)
        var prefix: [UInt8] = []
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { prefix.append(contentsOf: $0) }
        return (prefix + headerBytes, names, offset)
    }

    /// JSON string literal as serde_json writes it: `"` `\` and control characters escaped,
    /// everything else (non-ASCII included) as UTF-8.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
