// Padding, packing and sampling.

import Datasets
import Foundation
import Testing
import Tensors

@Suite struct BatchTests {
    let examples = [
        SFTExample(ids: [1, 2, 3, 4], lossMask: [0, 0, 1, 1]),
        SFTExample(ids: [5, 6, 7, 8, 9, 10], lossMask: [0, 1, 1, 1, 1, 1]),
        SFTExample(ids: [11, 12], lossMask: [1, 1]),
        SFTExample(ids: [13, 14, 15], lossMask: [0, 1, 1]),
    ]

    @Test func paddingIsRightSidedWithMasks() {
        let batch = PaddedBatch(Array(examples.prefix(3)), padTokenID: 0)
        #expect(batch.rows == 3 && batch.length == 6)
        #expect(batch.inputIDs == [1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0])
        #expect(batch.attentionMask == [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
        #expect(batch.lossMask == [0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
        #expect(batch.targetCount == 8)
        #expect(batch.ids(row: 2) == [11, 12])
        #expect(PaddedBatch(Array(examples.prefix(1)), padTokenID: 0, multipleOf: 8).length == 8)
        let prompts = PaddedBatch(prompts: [PromptExample(text: "", ids: [1, 2]), PromptExample(text: "", ids: [3])], padTokenID: 0)
        #expect(prompts.inputIDs == [1, 2, 0, 3])
        #expect(prompts.ids(row: 1) == [3])
    }

    @Test func packingRestartsPositionsPerSample() throws {
        let packed = try PackedBatch(examples, maxLen: 8, padTokenID: 0)
        // First fit: sample 0 (4 tokens) opens row 0, sample 1 (6) does not fit beside it and opens row 1,
        // sample 2 (2) joins row 0, sample 3 (3) fits neither (6 + 3 > 8) and opens row 2.
        #expect(
            packed.placements == [
                Placement(row: 0, start: 0, count: 4), Placement(row: 1, start: 0, count: 6),
                Placement(row: 0, start: 4, count: 2), Placement(row: 2, start: 0, count: 3),
            ])
        #expect(packed.rows == 3 && packed.length == 6)
        #expect(packed.inputIDs == [1, 2, 3, 4, 11, 12, 5, 6, 7, 8, 9, 10, 13, 14, 15, 0, 0, 0])
        #expect(packed.positions == [0, 1, 2, 3, 0, 1, 0, 1, 2, 3, 4, 5, 0, 1, 2, 0, 0, 0])
        #expect(packed.segments == [1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
        #expect(packed.keyMask == packed.attentionMask.map { $0 != 0 })
        #expect(packed.lossMask == [0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0], "a sample's first token is never a target")
        #expect(packed.targetCount == PaddedBatch(examples, padTokenID: 0).targetCount)
        #expect((0..<examples.count).map { packed.ids(sample: $0) } == examples.map(\.ids))
        #expect(packed.unpack(packed.positions) == examples.map { Array(0..<$0.ids.count) })
        #expect(throws: DatasetError.self) { try PackedBatch(examples, maxLen: 5, padTokenID: 0) }
    }

    @Test func preferenceAndKTOBatchLayout() {
        let pairs = [
            PreferenceExample(promptIDs: [1], chosenIDs: [2, 9], rejectedIDs: [3, 9], margin: 0.5),
            PreferenceExample(promptIDs: [4, 5], chosenIDs: [6, 9], rejectedIDs: [9], margin: 0),
        ]
        let batch = PreferenceBatch(pairs, padTokenID: 0)
        #expect(batch.pairs == 2 && batch.margins == [0.5, 0])
        #expect((0..<4).map { batch.rows.ids(row: $0) } == [[1, 2, 9], [4, 5, 6, 9], [1, 3, 9], [4, 5, 9]])
        #expect(batch.rows.lossMask[0..<4] == [0, 1, 1, 0])

        let unpaired = [
            UnpairedExample(promptIDs: [1], responseIDs: [2, 9], label: true),
            UnpairedExample(promptIDs: [3], responseIDs: [4, 5, 9], label: false),
        ]
        let kto = UnpairedBatch(unpaired, padTokenID: 0, eosTokenID: 9, maxLen: 3)
        #expect(kto.labels == [1, 0, -1, -1])
        #expect((0..<4).map { kto.rows.ids(row: $0) } == [[1, 2, 9], [3, 4, 5, 9], [1, 4, 9], [3, 2, 9]])
    }

    @Test func samplerResumeEqualsAnUninterruptedPass() throws {
        let rng = RNG(seed: 42).fork("sampler")
        var straight = Sampler(count: 10, rng: rng)
        var expected: [Int] = []
        while straight.consumedSamples < 30 { expected += straight.next(4) }

        var first = Sampler(count: 10, rng: rng)
        var seen: [Int] = []
        for _ in 0..<5 { seen += first.next(3) }
        let saved = try JSONEncoder().encode(first)
        var resumed = try JSONDecoder().decode(Sampler.self, from: saved)
        #expect(resumed == first)
        while resumed.consumedSamples < 30 { seen += resumed.next(7) }
        #expect(seen == Array(expected.prefix(30)))

        for e in 0..<3 {
            let epoch = Array(seen[(e * 10)..<((e + 1) * 10)])
            #expect(epoch.sorted() == Array(0..<10), "each epoch visits every sample once")
            #expect(epoch == straight.order(epoch: e))
        }
        #expect(straight.order(epoch: 0) != straight.order(epoch: 1))

        var sought = Sampler(count: 10, rng: rng)
        sought.seek(consumedSamples: 15)
        #expect(sought.next(5) == Array(expected[15..<20]))
        var ordered = Sampler(count: 3, rng: rng, shuffle: false)
        #expect(ordered.next(2) == [0, 1] && ordered.next(2) == [2] && ordered.next(2) == [0, 1])
    }
}
