// Statistics of one tensor's values, gradient or update, in one pass over its buffer.
//
// n = number of elements, K = the first element (a shift: sums of (x - K) keep the variance exact
// when the mean is large against the spread, e.g. a norm weight of ones has std exactly 0).
// The pass accumulates in Float64, in a fixed order (8 lanes, then the tail), so the same buffer
// always gives the same bits. Non-finite elements (NaN, ±inf) are counted and left out of the other
// statistics; a buffer with any of them takes a second, element-by-element pass.

import Dispatch

/// Summary statistics of a Float buffer, as recorded per step for every parameter.
///
/// Non-finite elements are counted in `nonfinite` and excluded from the other statistics, so one
/// NaN does not hide the rest of the tensor. `std` is the unbiased (n - 1) standard deviation, as
/// PyTorch's `Tensor.std()` computes it; it is NaN for fewer than two finite elements. With no
/// finite element, `mean`, `std`, `min`, `max` and `absmax` are NaN and `l2` is 0.
public struct TensorStatistics: Sendable, Equatable, Hashable {
    public var mean: Double
    /// Unbiased (Bessel-corrected) standard deviation, as `torch.std` by default.
    public var std: Double
    public var min: Double
    public var max: Double
    /// Largest absolute value.
    public var absmax: Double
    /// Euclidean norm, sqrt(sum of squares).
    public var l2: Double
    /// Number of NaN and infinite elements.
    public var nonfinite: Int

    /// The column names of a statistics row in the run file, in order.
    public static let columns = ["mean", "std", "min", "max", "absmax", "l2", "nonfinite"]

    /// Statistics given directly.
    public init(mean: Double, std: Double, min: Double, max: Double, absmax: Double, l2: Double, nonfinite: Int) {
        self.mean = mean
        self.std = std
        self.min = min
        self.max = max
        self.absmax = absmax
        self.l2 = l2
        self.nonfinite = nonfinite
    }

    /// Statistics from a row in the order of `columns`.
    public init(row: some Collection<Double>) {
        let r = Array(row)
        precondition(r.count == Self.columns.count, "a statistics row has \(Self.columns.count) columns")
        self.init(
            mean: r[0], std: r[1], min: r[2], max: r[3], absmax: r[4], l2: r[5],
            nonfinite: r[6].isFinite ? Int(r[6]) : -1)
    }

    /// The row written to the run file, in the order of `columns`.
    public var row: [Double] { [mean, std, min, max, absmax, l2, Double(nonfinite)] }

    /// Computes the statistics of `values` in one pass.
    public init(_ values: UnsafeBufferPointer<Float>) {
        let n = values.count
        guard n > 0, let base = values.baseAddress else {
            self = Self.finish(count: 0, shift: 0, s1: 0, s2: 0, min: .nan, max: .nan, nonfinite: 0)
            return
        }
        let first = base[0]
        let shift = Double(first)
        let shiftLanes = SIMD4<Double>(repeating: shift)
        var s1a = SIMD4<Double>(), s1b = SIMD4<Double>()
        var s2a = SIMD4<Double>(), s2b = SIMD4<Double>()
        var lo = SIMD8<Float>(repeating: first), hi = SIMD8<Float>(repeating: first)
        let raw = UnsafeRawPointer(base)
        let blocks = n / 8
        for block in 0..<blocks {
            let v = raw.loadUnaligned(fromByteOffset: block &* 32, as: SIMD8<Float>.self)
            // `replace(with:where:)` compiles to minps/maxps; `pointwiseMin` is a call per block.
            lo.replace(with: v, where: v .< lo)
            hi.replace(with: v, where: v .> hi)
            let a = Self.widen(v.lowHalf) - shiftLanes
            let b = Self.widen(v.highHalf) - shiftLanes
            s1a += a
            s1b += b
            s2a += a * a
            s2b += b * b
        }
        var s1 = (s1a + s1b).sum()
        var s2 = (s2a + s2b).sum()
        var mn = lo.min()
        var mx = hi.max()
        for i in (blocks * 8)..<n {
            let x = base[i]
            mn = Swift.min(mn, x)
            mx = Swift.max(mx, x)
            let d = Double(x) - shift
            s1 += d
            s2 += d * d
        }
        // s2 cannot overflow for finite Float input (at most ~4.6e77 per element), so a
        // non-finite s2 means a NaN or an infinity somewhere.
        if s2.isFinite {
            self = Self.finish(count: n, shift: shift, s1: s1, s2: s2, min: Double(mn), max: Double(mx), nonfinite: 0)
        } else {
            self = Self.careful(values)
        }
    }

    /// Float lanes to Double lanes; compiles to cvtps2pd (the generic SIMD conversion does not).
    @inline(__always)
    private static func widen(_ v: SIMD4<Float>) -> SIMD4<Double> {
        SIMD4<Double>(Double(v[0]), Double(v[1]), Double(v[2]), Double(v[3]))
    }

    /// Computes the statistics of `values` in one pass.
    public init(_ values: [Float]) {
        self = values.withUnsafeBufferPointer { TensorStatistics($0) }
    }

    /// The statistics of many buffers, computed on up to `threads` threads.
    ///
    /// Each buffer's statistics are computed by one thread in the same order as `init(_:)`, so
    /// the result does not depend on `threads`. Buffers are dealt to threads largest first.
    public static func of(_ buffers: [UnsafeBufferPointer<Float>], threads: Int = 2) -> [TensorStatistics] {
        let workers = Swift.max(1, Swift.min(threads, buffers.count))
        guard workers > 1 else { return buffers.map { TensorStatistics($0) } }
        // Largest first onto the least loaded worker: a fixed plan from the sizes alone.
        var plans = [[Int]](repeating: [], count: workers)
        var loads = [Int](repeating: 0, count: workers)
        for i in buffers.indices.sorted(by: { (buffers[$0].count, $1) > (buffers[$1].count, $0) }) {
            let w = loads.indices.min { (loads[$0], $0) < (loads[$1], $1) }!
            plans[w].append(i)
            loads[w] += buffers[i].count + 64
        }
        let results = UnsafeMutableBufferPointer<TensorStatistics>.allocate(capacity: buffers.count)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for i in plans[w] { (results.baseAddress! + i).initialize(to: TensorStatistics(buffers[i])) }
        }
        return Array(results)
    }

    /// The statistics of many arrays, computed on up to `threads` threads (see `of(_:threads:)`).
    public static func of(_ arrays: [[Float]], threads: Int = 2) -> [TensorStatistics] {
        // The arrays are not mutated while the pointers live, so their storage stays put.
        var buffers: [UnsafeBufferPointer<Float>] = []
        func nest(_ i: Int) -> [TensorStatistics] {
            guard i < arrays.count else { return of(buffers, threads: threads) }
            return arrays[i].withUnsafeBufferPointer { p in
                buffers.append(p)
                return nest(i + 1)
            }
        }
        return nest(0)
    }

    /// The statistics of `count` zeros.
    public init(zerosOf count: Int) {
        self = count > 0 ? Self.finish(count: count, shift: 0, s1: 0, s2: 0, min: 0, max: 0, nonfinite: 0) : TensorStatistics([Float]())
    }

    /// The element-by-element pass for buffers holding NaN or infinities.
    private static func careful(_ values: UnsafeBufferPointer<Float>) -> TensorStatistics {
        var count = 0
        var nonfinite = 0
        var shift = 0.0
        var s1 = 0.0, s2 = 0.0
        var mn = Double.infinity, mx = -Double.infinity
        for x in values {
            guard x.isFinite else {
                nonfinite += 1
                continue
            }
            let v = Double(x)
            if count == 0 { shift = v }
            count += 1
            mn = Swift.min(mn, v)
            mx = Swift.max(mx, v)
            let d = v - shift
            s1 += d
            s2 += d * d
        }
        return finish(
            count: count, shift: shift, s1: s1, s2: s2, min: count > 0 ? mn : .nan, max: count > 0 ? mx : .nan,
            nonfinite: nonfinite)
    }

    /// Statistics from the shifted sums s1 = Σ(x - K), s2 = Σ(x - K)² over `count` finite elements.
    private static func finish(
        count: Int, shift: Double, s1: Double, s2: Double, min: Double, max: Double, nonfinite: Int
    ) -> TensorStatistics {
        guard count > 0 else {
            return TensorStatistics(
                mean: .nan, std: .nan, min: .nan, max: .nan, absmax: .nan, l2: 0, nonfinite: nonfinite)
        }
        let n = Double(count)
        let mean = shift + s1 / n
        let std = count > 1 ? Swift.max(0, (s2 - s1 * s1 / n) / (n - 1)).squareRoot() : .nan
        // Σx² = Σ(x - K)² + 2KΣ(x - K) + nK²
        let sumSquares = Swift.max(0, s2 + 2 * shift * s1 + n * shift * shift)
        return TensorStatistics(
            mean: mean, std: std, min: min, max: max, absmax: Swift.max(Swift.abs(min), Swift.abs(max)),
            l2: sumSquares.squareRoot(), nonfinite: nonfinite)
    }
}
