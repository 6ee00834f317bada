// GGUF files made in memory, for the tests of the GGUF reader and of what reads GGUF files
// (tokenizers, models).

import WeightFiles

/// The little-endian bytes of `value`.
public func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// Builds GGUF files in memory, for tests of layouts the SmolLM2 file does not have.
public struct GGUFBuilder {
    public var version: UInt32 = 3
    public var alignment: Int? = nil
    public var metadata: [(String, [UInt8])] = []
    public var tensors: [(name: String, dimensions: [Int], type: UInt32, data: [UInt8])] = []

    public init() {}

    public static func string(_ s: String) -> [UInt8] { littleEndian(UInt64(s.utf8.count)) + Array(s.utf8) }

    public mutating func add(_ key: String, type: GGUFValueType, _ payload: [UInt8]) {
        metadata.append((key, littleEndian(type.rawValue) + payload))
    }

    public mutating func addStrings(_ key: String, _ values: [String]) {
        add(
            key, type: .array,
            littleEndian(GGUFValueType.string.rawValue) + littleEndian(UInt64(values.count))
                + values.flatMap(GGUFBuilder.string))
    }

    public func build() -> [UInt8] {
        var out = Array("GGUF".utf8) + littleEndian(version)
        out += littleEndian(UInt64(tensors.count)) + littleEndian(UInt64(metadata.count + (alignment == nil ? 0 : 1)))
        if let alignment {
            out +=
                GGUFBuilder.string("general.alignment") + littleEndian(GGUFValueType.uint32.rawValue)
                + littleEndian(UInt32(alignment))
        }
        for (key, value) in metadata { out += GGUFBuilder.string(key) + value }
        let align = alignment ?? 32
        var offset = 0
        var offsets: [Int] = []
        for tensor in tensors {
            offsets.append(offset)
            offset = (offset + tensor.data.count + align - 1) / align * align
        }
        for (tensor, offset) in zip(tensors, offsets) {
            out += GGUFBuilder.string(tensor.name) + littleEndian(UInt32(tensor.dimensions.count))
            for d in tensor.dimensions { out += littleEndian(UInt64(d)) }
            out += littleEndian(tensor.type) + littleEndian(UInt64(offset))
        }
        while out.count % align != 0 { out.append(0) }
        let dataStart = out.count
        for (tensor, offset) in zip(tensors, offsets) {
            while out.count < dataStart + offset { out.append(0) }
            out += tensor.data
        }
        return out
    }
}
