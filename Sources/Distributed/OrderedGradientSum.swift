/// Sums the gradients of an optimizer step's micro-batches in global micro-batch order, so the
/// step's gradient has the same bits on 1, 2 or N ranks.
///
/// Micro-batch i of a step runs on rank i mod N, so the step goes in rounds: round r holds
/// micro-batches rN ..< rN + N, one per rank, and the ranks holding one take part. Each rank owns a
/// contiguous shard of the flattened parameters; a round sends every participant's shard-slices to
/// their owners (an all-to-all), and each owner adds them in rank order — global micro-batch order —
/// onto its running sum: `((g₀ + g₁) + g₂) + …`, element by element, the very additions one rank
/// makes alone. At the end an all-gather gives every rank the whole sum. A parameter a micro-batch
/// did not touch adds nothing (it is not added as zeros), and one no micro-batch touched stays nil.
///
/// Per rank and step this moves about (rounds + 1) × parameters floats, against 2 × parameters for
/// a ring all-reduce, whose order (and so whose bits) would change with the rank count.
public final class OrderedGradientSum {
    public let world: World
    /// The number of floats of each parameter.
    public let sizes: [Int]
    /// Where each parameter starts in the flattened order.
    private let starts: [Int]
    private let total: Int
    /// The flattened range this rank sums.
    private let shard: Range<Int>
    /// The running sum: of every parameter in a world of one, of this rank's shard otherwise.
    private var whole: [[Float]?]
    private var partial: [Float]
    /// Whether some micro-batch touched each parameter (the same on every rank).
    private var touched: [Bool]

    public init(world: World, sizes: [Int]) {
        self.world = world
        self.sizes = sizes
        var starts: [Int] = []
        var offset = 0
        for size in sizes {
            starts.append(offset)
            offset += size
        }
        self.starts = starts
        total = offset
        shard = OrderedGradientSum.shard(world.rank, of: world.size, total: offset)
        whole = Array(repeating: nil, count: sizes.count)
        partial = world.usesMPI ? [Float](repeating: 0, count: shard.count) : []
        touched = Array(repeating: false, count: sizes.count)
    }

    /// The flattened range rank `rank` of `size` owns.
    static func shard(_ rank: Int, of size: Int, total: Int) -> Range<Int> {
        (rank * total / size)..<((rank + 1) * total / size)
    }

    /// Adds one round. `gradients` is this rank's micro-batch of the round (one entry per
    /// parameter, nil where untouched), or nil when it has none; ranks 0 ..< k take part, for
    /// some k. `note` travels with it (the caller's status and metrics) and every rank's note comes
    /// back, in rank order.
    public func add(_ gradients: [[Float]?]?, note: [UInt8]) throws -> [[UInt8]] {
        guard world.usesMPI else {
            if let gradients { fold(gradients) }
            return [note]
        }
        // 1. Who takes part, which parameters each touched, and the notes.
        var header: [UInt8] = [gradients == nil ? 0 : 1]
        header += (0..<sizes.count).map { p in gradients?[p] == nil ? 0 : 1 }
        header += note
        let headers = try world.allGather(header)
        let present: [[Bool]?] = headers.map { h in h[0] == 0 ? nil : (0..<sizes.count).map { h[1 + $0] == 1 } }
        // 2. Shard-slices to their owners.
        var flat = [Float]()
        if let gradients {
            flat = [Float](repeating: 0, count: total)
            for (p, g) in gradients.enumerated() {
                if let g { flat.replaceSubrange(starts[p]..<(starts[p] + sizes[p]), with: g) }
            }
        }
        let shards = (0..<world.size).map { OrderedGradientSum.shard($0, of: world.size, total: total) }
        let received = try flat.withUnsafeBufferPointer { send in
            try world.allToAll(
                send, sendCounts: shards.map { gradients == nil ? 0 : $0.count }, sendOffsets: shards.map(\.lowerBound),
                receiveCounts: present.map { $0 == nil ? 0 : shard.count })
        }
        // 3. Add them in rank order, parameter by parameter within the shard.
        var offset = 0
        for case let touchedBy? in present {
            for p in 0..<sizes.count where touchedBy[p] {
                let range = (starts[p]..<(starts[p] + sizes[p])).clamped(to: shard)
                let begin = range.lowerBound - shard.lowerBound
                if touched[p] {
                    for i in 0..<range.count { partial[begin + i] += received[offset + begin + i] }
                } else {
                    for i in 0..<range.count { partial[begin + i] = received[offset + begin + i] }
                }
            }
            for p in 0..<sizes.count where touchedBy[p] { touched[p] = true }
            offset += shard.count
        }
        return headers.map { Array($0.dropFirst(1 + sizes.count)) }
    }

    /// The step's gradient: every parameter's sum, nil where no micro-batch touched it. Starts
    /// the next step afresh.
    public func result() throws -> [[Float]?] {
        defer {
            whole = Array(repeating: nil, count: sizes.count)
            touched = Array(repeating: false, count: sizes.count)
        }
        guard world.usesMPI else { return whole }
        let shards = (0..<world.size).map { OrderedGradientSum.shard($0, of: world.size, total: total).count }
        let flat = try partial.withUnsafeBufferPointer { try world.allGather($0, counts: shards) }
        return (0..<sizes.count).map { p in touched[p] ? Array(flat[starts[p]..<(starts[p] + sizes[p])]) : nil }
    }

    /// A world of one: the same additions, on whole parameters.
    private func fold(_ gradients: [[Float]?]) {
        for (p, g) in gradients.enumerated() {
            guard let g else { continue }
            if whole[p] == nil {
                whole[p] = g
            } else {
                whole[p]!.withUnsafeMutableBufferPointer { sum in
                    g.withUnsafeBufferPointer { g in for i in 0..<g.count { sum[i] += g[i] } }
                }
            }
            touched[p] = true
        }
    }
}
