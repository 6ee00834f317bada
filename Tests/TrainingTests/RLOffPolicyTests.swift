// Off-policy correction when the sampler decodes from Q8_0 weights: the sampler's log-probs move
// away from the training forward's, and sequence-level masking leaves the farthest sequences out.

import Alignment
import Foundation
import Models
import Testing
import Training

extension RLTrainerTests {
    @Test func q8DecodeWeightsMoveTheSamplerAndSequenceMaskingLeavesSequencesOut() throws {
        let band = [0.999, 1.001]
        let quantized = try learn(.groupNorm, rollouts: 2, decodeWeights: .q8_0) { $0.seqMaskTIS = band }.summary.lastRollout
        let exact = try learn(.groupNorm, rollouts: 2) { $0.seqMaskTIS = band }.summary.lastRollout
        let q8 = try #require(quantized["logprobs_diff_max"]), f32 = try #require(exact["logprobs_diff_max"])
        #expect(q8 > 1e-3 && f32 < 1e-4, "logprobs_diff_max: Q8_0 \(q8), Float32 \(f32)")
        #expect(quantized["seq_masked"]! > 0, "no sequence left the band [0.999, 1.001] with Q8_0 decode weights")
        #expect(exact["seq_masked"] == 0, "Float32 decode weights agree to ~1e-6: no sequence may be masked")
    }
}
