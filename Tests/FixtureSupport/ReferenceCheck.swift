import Foundation
import Tensors

/// How close a computed value must be to the reference: PyTorch's `allclose`,
/// |actual - expected| <= atol + rtol * |expected|.
public struct Tolerance: Sendable {
    public var rtol: Double
    public var atol: Double
    public init(rtol: Double, atol: Double) {
        self.rtol = rtol
        self.atol = atol
    }
    /// The tolerance of every float32 comparison unless a test names a tighter or looser one.
    public static let float32 = Tolerance(rtol: 1e-4, atol: 1e-5)
    /// Bit-for-bit equality.
    public static let exact = Tolerance(rtol: 0, atol: 0)
}

/// A value a test computed, compared element by element in row-major order with a fixture value.
public protocol ReferenceValue {
    /// The values, or nil when there are none (e.g. a gradient that was never computed).
    var referenceValues: [Double]? { get }
}

extension Double: ReferenceValue { public var referenceValues: [Double]? { [self] } }
extension Float: ReferenceValue { public var referenceValues: [Double]? { [Double(self)] } }
extension Int: ReferenceValue { public var referenceValues: [Double]? { [Double(self)] } }
extension Bool: ReferenceValue { public var referenceValues: [Double]? { [self ? 1 : 0] } }
extension Array: ReferenceValue where Element: ReferenceValue {
    public var referenceValues: [Double]? {
        var out: [Double] = []
        for item in self {
            guard let values = item.referenceValues else { return nil }
            out += values
        }
        return out
    }
}
extension Optional: ReferenceValue where Wrapped: ReferenceValue {
    public var referenceValues: [Double]? { self?.referenceValues }
}
extension Tensor: ReferenceValue { public var referenceValues: [Double]? { data.map(Double.init) } }

extension Tensor {
    /// The gradient after `backward()`, zeros when none reached this leaf (as PyTorch reports a
    /// detached input's gradient).
    public var gradOrZeros: [Float] { grad?.data ?? [Float](repeating: 0, count: count) }
}

/// What one case's computation sees: the file, and the case's own part of `inputs` and `params`.
public struct CaseFixture {
    /// The whole file.
    public let file: Fixture
    /// The case name (a key of `expected`, or a name the test listed); nil for a one-case file.
    public let name: String?

    /// The case's object under `inputs` when there is one (e.g. `inputs.gqa`), else all of `inputs`.
    public var inputs: Fixture { file.inputs.caseObject(name) }
    /// The case's object under `params` when there is one (e.g. `params.mean`), else all of `params`.
    public var params: Fixture { file.params.caseObject(name) }
}

extension Fixture {
    /// An array as a tensor (Float32 values, the fixture's shape).
    public func tensor(_ key: String, requiresGrad: Bool = false) throws -> Tensor {
        let a = try array(key)
        return Tensor(shape: a.shape, data: a.floats, requiresGrad: requiresGrad)
    }

    /// A boolean (JSON true/false).
    public func bool(_ key: String) throws -> Bool {
        guard let value = value(key) as? NSNumber else { throw FixtureError.missing(url.path, key) }
        return value.boolValue
    }

    /// A number that may be JSON null.
    public func optionalDouble(_ key: String) throws -> Double? {
        guard let value = value(key) else { throw FixtureError.missing(url.path, key) }
        if value is NSNull { return nil }
        return try double(key)
    }

    /// A possibly ragged nested list (e.g. parameters of different shapes) as one flat list per item.
    public func list(_ key: String) throws -> [[Double]] {
        guard let items = value(key) as? [Any] else { throw FixtureError.missing(url.path, key) }
        return items.map(flattenNumbers)
    }

    /// `child(name)` when that is an object, else `self`.
    func caseObject(_ name: String?) -> Fixture {
        guard let name, json[name] is [String: Any] else { return self }
        return child(name)
    }
}

/// Flattens nested lists of numbers in row-major order (ragged lists too).
public func flattenNumbers(_ value: Any) -> [Double] {
    if let n = value as? NSNumber { return [n.doubleValue] }
    if let list = value as? [Any] { return list.flatMap(flattenNumbers) }
    return []
}

extension ReferenceCase {
    /// Loads the case, runs `compute`, and compares what it returns with the case's expected values.
    ///
    /// Expected values are the case's object under `expected` (or the single value named by the
    /// case, or all of `expected` for a one-case file), flattened to keys: nested objects and lists
    /// of objects become `outer.inner` / `outer.0.inner`. Every expected key must be computed
    /// (unless `partial`), and every computed key must be expected, so no value or gradient a
    /// fixture gives goes unchecked. `tolerances` overrides `Tolerance.float32` for a key, for
    /// keys starting with `key.`, and for keys ending with `.key`. Throws one error listing every
    /// difference.
    public func check(
        tolerances: [String: Tolerance] = [:], partial: Bool = false,
        _ compute: (CaseFixture) throws -> [String: any ReferenceValue]
    ) throws {
        let file = try load()
        let computed = try compute(CaseFixture(file: file, name: name))
        let expected = expectedValues(of: file)
        var problems: [String] = []
        if expected.isEmpty { problems.append("nothing expected") }
        for (key, want) in expected.sorted(by: { $0.key < $1.key }) {
            guard let value = computed[key] else {
                if !partial { problems.append("'\(key)' is expected but was not computed") }
                continue
            }
            guard let actual = value.referenceValues else {
                problems.append("\(key): no value (missing gradient?)")
                continue
            }
            let tolerance = Self.tolerance(for: key, in: tolerances)
            if let problem = mismatch(actual, want, rtol: tolerance.rtol, atol: tolerance.atol, label: key) {
                problems.append(problem)
            }
        }
        for key in computed.keys.sorted() where expected[key] == nil {
            problems.append("'\(key)' was computed but the fixture has no such expected value")
        }
        if !problems.isEmpty {
            throw FixtureError.comparisonFailed("\(description):\n  " + problems.joined(separator: "\n  "))
        }
    }

    /// The expected values of this case, flattened to keys.
    func expectedValues(of file: Fixture) -> [String: [Double]] {
        let all = file.expected.json
        let root: [String: Any]
        if let name, let object = all[name] as? [String: Any] {
            root = object
        } else if let name, let value = all[name] {
            root = [name: value]
        } else {
            root = all
        }
        var out: [String: [Double]] = [:]
        func walk(_ value: Any, _ key: String) {
            if let object = value as? [String: Any] {
                for (k, v) in object { walk(v, key.isEmpty ? k : "\(key).\(k)") }
            } else if let list = value as? [Any], !list.isEmpty, list.allSatisfy({ $0 is [String: Any] }) {
                for (i, v) in list.enumerated() { walk(v, "\(key).\(i)") }
            } else {
                out[key] = flattenNumbers(value)
            }
        }
        walk(root, "")
        return out
    }

    static func tolerance(for key: String, in tolerances: [String: Tolerance]) -> Tolerance {
        if let exact = tolerances[key] { return exact }
        for (name, tolerance) in tolerances.sorted(by: { $0.key < $1.key }) where key.hasPrefix(name + ".") || key.hasSuffix("." + name) {
            return tolerance
        }
        return .float32
    }
}

extension CaseFixture {
    /// Back-propagates `sum(output * inputs[key])` (the fixtures' fixed gradient weighting) and
    /// returns `output`.
    @discardableResult
    public func weightedBackward(_ output: Tensor, _ key: String = "grad_weight") throws -> Tensor {
        try output.backward(inputs.array(key).floats)
        return output
    }
}
