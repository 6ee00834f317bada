import Alignment
import Foundation
import Tensors

// DAPO's dynamic sampling inside a rollout (`dynamicFiltering`), with Alignment's
// `dynamicFiltering` deciding which groups stay: round 0 samples and scores the rollout's
// prompts from `stream.fork("rollout").fork(r)`, exactly as a rollout without filtering does;
// round k > 0 samples one new prompt (the next of the prompt order, so later rollouts start further
// on) per group the previous round dropped, from `….fork("dynamic-\(k)")`. After
// `maxNumGenBatches` rounds a batch still short is filled with the earliest dropped groups. The
// rollout's `time_rollout_s` covers the scoring of every round.
//
// Logged with the rollout's metrics: `zero_variance_groups` (of the groups generated, those whose
// scores all agree), `filtered_groups` (of the groups generated, those dropped), `extra_samples`
// (samples generated beyond rolloutBatchSize × nSamplesPerPrompt), `gen_batches` (rounds),
// `topped_up_groups` and `trained_zero_variance_groups` (of the groups trained on, those whose
// scores agree: 0 unless the batch had to be topped up).

extension PPOTrainer {
    /// Rollout `r`'s samples, generated and scored, with dynamic filtering; `first` are the
    /// rollout's prompts, already drawn.
    func dynamicallySampled(_ r: Int, first: [Int], stream: RNG) throws -> (samples: [RolloutExperience], metrics: [String: Double]) {
        let n = options.nSamplesPerPrompt
        var pending: [Int]? = first
        let result = try dynamicFiltering(
            batchSize: options.rolloutBatchSize, range: (options.dynamicFilteringRange[0], options.dynamicFilteringRange[1]),
            maxRounds: options.maxNumGenBatches,
            draw: { count -> [Int] in
                if let first = pending {
                    pending = nil
                    return first
                }
                var drawn: [Int] = []
                while drawn.count < count {
                    let more = state.sampler.next(count - drawn.count)
                    if more.isEmpty { break }
                    drawn += more
                }
                return drawn
            },
            generate: { drawn, round -> [[RolloutExperience]] in
                let rng = round == 0 ? stream.fork("rollout").fork(r) : stream.fork("rollout").fork(r).fork("dynamic-\(round)")
                var samples = try maker.generate(
                    drawn.map { ($0, prompts[$0]) }, n: n, temperature: options.temperature, rng: rng, world: stage.context.world)
                let what = "\(stage.name) rollout \(r)" + (round > 0 ? " (dynamic sampling round \(round + 1))" : "")
                try maker.score(&samples, what: what)
                return stride(from: 0, to: samples.count, by: n).map { Array(samples[$0..<($0 + n)]) }
            },
            scores: { $0.map(\.score) })
        let (groups, filled) = result.topUp(to: options.rolloutBatchSize)
        func zeroVariance(_ groups: [[RolloutExperience]]) -> Double {
            Double(groups.filter { hasZeroVariance(scores: $0.map(\.score)) }.count)
        }
        let generated = Double(max(result.generated, 1))
        let metrics: [String: Double] = [
            "zero_variance_groups": zeroVariance(result.accepted + result.filtered) / generated,
            "filtered_groups": Double(result.filtered.count) / generated,
            "extra_samples": Double(max(result.generated - options.rolloutBatchSize, 0) * n),
            "gen_batches": Double(result.rounds),
            "topped_up_groups": Double(filled),
            "trained_zero_variance_groups": zeroVariance(groups) / Double(max(groups.count, 1)),
        ]
        return (groups.flatMap { $0 }, metrics)
    }
}
