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

/// Calls `body` with the array's base address, or nil for no array.
@inline(__always)
func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Σ a[i] * b[i] for i < n.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        // a plain multiply and add: a fused one is a library call per lane on baseline x86-64
        acc +=
            UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
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

// MARK: - exp over a row

/// e^x for eight lanes at once, accurate to a few ulp (Cephes `expf`: x = n·ln2 + r, a degree-6
/// polynomial for e^r, then 2^n through the exponent bits). Used where the argument is `x - max`
/// (softmax and friends): NaN stays NaN, -inf and anything below -87.3 give 0, and arguments
/// above 88.37 give +inf.
@inline(__always)
func exp8(_ v: SIMD8<Float>) -> SIMD8<Float> {
    let lo = SIMD8<Float>(repeating: -87.336_54), hi = SIMD8<Float>(repeating: 88.376_26)
    // Clamped into range (a NaN comes out as `lo`, and is patched at the end).
    let x = pointwiseMin(pointwiseMax(v, lo), hi)
    // n = round(x·log2(e)): adding 1.5·2²³ rounds to an integer held in the low mantissa bits.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = x * 1.442_695_04 + magic
    let fn = shifted - magic
    let n = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    // r = x - n·ln2, with ln2 split in two so the product is exact.
    let r = x - fn * 0.693_359_375 + fn * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    let er = p * (r * r) + r + 1
    let scale = unsafeBitCast((n &+ 127) &<< 23, to: SIMD8<Float>.self)
    var result = er * scale
    result.replace(with: 0, where: v .< lo)
    result.replace(with: Float.infinity, where: v .> hi)
    result.replace(with: v, where: v .!= v)
    return result
}

/// e^x for one value, the same formula as `exp8` (so a row's tail gets the same bits as its body).
@inline(__always)
func exp1(_ x: Float) -> Float { exp8(SIMD8(repeating: x))[0] }

/// y[j] = e^(x[j] - shift) for j < n; returns Σ y in a fixed order.
@inline(__always)
@discardableResult
func expShifted(_ x: UnsafePointer<Float>, _ shift: Float, _ y: UnsafeMutablePointer<Float>?, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    let s = SIMD8<Float>(repeating: shift)
    var j = 0
    while j + 8 <= n {
        let e = exp8(UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self) - s)
        if let y { UnsafeMutableRawPointer(y + j).storeBytes(of: e, as: SIMD8<Float>.self) }
        acc += e
        j += 8
    }
    var total = acc.sum()
    while j < n {
        let e = exp1(x[j] - shift)
        y?[j] = e
        total += e
        j += 1
    }
    return total
}

// MARK: - Eight lanes at a time

/// Calls `body(i, n)` for i = lower, lower + 8, … with n = min(8, elements left): a kernel then
/// loads and stores eight lanes at a time, the last group partially. Every lane computes the same
/// formula, so an element's bits do not depend on where a group starts.
@inline(__always)
func forEachLanes(_ range: Range<Int>, _ body: (Int, Int) -> Void) {
    var i = range.lowerBound
    while i < range.upperBound {
        body(i, Swift.min(8, range.upperBound - i))
        i += 8
    }
}

/// Lanes p[i..<i+n] (n <= 8), the rest zero.
@inline(__always)
func load8(_ p: UnsafePointer<Float>, _ i: Int, _ n: Int) -> SIMD8<Float> {
    if n == 8 { return UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) }
    var v = SIMD8<Float>()
    for k in 0..<n { v[k] = p[i + k] }
    return v
}

/// Writes the first n lanes of `v` to p[i..<i+n].
@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int, _ n: Int) {
    if n == 8 { UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<Float>.self); return }
    for k in 0..<n { p[i + k] = v[k] }
}
