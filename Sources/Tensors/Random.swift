import Foundation

/// A counter-based random generator (Philox-4×32-10, Salmon et al. 2011) with named forks.
///
/// A stream is a key and a counter: the n-th number depends only on them, never on threads or on
/// other consumers. `fork("sampler")` derives an independent stream from the key and the name, so
/// adding a new consumer never shifts another's numbers. The whole state is `Codable` for checkpoints.
///
/// ```swift
/// var rng = RNG(seed: 42)
/// var init = rng.fork("init")
/// let w = Tensor.randn([4, 4], std: 0.02, rng: &init)
/// ```
public struct RNG: Codable, Equatable, Sendable {
    /// The stream's key, derived from the seed and the fork names.
    public private(set) var key: UInt64
    /// Index of the next 128-bit block.
    public private(set) var counter: UInt64
    /// Words left over from the current block, and how many of them were used.
    private var block = SIMD4<UInt32>()
    private var used: Int = 4

    /// A stream for `seed`.
    public init(seed: UInt64) {
        key = splitMix64(seed)
        counter = 0
    }

    /// An independent stream named `name`; the parent stream does not advance.
    public func fork(_ name: String) -> RNG {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        var child = self
        child.key = splitMix64(key ^ h)
        child.counter = 0
        child.block = SIMD4<UInt32>()
        child.used = 4
        return child
    }

    /// An independent stream for the `index`-th item of a collection (a sample, a row).
    public func fork(_ index: Int) -> RNG { fork("#\(index)") }

    /// The next 32 random bits.
    public mutating func nextUInt32() -> UInt32 {
        if used == 4 {
            block = philox(counter: counter, key: key)
            counter &+= 1
            used = 0
        }
        defer { used += 1 }
        return block[used]
    }

    /// Uniform in [0, 1) with 24 bits of precision.
    public mutating func uniform() -> Float { Float(nextUInt32() >> 8) * 0x1p-24 }

    /// Uniform in [0, 1) with 53 bits of precision.
    public mutating func uniformDouble() -> Double {
        let hi = UInt64(nextUInt32()) << 21, lo = UInt64(nextUInt32() >> 11)
        return Double(hi | lo) * 0x1p-53
    }

    /// Standard normal (Box–Muller, one value per call).
    public mutating func normal() -> Float {
        let u1 = max(uniformDouble(), 0x1p-60), u2 = uniformDouble()
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * .pi * u2))
    }

    /// Uniform integer in `0..<n`.
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0, "RNG.int(below:) needs n > 0")
        return Int(uniformDouble() * Double(n)) % n
    }

    /// An index drawn with probability proportional to `weights` (non-negative, not all zero).
    public mutating func categorical(_ weights: [Float]) -> Int {
        var total = 0.0
        for w in weights { total += Double(max(w, 0)) }
        guard total > 0 else { return weights.indices.last ?? 0 }
        let target = uniformDouble() * total
        var acc = 0.0
        for (i, w) in weights.enumerated() {
            acc += Double(max(w, 0))
            if target < acc { return i }
        }
        return weights.lastIndex(where: { $0 > 0 }) ?? 0
    }

    /// A permutation of `0..<n` (Fisher–Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, int(below: i + 1)) }
        return p
    }
}

@inline(__always) func splitMix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9e37_79b9_7f4a_7c15
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}

/// Philox-4×32 with 10 rounds: four 32-bit words from a 128-bit counter and a 64-bit key.
func philox(counter: UInt64, key: UInt64) -> SIMD4<UInt32> {
    var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32)
    var c2: UInt32 = 0, c3: UInt32 = 0
    var k0 = UInt32(truncatingIfNeeded: key), k1 = UInt32(truncatingIfNeeded: key >> 32)
    for _ in 0..<10 {
        let p0 = UInt64(0xD251_1F53) * UInt64(c0), p1 = UInt64(0xCD9E_8D57) * UInt64(c2)
        let hi0 = UInt32(p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
        let hi1 = UInt32(p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
        (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        k0 &+= 0x9E37_79B9
        k1 &+= 0xBB67_AE85
    }
    return SIMD4(c0, c1, c2, c3)
}

extension Tensor {
    /// Normal(0, std²) values from `rng`.
    public static func randn(_ shape: [Int], std: Float = 1, rng: inout RNG, requiresGrad: Bool = false) -> Tensor {
        let n = elementCount(shape)
        var data = [Float](repeating: 0, count: n)
        for i in 0..<n { data[i] = rng.normal() * std }
        return Tensor(shape: shape, data: data, requiresGrad: requiresGrad)
    }

    /// Uniform values in `[low, high)` from `rng`.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, rng: inout RNG) -> Tensor {
        let n = elementCount(shape)
        var data = [Float](repeating: 0, count: n)
        for i in 0..<n { data[i] = low + (high - low) * rng.uniform() }
        return Tensor(shape: shape, data: data)
    }
}
