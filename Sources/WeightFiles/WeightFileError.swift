// The errors of the weight-file readers and writers (GGUF, safetensors): each names the file and
// what is wrong with it, so a corrupt download is told apart from a wrong tensor name.

/// What went wrong while reading or writing a weight file.
public enum WeightFileError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or mapped.
    case cannotOpen(path: String, reason: String)
    /// The file ends before a structure it declares.
    case truncated(path: String, reason: String)
    /// The file does not start with the format's magic bytes.
    case badMagic(path: String, expected: String, found: String)
    /// A GGUF version this reader does not read.
    case unsupportedVersion(path: String, version: UInt32)
    /// The header is structurally invalid (bad JSON, negative sizes, misaligned offsets, ...).
    case invalidHeader(path: String, reason: String)
    /// No tensor of that name.
    case unknownTensor(path: String, name: String, hint: String)
    /// A tensor type (GGML type or safetensors dtype) that cannot be converted to Float32.
    case unsupportedType(path: String, tensor: String, type: String)
    /// A metadata key that is absent.
    case missingMetadata(path: String, key: String)
    /// A metadata key whose value has another type.
    case wrongMetadataType(path: String, key: String, expected: String, found: String)
    /// A tensor whose stored bytes do not fit its declared shape and type, or lie outside the data.
    case badTensorData(path: String, tensor: String, reason: String)
    /// Values to write that do not match their shape.
    case shapeMismatch(tensor: String, shape: [Int], valueCount: Int)
    /// Writing the file failed.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open weight file: \(reason)"
        case .truncated(let path, let reason):
            return "\(path): file is truncated: \(reason). Download or copy it again."
        case .badMagic(let path, let expected, let found):
            return "\(path): not a \(expected) file (starts with \(found))"
        case .unsupportedVersion(let path, let version):
            return "\(path): GGUF version \(version) is not supported (versions 2 and 3 are); "
                + "convert the model again with a current llama.cpp"
        case .invalidHeader(let path, let reason):
            return "\(path): invalid header: \(reason)"
        case .unknownTensor(let path, let name, let hint):
            return "\(path): no tensor named '\(name)'\(hint.isEmpty ? "" : "; \(hint)")"
        case .unsupportedType(let path, let tensor, let type):
            return "\(path): tensor '\(tensor)' has type \(type), which cannot be converted to Float32 here"
        case .missingMetadata(let path, let key):
            return "\(path): metadata key '\(key)' is missing"
        case .wrongMetadataType(let path, let key, let expected, let found):
            return "\(path): metadata key '\(key)' is \(found), expected \(expected)"
        case .badTensorData(let path, let tensor, let reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case .shapeMismatch(let tensor, let shape, let valueCount):
            return "tensor '\(tensor)': shape \(shape) holds \(shape.reduce(1, *)) values, but \(valueCount) were given"
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write: \(reason)"
        }
    }
}

/// A hint listing the names nearest to `name`, for unknown-tensor errors.
func nearestNames(to name: String, in names: [String]) -> String {
    let suffix = name.split(separator: ".").suffix(2).joined(separator: ".")
    let close = names.filter { $0.hasSuffix(suffix) || $0.hasPrefix(name) }.sorted().prefix(5)
    if close.isEmpty { return "the file has \(names.count) tensors, e.g. " + names.sorted().prefix(3).joined(separator: ", ") }
    return "similar names: " + close.joined(separator: ", ")
}
