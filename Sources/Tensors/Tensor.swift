import Foundation

/// A dense Float32 tensor, contiguous and row-major, that can record the operations applied to it.
///
/// Shapes are fixed per tensor: `reshape` returns a new tensor that shares the buffer (copy on
/// write). Every operation that can fail (a shape that does not fit, an index out of range)
/// throws a ``TensorError`` naming the operation and the shapes it got.
///
/// ```swift
/// let w = Tensor(shape: [3, 2], data: [1, 2, 3, 4, 5, 6], requiresGrad: true)
/// let y = try matmul(Tensor.ones([4, 3]), w).sum()
/// try y.backward()          // w.grad now holds dy/dw
/// ```
///
/// Tensors are not shared across threads; kernels parallelise inside one call over raw buffers.
public final class Tensor {
    /// The extent of each axis, outermost first.
    public let shape: [Int]
    /// The elements in row-major order; `count == shape.product`.
    public var data: [Float]
    /// The accumulated gradient of a leaf tensor after `backward()`; nil until then.
    public var grad: Tensor?
    /// Whether operations on this tensor are recorded for `backward()`.
    public var requiresGrad: Bool
    /// A name used in error messages and run files (e.g. the HuggingFace parameter name).
    public var name: String?
    /// How this tensor was computed, while the graph is alive.
    var node: Node?

    /// Creates a tensor from a shape and its row-major elements.
    public init(shape: [Int], data: [Float], requiresGrad: Bool = false, name: String? = nil) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(
            data.count == shape.reduce(1, *),
            "Tensor: \(data.count) elements do not fill shape \(shape) (\(shape.reduce(1, *)))")
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
        self.name = name
    }

    /// Creates a tensor, checking that `data` fills `shape`.
    public static func make(shape: [Int], data: [Float]) throws -> Tensor {
        guard shape.allSatisfy({ $0 >= 0 }), data.count == shape.reduce(1, *) else {
            throw TensorError.shape(op: "Tensor", message: "\(data.count) elements do not fill shape \(shape)")
        }
        return Tensor(shape: shape, data: data)
    }

    /// A tensor of `shape` filled with `value`.
    public convenience init(repeating value: Float, shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A 0-dimensional tensor holding one value.
    public convenience init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    /// A tensor of `shape` filled with 0.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(repeating: 0, shape: shape, requiresGrad: requiresGrad)
    }

    /// A tensor of `shape` filled with 1.
    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(repeating: 1, shape: shape, requiresGrad: requiresGrad)
    }

    /// Number of elements.
    public var count: Int { data.count }
    /// Number of axes.
    public var rank: Int { shape.count }

    /// The single value of a one-element tensor.
    public var item: Float {
        get throws {
            guard data.count == 1 else {
                throw TensorError.shape(op: "item", message: "needs one element, got shape \(shape)")
            }
            return data[0]
        }
    }

    /// The value at a multi-index (for inspection and tests, not for kernels).
    public subscript(_ index: Int...) -> Float {
        var offset = 0
        for (axis, i) in index.enumerated() { offset = offset * shape[axis] + i }
        return data[offset]
    }

    /// A copy that shares the values but is cut from the graph and never records operations.
    public func detached() -> Tensor { Tensor(shape: shape, data: data) }

    /// A tensor whose gradient is computed: a parameter or an input under test.
    public func requiringGrad() -> Tensor {
        Tensor(shape: shape, data: data, requiresGrad: true, name: name)
    }

    /// Resets the accumulated gradient.
    public func zeroGrad() { grad = nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = data.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(\(shape)\(name.map { " \($0)" } ?? ""): [\(shown)\(data.count > 8 ? ", …" : "")])"
    }
}

/// An error from a tensor operation: which operation, and what it got.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Shapes that do not fit the operation.
    case shape(op: String, message: String)
    /// An index or argument out of range.
    case invalidArgument(op: String, message: String)
    /// `backward()` called on something that cannot start it.
    case backward(String)

    public var description: String {
        switch self {
        case .shape(let op, let message): return "\(op): \(message)"
        case .invalidArgument(let op, let message): return "\(op): \(message)"
        case .backward(let message): return "backward: \(message)"
        }
    }
}

/// Product of the extents; 1 for a scalar.
@inline(__always) public func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// Row-major strides of a shape.
public func strides(of shape: [Int]) -> [Int] {
    var result = [Int](repeating: 1, count: shape.count)
    var s = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        result[axis] = s
        s *= shape[axis]
    }
    return result
}

/// Normalises a possibly negative axis; throws when it is out of range.
func normalizedAxis(_ axis: Int, rank: Int, op: String) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0 && a < max(rank, 1) else {
        throw TensorError.invalidArgument(op: op, message: "axis \(axis) out of range for rank \(rank)")
    }
    return a
}
