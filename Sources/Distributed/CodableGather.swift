import Foundation

/// How values travel between ranks: JSON, in which floating-point values keep their exact bits
/// (shortest round-trip text), infinities and NaN included.
public enum Wire {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return Array(try encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(type, from: Data(bytes))
    }
}

extension World {
    /// Every rank's value, in rank order (sent as ``Wire`` bytes).
    public func allGather<T: Codable>(_ value: T) throws -> [T] {
        guard usesMPI else { return [value] }
        return try allGather(try Wire.encode(value)).map { try Wire.decode(T.self, from: $0) }
    }
}
