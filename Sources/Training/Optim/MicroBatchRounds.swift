import Distributed
import Foundation
import Tensors

/// Runs an optimizer step's micro-batches over the ranks of `world` and leaves in each parameter's
/// `grad` the step's gradient, with the same bits whatever the number of ranks.
///
/// Micro-batch i runs on rank i mod N, from zeroed gradients; its gradients are summed with the
/// others' in micro-batch order (``OrderedGradientSum``), and every rank gets every micro-batch's
/// result, in micro-batch order, so metrics add up in one order too. A world of one runs the same
/// additions, one micro-batch at a time.
///
/// When a micro-batch throws, its rank still takes part in the round (so no rank waits forever),
/// then every rank throws: the failing rank its own error, the others
/// ``DistributedError/rankFailed(rank:message:)``.
func runMicroBatches(
    _ count: Int, parameters: [Tensor], world: World, _ run: (Int) throws -> MicroResult
) throws -> [MicroResult] {
    let sum = OrderedGradientSum(world: world, sizes: parameters.map(\.count))
    var results: [MicroResult] = []
    results.reserveCapacity(count)
    let rounds = (count + world.size - 1) / world.size
    for round in 0..<rounds {
        let index = round * world.size + world.rank
        var local: Result<MicroResult, Error>?
        var gradients: [[Float]?]?
        if index < count {
            for p in parameters { p.grad = nil }
            local = Result { try run(index) }
            gradients = parameters.map { $0.grad?.data }
        }
        guard world.usesMPI else {
            _ = try sum.add(gradients, note: [])
            if let local { results.append(try local.get()) }
            continue
        }
        let notes = try sum.add(gradients, note: local.map(MicroNote.init).map(MicroNote.encode) ?? [])
        var failure: (rank: Int, message: String)?
        for (rank, note) in notes.enumerated() where round * world.size + rank < count {
            switch try MicroNote.decode(note) {
            case .result(let result): results.append(result)
            case .failure(let message): if failure == nil { failure = (rank, message) }
            }
        }
        if case .failure(let error) = local { throw error }
        if let failure { throw DistributedError.rankFailed(rank: failure.rank, message: failure.message) }
    }
    for (p, gradient) in zip(parameters, try sum.result()) {
        p.grad = gradient.map { Tensor(shape: p.shape, data: $0) }
    }
    return results
}

/// A micro-batch's outcome as it travels between ranks.
enum MicroNote: Codable {
    case result(MicroResult)
    case failure(String)

    init(_ outcome: Result<MicroResult, Error>) {
        switch outcome {
        case .success(let result): self = .result(result)
        case .failure(let error): self = .failure("\(error)")
        }
    }

    static func encode(_ note: MicroNote) -> [UInt8] {
        (try? Wire.encode(note)) ?? []
    }

    static func decode(_ bytes: [UInt8]) throws -> MicroNote {
        do { return try Wire.decode(MicroNote.self, from: bytes) } catch {
            throw DistributedError.rankFailed(rank: -1, message: "an unreadable micro-batch result (\(error))")
        }
    }
}
