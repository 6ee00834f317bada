import Recording
import Testing

@Suite("Tensor statistics")
struct TensorStatisticsTests {
    @Test(arguments: [1, 2, 15, 16, 17, 31, 1000, 4099])
    func matchesTheTwoPassReference(count: Int) {
        for t in [0, 1, 5] {
            let x = syntheticBuffer(tensor: t, step: 7, count: count)
            let stats = TensorStatistics(x)
            #expect(approximatelyEqual(stats, referenceStatistics(x), tolerance: 1e-12), "t=\(t): \(stats)")
        }
    }

    @Test func constantBufferHasZeroSpreadExactly() {
        let stats = TensorStatistics([Float](repeating: 1, count: 1000))
        #expect(stats == TensorStatistics(mean: 1, std: 0, min: 1, max: 1, absmax: 1, l2: 1000.0.squareRoot(), nonfinite: 0))
    }

    @Test func nonFiniteValuesAreCountedAndLeftOut() {
        var x = syntheticBuffer(tensor: 3, step: 1, count: 100)
        x[0] = .nan
        x[40] = .infinity
        x[99] = -.infinity
        let stats = TensorStatistics(x)
        #expect(stats.nonfinite == 3)
        let finite = x.filter(\.isFinite)
        #expect(approximatelyEqual(stats, TensorStatistics(finite).with(nonfinite: 3), tolerance: 1e-12))
        let allNaN = TensorStatistics([Float.nan, .nan])
        #expect(allNaN.nonfinite == 2 && allNaN.mean.isNaN && allNaN.l2 == 0)
    }

    @Test func emptyAndSingleElementBuffers() {
        let empty = TensorStatistics([Float]())
        #expect(empty.mean.isNaN && empty.l2 == 0 && empty.nonfinite == 0)
        let one = TensorStatistics([Float(-3)])
        #expect(one.mean == -3 && one.std.isNaN && one.absmax == 3 && one.l2 == 3)
    }

    @Test func sameBufferGivesTheSameBits() {
        let x = syntheticBuffer(tensor: 2, step: 9, count: 12345)
        let a = TensorStatistics(x)
        let b = TensorStatistics(x)
        #expect(a.row.map(\.bitPattern) == b.row.map(\.bitPattern))
    }

    @Test func largeMeanSmallSpreadKeepsItsVariance() {
        // 1 + tiny deviations: the shifted sums keep the spread that a raw Σx² would cancel.
        let x = (0..<100_000).map { Float(1) + Float($0 % 7 - 3) * Float(1e-6) }
        let stats = TensorStatistics(x)
        let reference = referenceStatistics(x)
        #expect(abs(stats.std - reference.std) <= 1e-6 * reference.std)
    }
}

extension TensorStatistics {
    func with(nonfinite: Int) -> TensorStatistics {
        var copy = self
        copy.nonfinite = nonfinite
        return copy
    }
}
