import Foundation

/// Reference fixtures: JSON files computed by PyTorch, transformers and OpenRLHF.
///
/// Tests read the copy under `Tests/Fixtures/reference` and, when the environment names one,
/// every folder of the same layout in `RLHF_REFERENCE_DIR` (and the SmolLM2 file in
/// `RLHF_SMOLLM2_REFERENCE`). A test that checks a fixture checks it in every folder found.
public enum Fixtures {
    /// The repository's `Tests/Fixtures` folder.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Every reference folder to check: the bundled one, then `RLHF_REFERENCE_DIR` when set.
    public static var referenceDirectories: [URL] {
        var dirs = [root.appendingPathComponent("reference")]
        if let extra = ProcessInfo.processInfo.environment["RLHF_REFERENCE_DIR"], !extra.isEmpty {
            dirs.append(URL(fileURLWithPath: extra))
        }
        return dirs
    }

    /// Every SmolLM2 reference file to check: the bundled one, then `RLHF_SMOLLM2_REFERENCE` when set.
    public static var smolLM2References: [URL] {
        var files = [root.appendingPathComponent("smollm2/reference.json")]
        if let extra = ProcessInfo.processInfo.environment["RLHF_SMOLLM2_REFERENCE"], !extra.isEmpty {
            files.append(URL(fileURLWithPath: extra))
        }
        return files
    }

    /// The files named `name` (e.g. `"rms_norm.json"`) in every reference folder. A folder given by
    /// `RLHF_REFERENCE_DIR` that lacks the file is reported by the caller as a failure.
    public static func files(named name: String) -> [URL] {
        referenceDirectories.map { $0.appendingPathComponent(name) }
    }

    /// Loads a fixture file as a JSON object.
    public static func load(_ url: URL) throws -> Fixture {
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError.notAnObject(url.path)
        }
        return Fixture(url: url, json: object)
    }

    /// Path of the SmolLM2 GGUF file, if the setup has fetched it: `RLHF_SMOLLM2_GGUF`, else
    /// `.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf` in the repository.
    public static var smolLM2GGUF: URL? {
        if let path = ProcessInfo.processInfo.environment["RLHF_SMOLLM2_GGUF"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let url = root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}

public enum FixtureError: Error, CustomStringConvertible {
    case notAnObject(String)
    case missing(String, String)
    case wrongType(String, String)
    case missingFile(String)
    case comparisonFailed(String)

    public var description: String {
        switch self {
        case .missingFile(let path): return "\(path): no such reference file (every reference folder must hold every fixture)"
        case .comparisonFailed(let message): return message
        case .notAnObject(let path): return "\(path): not a JSON object"
        case .missing(let path, let key): return "\(path): missing key '\(key)'"
        case .wrongType(let path, let key): return "\(path): key '\(key)' has an unexpected type"
        }
    }
}

/// A nested-array value flattened to row-major order with its shape.
public struct FixtureArray {
    public var shape: [Int]
    public var values: [Double]
    /// Values converted to Float32 (the fixtures hold exact float32 decimals).
    public var floats: [Float] { values.map { Float($0) } }
    public var ints: [Int] { values.map { Int($0) } }
}

/// One fixture file (or one sub-object of it); subscripts walk keys separated by dots.
public struct Fixture {
    public let url: URL
    public let json: [String: Any]

    public var source: String { json["source"] as? String ?? "" }
    public var inputs: Fixture { child("inputs") }
    public var params: Fixture { child("params") }
    public var expected: Fixture { child("expected") }

    /// Whether `key` exists in this object.
    public func has(_ key: String) -> Bool { json[key] != nil && !(json[key] is NSNull) }

    public func child(_ key: String) -> Fixture {
        Fixture(url: url, json: json[key] as? [String: Any] ?? [:])
    }

    /// The keys of this object, sorted.
    public var keys: [String] { json.keys.sorted() }

    public func array(_ key: String) throws -> FixtureArray {
        guard let value = json[key] else { throw FixtureError.missing(url.path, key) }
        return try Fixture.flatten(value, path: url.path, key: key)
    }

    public func double(_ key: String) throws -> Double {
        guard let value = json[key] else { throw FixtureError.missing(url.path, key) }
        if let n = value as? NSNumber { return n.doubleValue }
        throw FixtureError.wrongType(url.path, key)
    }

    public func string(_ key: String) throws -> String {
        guard let value = json[key] as? String else { throw FixtureError.missing(url.path, key) }
        return value
    }

    public func value(_ key: String) -> Any? { json[key] }

    static func flatten(_ value: Any, path: String, key: String) throws -> FixtureArray {
        if let n = value as? NSNumber { return FixtureArray(shape: [], values: [n.doubleValue]) }
        guard let list = value as? [Any] else { throw FixtureError.wrongType(path, key) }
        if list.isEmpty { return FixtureArray(shape: [0], values: []) }
        var shape = [list.count]
        var values: [Double] = []
        var inner: [Int]? = nil
        for item in list {
            let sub = try flatten(item, path: path, key: key)
            if let inner, inner != sub.shape { throw FixtureError.wrongType(path, key) }
            inner = sub.shape
            values += sub.values
        }
        shape += inner ?? []
        return FixtureArray(shape: shape, values: values)
    }
}

/// Compares two arrays with PyTorch's `allclose` rule, |a-b| <= atol + rtol*|b|, and returns a
/// message naming the worst element, or nil when they match. NaNs match NaNs.
public func mismatch(
    _ actual: [Double], _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5,
    label: String = ""
) -> String? {
    if actual.count != expected.count {
        return "\(label): \(actual.count) values, expected \(expected.count)"
    }
    var worst = -1
    var worstExcess = 0.0
    for i in 0..<actual.count {
        let a = actual[i], b = expected[i]
        if a.isNaN && b.isNaN { continue }
        let excess = abs(a - b) - (atol + rtol * abs(b))
        if excess > worstExcess || (a.isNaN != b.isNaN) {
            worstExcess = a.isNaN != b.isNaN ? .infinity : excess
            worst = i
        }
    }
    if worst < 0 { return nil }
    return "\(label): element \(worst) is \(actual[worst]), expected \(expected[worst]) (rtol \(rtol), atol \(atol))"
}

/// `mismatch` for float32 results.
public func mismatch(
    _ actual: [Float], _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5,
    label: String = ""
) -> String? {
    mismatch(actual.map(Double.init), expected, rtol: rtol, atol: atol, label: label)
}
