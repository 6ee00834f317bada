// DAPO's dynamic sampling against OpenRLHF v0.11.0's `SamplesGenerator`: the same score tables
// give the same kept prompts, in the same order, from the same number of prompts drawn.

import Alignment
import FixtureSupport
import Foundation
import Testing

@Suite struct DynamicFilteringFixtureTests {
    @Test(arguments: ReferenceCase.all("dynamic_filtering.json"))
    func dynamicFilteringMatchesOpenRLHF(_ c: ReferenceCase) throws {
        try c.check { f in
            let table = try f.file.inputs.array(f.params.string("scores"))
            let prompts = table.shape[0], n = table.shape[1]
            let scores = (0..<prompts).map { i in Array(table.values[(i * n)..<((i + 1) * n)]) }
            let bounds = try f.params.array("range").values
            var cursor = 0
            var generatedRounds: [Int] = []
            let result = try dynamicFiltering(
                batchSize: Int(try f.params.double("batch_size")), range: (bounds[0], bounds[1]), maxRounds: 1_000,
                draw: { count -> [Int] in
                    let drawn = Array(cursor..<min(cursor + count, prompts))
                    cursor += drawn.count
                    return drawn
                },
                generate: { drawn, round in
                    generatedRounds.append(round)
                    return drawn
                },
                scores: { scores[$0] })
            #expect(generatedRounds == Array(0..<result.rounds))
            #expect(result.generated == result.promptsConsumed)
            return [
                "accepted_prompts": result.accepted, "prompts_consumed": result.promptsConsumed,
                // OpenRLHF's rate counts the kept samples (n per kept prompt) over the prompts drawn.
                "filter_pass_rate": result.passRate * Double(n),
            ]
        }
    }

    @Test func theFilterKeepsGroupsWhoseMeanIsStrictlyInside() {
        #expect(!dynamicFilteringAccepts(scores: [0, 0, 0, 0], range: (0, 1)))
        #expect(!dynamicFilteringAccepts(scores: [1, 1, 1, 1], range: (0, 1)))
        #expect(dynamicFilteringAccepts(scores: [1, 0, 0, 0], range: (0, 1)))
        #expect(dynamicFilteringAccepts(scores: [0.5, 0.5], range: (0, 1)) && hasZeroVariance(scores: [0.5, 0.5]))
        #expect(!dynamicFilteringAccepts(scores: [], range: (0, 1)))
    }

    /// At the round cap the batch may be short; `topUp` fills it with the earliest filtered groups.
    @Test func theRoundCapStopsAndTopUpFillsTheBatch() throws {
        var next = 0
        let result = try dynamicFiltering(
            batchSize: 4, range: (0, 1), maxRounds: 2,
            draw: { count -> [Int] in
                defer { next += count }
                return Array(next..<(next + count))
            },
            generate: { drawn, _ in drawn }, scores: { $0 % 3 == 0 ? [0, 1] : [1, 1] })
        // Round 0: 0…3 keeps 0 and 3; round 1: 4, 5 keeps neither.
        #expect(result.accepted == [0, 3] && result.filtered == [1, 2, 4, 5] && result.rounds == 2 && result.promptsConsumed == 6)
        let (groups, filled) = result.topUp(to: 4)
        #expect(groups == [0, 3, 1, 2] && filled == 2)
        #expect(throws: AlignmentError.self) {
            try dynamicFiltering(batchSize: 1, range: (1, 0), maxRounds: 1, draw: { _ in [0] }, generate: { p, _ in p }, scores: { _ in [0] })
        }
    }
}
