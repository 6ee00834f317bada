import Foundation
import Testing
@testable import Tensors

/// The counter-based generator: the published Philox answer, named forks, checkpoints.
@Suite struct RandomTests {
    /// Random123's known answer for Philox-4×32-10 with a zero counter and key.
    @Test func philoxMatchesTheReferenceVector() {
        #expect(philox(counter: 0, key: 0) == SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
    }

    @Test func sameSeedSameStreamOtherSeedOtherStream() {
        var a = RNG(seed: 5), b = RNG(seed: 5), c = RNG(seed: 6)
        let x = (0..<10).map { _ in a.nextUInt32() }
        #expect(x == (0..<10).map { _ in b.nextUInt32() })
        #expect(x != (0..<10).map { _ in c.nextUInt32() })
    }

    /// Drawing from one fork, or from the parent, never shifts another fork's numbers.
    @Test func forksAreIndependentOfOtherConsumers() {
        let root = RNG(seed: 9)
        var quiet = root
        var sampler = quiet.fork("sampler")
        let expected = (0..<8).map { _ in sampler.uniform() }

        var busy = root
        var other = busy.fork("init")
        for _ in 0..<100 { _ = other.normal(); _ = busy.nextUInt32() }
        var again = busy.fork("sampler")
        #expect((0..<8).map { _ in again.uniform() } == expected)
        #expect(root.fork("a").key != root.fork("b").key && root.fork(1).key != root.fork(2).key)
    }

    /// A stream saved in the middle of a 4-word block resumes exactly where it was.
    @Test func streamResumesFromItsCodableState() throws {
        var rng = RNG(seed: 77)
        _ = (0..<5).map { _ in rng.nextUInt32() }
        let saved = try JSONEncoder().encode(rng)
        let continued = (0..<9).map { _ in rng.nextUInt32() }
        var restored = try JSONDecoder().decode(RNG.self, from: saved)
        #expect((0..<9).map { _ in restored.nextUInt32() } == continued)
    }

    @Test func distributionsHaveTheirMoments() {
        var rng = RNG(seed: 3)
        let n = 20_000
        let normals = Tensor.randn([n], std: 2, rng: &rng).data.map(Double.init)
        let mean = normals.reduce(0, +) / Double(n)
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        #expect(abs(mean) < 0.05 && abs(variance - 4) < 0.15)
        let uniforms = Tensor.uniform([n], low: -1, high: 3, rng: &rng).data
        #expect(uniforms.allSatisfy { $0 >= -1 && $0 < 3 })
        #expect(abs(uniforms.reduce(0, +) / Float(n) - 1) < 0.05)
        let perm = rng.permutation(50)
        #expect(perm.sorted() == Array(0..<50) && perm != Array(0..<50))
        var counts = [0, 0, 0]
        for _ in 0..<3000 { counts[rng.categorical([1, 0, 3])] += 1 }
        #expect(counts[1] == 0 && abs(Double(counts[2]) / 3000 - 0.75) < 0.04)
    }
}
