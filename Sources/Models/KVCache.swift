import CKernels
import Foundation
import Tensors

// Keys and values of the tokens seen so far, for generation.
//
// Shapes: per layer, K and V are [B, Hkv, C, Dh] (C = capacity columns, preallocated). All rows
// share the column count `length`; a row's prompt is left-padded, so column j of row b holds a
// real token only where keyMask[b·C + j] is true. A step appends T columns to every row.
//
// Attention here skips masked columns instead of adding −inf to them, and each query's sum runs
// over its row's real keys in column order: a row gives the same bits whatever padding or
// neighbours the batch has. Prefill (T > 1) and decode (T = 1) go through the same kernel.

/// Preallocated key/value storage for every layer of a model, for batched generation.
///
/// ```swift
/// let cache = model.makeCache(batch: 2, capacity: 64)
/// try Tensor.withNoGrad {
///     let hidden = try model.forward(ids: prompt, batch: 2, length: 8, keyMask: mask, cache: cache)  // prefill
///     let next = try model.forward(ids: newTokens, batch: 2, length: 1, cache: cache)              // decode
/// }
/// ```
public final class KVCache {
    /// Rows.
    public private(set) var batch: Int
    /// Columns preallocated per row.
    public let capacity: Int
    /// Decoder layers, one key/value store each.
    public let layerCount: Int
    /// Key/value heads per layer.
    public let kvHeads: Int
    /// Size of each head.
    public let headDim: Int
    /// Columns filled (the same for every row).
    public private(set) var length: Int = 0
    /// `batch × capacity` flags: false where a column is padding (or not yet filled).
    public private(set) var keyMask: [Bool]
    /// Real tokens per row so far; the position of each row's next token.
    public private(set) var validCounts: [Int]
    /// Per layer: keys and values, `[B, Hkv, C, Dh]`.
    private var keys: [UnsafeMutablePointer<Float>]
    private var values: [UnsafeMutablePointer<Float>]
    /// Tokens per row of the step in progress.
    private var pending: Int?
    /// Real columns of each row up to the end of the step in progress, in order (shared by the layers).
    private var stepColumns: [[Int]] = []

    /// An empty cache for `batch` rows of up to `capacity` tokens.
    public init(batch: Int, capacity: Int, layers: Int, kvHeads: Int, headDim: Int) {
        precondition(batch > 0 && capacity > 0, "KVCache: batch and capacity must be positive")
        self.batch = batch
        self.capacity = capacity
        self.layerCount = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        keyMask = [Bool](repeating: false, count: batch * capacity)
        validCounts = [Int](repeating: 0, count: batch)
        let size = batch * kvHeads * capacity * headDim
        keys = (0..<layers).map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: size)
            p.initialize(repeating: 0, count: size)
            return p
        }
        values = (0..<layers).map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: size)
            p.initialize(repeating: 0, count: size)
            return p
        }
    }

    /// A cache shaped for `config`.
    public convenience init(config: ModelConfig, batch: Int, capacity: Int) {
        self.init(batch: batch, capacity: capacity, layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim)
    }

    deinit {
        for p in keys { p.deallocate() }
        for p in values { p.deallocate() }
    }

    /// Columns left.
    public var remaining: Int { capacity - length }

    /// Bytes held.
    public var byteCount: Int { 2 * layerCount * batch * kvHeads * capacity * headDim * 4 }

    // MARK: Steps

    /// Starts a step of `length` tokens per row: records their mask and returns their default
    /// positions (each row continues from its real-token count; padding repeats the next position).
    func beginStep(length t: Int, keyMask newMask: [Bool]?) throws -> [Int] {
        guard pending == nil else { throw ModelError.invalidInput("KVCache: a step is already in progress") }
        guard length + t <= capacity else {
            throw ModelError.invalidInput("KVCache: \(length) + \(t) tokens exceed the capacity of \(capacity); make a larger cache")
        }
        if let newMask, newMask.count != batch * t {
            throw ModelError.invalidInput("KVCache: keyMask has \(newMask.count) entries for batch \(batch) × \(t) tokens")
        }
        var positions = [Int](repeating: 0, count: batch * t)
        for b in 0..<batch {
            var next = validCounts[b]
            for i in 0..<t {
                let real = newMask?[b * t + i] ?? true
                keyMask[b * capacity + length + i] = real
                positions[b * t + i] = next
                if real { next += 1 }
            }
        }
        pending = t
        stepColumns = (0..<batch).map { row in (0..<(length + t)).filter { keyMask[row * capacity + $0] } }
        return positions
    }

    /// Ends the step: the new columns become part of the cache.
    func commitStep() {
        guard let t = pending else { return }
        for b in 0..<batch {
            for i in 0..<t where keyMask[b * capacity + length + i] { validCounts[b] += 1 }
        }
        length += t
        pending = nil
    }

    /// Drops a step that failed: its columns stay unused.
    func abortStep() {
        guard let t = pending else { return }
        for b in 0..<batch { for i in 0..<t { keyMask[b * capacity + length + i] = false } }
        pending = nil
    }

    // MARK: Attention

    /// Appends `k`, `v` `[B, Hkv, T, Dh]` at the step's columns of `layer`, then attends with
    /// `q [B, H, T, Dh]` over every real column up to each query's own. Returns `[B, T, H·Dh]`.
    func attend(layer: Int, q: Tensor, k: Tensor, v: Tensor) throws -> Tensor {
        guard let t = pending else { throw ModelError.invalidInput("KVCache: attend outside a step") }
        let dh = headDim, hkv = kvHeads, c = capacity, b = batch
        guard q.rank == 4, q.shape[0] == b, q.shape[2] == t, q.shape[3] == dh, q.shape[1] % hkv == 0,
            k.shape == [b, hkv, t, dh], v.shape == [b, hkv, t, dh]
        else {
            throw ModelError.invalidInput(
                "KVCache: q \(q.shape), k \(k.shape), v \(v.shape) do not fit a cache of batch \(b), \(hkv) KV heads of size \(dh), step \(t)")
        }
        let h = q.shape[1], groups = h / hkv
        let start = length, total = length + t
        let kc = keys[layer], vc = values[layer]
        k.data.withUnsafeBufferPointer { pk in
            v.data.withUnsafeBufferPointer { pv in
                for row in 0..<(b * hkv) {
                    let dst = (row * c + start) * dh, src = row * t * dh
                    (kc + dst).update(from: pk.baseAddress! + src, count: t * dh)
                    (vc + dst).update(from: pv.baseAddress! + src, count: t * dh)
                }
            }
        }
        let columns = stepColumns
        let scale = 1 / Float(dh).squareRoot()
        var out = [Float](repeating: 0, count: b * t * h * dh)
        q.data.withUnsafeBufferPointer { pq in
            out.withUnsafeMutableBufferPointer { po in
                let qa = Int(bitPattern: pq.baseAddress!), oa = Int(bitPattern: po.baseAddress!)
                let ka = Int(bitPattern: kc), va = Int(bitPattern: vc)
                let work = b * h * t * total * dh
                // One task per (row, KV head): its query heads read each key and value once.
                let body = { (pair: Int) in
                    let row = pair / hkv, kvHead = pair % hkv
                    let q = UnsafePointer<Float>(bitPattern: qa)!, o = UnsafeMutablePointer<Float>(bitPattern: oa)!
                    let kBase = UnsafePointer<Float>(bitPattern: ka)! + (row * hkv + kvHead) * c * dh
                    let vBase = UnsafePointer<Float>(bitPattern: va)! + (row * hkv + kvHead) * c * dh
                    let cols = columns[row]
                    var scores = [Float](repeating: 0, count: groups * cols.count)
                    var visible = 0
                    for i in 0..<t {
                        let limit = start + i
                        while visible < cols.count && cols[visible] <= limit { visible += 1 }
                        let firstHead = kvHead * groups
                        KVCache.attendGroup(
                            q: q + ((row * h + firstHead) * t + i) * dh, qStride: t * dh, heads: groups,
                            keys: kBase, values: vBase, columns: cols, count: visible, dh: dh, scale: scale,
                            scores: &scores, out: o + ((row * t + i) * h + firstHead) * dh)
                    }
                }
                if work >= 1 << 16 {
                    // Tasks go to whichever thread is free; each writes only its own outputs.
                    Parallel.perform(b * hkv, body)
                } else {
                    for pair in 0..<(b * hkv) { body(pair) }
                }
            }
        }
        return Tensor(shape: [b, t, h * dh], data: out)
    }

    /// softmax(q·Kᵀ · scale) · V for `heads` queries that share keys and values (a GQA group),
    /// over the first `count` real columns; zeros when there are none. Query m is at
    /// `q + m · qStride`, its output at `out + m · dh`. Each query's arithmetic is the same as
    /// if it were alone: the group only shares the loads of K and V (the C kernel
    /// `rlhf_attend_group`).
    @inline(__always)
    static func attendGroup(
        q: UnsafePointer<Float>, qStride: Int, heads: Int, keys: UnsafePointer<Float>,
        values: UnsafePointer<Float>, columns: [Int], count: Int, dh: Int, scale: Float,
        scores: inout [Float], out: UnsafeMutablePointer<Float>
    ) {
        columns.withUnsafeBufferPointer { cols in
            scores.withUnsafeMutableBufferPointer { p in
                rlhf_attend_group(q, qStride, heads, keys, values, cols.baseAddress, count, dh, scale, p.baseAddress, out)
            }
        }
    }

    // MARK: Rows

    /// Keeps only `rows` (in that order): finished samples leave the batch.
    public func keepRows(_ rows: [Int]) throws {
        guard pending == nil else { throw ModelError.invalidInput("KVCache: cannot drop rows during a step") }
        guard !rows.isEmpty, rows.allSatisfy({ $0 >= 0 && $0 < batch }) else {
            throw ModelError.invalidInput("KVCache: rows \(rows) are not a non-empty subset of 0..<\(batch)")
        }
        if rows == Array(0..<batch) { return }
        let rowSize = kvHeads * capacity * headDim
        func select(_ old: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: rows.count * rowSize)
            for (i, r) in rows.enumerated() { (p + i * rowSize).initialize(from: old + r * rowSize, count: rowSize) }
            old.deallocate()
            return p
        }
        keys = keys.map(select)
        values = values.map(select)
        keyMask = rows.flatMap { keyMask[($0 * capacity)..<(($0 + 1) * capacity)] }
        validCounts = rows.map { validCounts[$0] }
        batch = rows.count
    }

    /// Stacks the rows of several caches into one of `capacity` columns, each left-padded so that
    /// all end at the longest one's length (what a batch prefilled with left padding holds).
    public static func leftAligned(_ caches: [KVCache], capacity: Int) throws -> KVCache {
        guard let first = caches.first else { throw ModelError.invalidInput("KVCache.leftAligned: no caches") }
        let length = caches.map(\.length).max()!
        guard capacity >= length else {
            throw ModelError.invalidInput("KVCache.leftAligned: capacity \(capacity) is below the longest prefix \(length)")
        }
        for cache in caches
        where cache.layerCount != first.layerCount || cache.kvHeads != first.kvHeads
            || cache.headDim != first.headDim || cache.pending != nil
        {
            throw ModelError.invalidInput("KVCache.leftAligned: caches of different models, or one in the middle of a step")
        }
        let result = KVCache(
            batch: caches.map(\.batch).reduce(0, +), capacity: capacity, layers: first.layerCount,
            kvHeads: first.kvHeads, headDim: first.headDim)
        let dh = first.headDim
        var row = 0
        for cache in caches {
            let shift = length - cache.length
            for r in 0..<cache.batch {
                for layer in 0..<first.layerCount {
                    for g in 0..<first.kvHeads {
                        let src = ((r * cache.kvHeads + g) * cache.capacity) * dh
                        let dst = ((row * first.kvHeads + g) * capacity + shift) * dh
                        (result.keys[layer] + dst).update(from: cache.keys[layer] + src, count: cache.length * dh)
                        (result.values[layer] + dst).update(from: cache.values[layer] + src, count: cache.length * dh)
                    }
                }
                for j in 0..<cache.length { result.keyMask[row * capacity + shift + j] = cache.keyMask[r * cache.capacity + j] }
                result.validCounts[row] = cache.validCounts[r]
                row += 1
            }
        }
        result.length = length
        return result
    }
}
