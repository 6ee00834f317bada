import Foundation

// Small helpers that the kernels share: arrays filled in place, and sums with a fixed order.
//
// The sums below keep eight partial sums (one SIMD register) and add them up in one fixed order,
// so they vectorise and still give the same bits on every run and every thread count.

/// An array of `count` elements written by `fill`, without zeroing it first.
///
/// `fill` must write every element.
@inline(__always)
func makeArray(count: Int, _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        fill(buffer)
        initialized = count
    }
}

/// Σ a[i] * b[i] for i < n.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        acc = acc.addingProduct(
            UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self),
            UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
        i += 8
    }
    var total = acc.sum()
    while i < n { total += a[i] * b[i]; i += 1 }
    return total
}

/// Σ a[i] for i < n.
@inline(__always)
func sum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = acc.sum()
    while i < n { total += a[i]; i += 1 }
    return total
}

/// The largest of a[0..<n] by `>` (NaN never wins; callers rely on NaN reaching the result through
/// the arithmetic that follows, as PyTorch's kernels do). -inf for n == 0.
@inline(__always)
func maxValue(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = -Float.infinity
    for i in 0..<n where a[i] > m { m = a[i] }
    return m
}

/// The row length and row count of a tensor viewed as `[rows, last axis]` (a scalar is one row of one).
@inline(__always)
func lastAxisRows(_ shape: [Int]) -> (rows: Int, width: Int) {
    let width = shape.last ?? 1
    return (width == 0 ? elementCount(Array(shape.dropLast())) : elementCount(shape) / width, width)
}

/// Rows per parallel chunk for row-wise kernels: enough work per chunk to pay for a thread hand-off.
@inline(__always)
func minRows(width: Int, costPerElement: Int = 1) -> Int {
    max(1, 16_384 / max(1, width * costPerElement))
}
