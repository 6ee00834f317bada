/// One attribute value in a run file: a resolved hyperparameter, a root attribute, a stage setting.
///
/// Each case maps to one HDF5 attribute type that h5py reads without help: integers are int64,
/// `uint` is uint64 (seeds), doubles are float64, booleans are the enum h5py reads as `numpy.bool_`,
/// strings are variable-length UTF-8, and arrays are one-dimensional.
public enum ConfigValue: Sendable, Equatable, Hashable, CustomStringConvertible {
    case int(Int)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case string(String)
    case ints([Int])
    case doubles([Double])
    case strings([String])

    /// The value as written in a report or by `rlhf inspect`: integers plainly, doubles in their
    /// shortest round-trip form, strings as they are, arrays in brackets.
    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .uint(let v): return String(v)
        case .double(let v): return "\(v)"
        case .bool(let v): return v ? "true" : "false"
        case .string(let v): return v
        case .ints(let vs): return "[" + vs.map(String.init).joined(separator: ", ") + "]"
        case .doubles(let vs): return "[" + vs.map { "\($0)" }.joined(separator: ", ") + "]"
        case .strings(let vs): return "[" + vs.joined(separator: ", ") + "]"
        }
    }

    /// The value as an integer, when it is one (`int`, or `uint` that fits).
    public var intValue: Int? {
        switch self {
        case .int(let v): return v
        case .uint(let v): return Int(exactly: v)
        default: return nil
        }
    }

    /// The value as a double, when it is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }

    /// The value as a string, when it is one.
    public var stringValue: String? {
        if case .string(let v) = self { return v }
        return nil
    }
}

extension ConfigValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral
{
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
