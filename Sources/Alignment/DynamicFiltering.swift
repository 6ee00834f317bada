import Foundation

// DAPO's dynamic sampling (Yu et al. 2025, https://arxiv.org/abs/2503.14476, §3.2), as OpenRLHF
// v0.11.0's `SamplesGenerator._generate_vllm` does it (`--algo.dynamic_filtering_enable`): a
// prompt's group of responses is kept when the mean of its scores lies strictly inside
// `dynamic_filtering_range` (default (0, 1): with 0/1 scores, a group neither all wrong nor all
// right), and every group dropped is replaced by the next prompt of the data, whose group is
// judged in turn, until the batch holds its prompts. OpenRLHF dispatches the replacements as the
// filtered groups come back and takes them in arrival order; here each round's replacements are
// generated together, in the order their groups were dropped, which is the same order.
// OpenRLHF has no cap (it stops only when the data runs out); veRL's `max_num_gen_batches` caps
// the generation rounds, as `maxRounds` does here.

/// Whether dynamic filtering keeps a group: `low < mean(scores) < high` (OpenRLHF's test on the
/// average score of the prompt's samples).
public func dynamicFilteringAccepts(scores: [Double], range: (low: Double, high: Double)) -> Bool {
    guard !scores.isEmpty else { return false }
    let mean = scores.reduce(0, +) / Double(scores.count)
    return range.low < mean && mean < range.high
}

/// Whether every score of a group is the same (its group-baseline advantages are all zero).
public func hasZeroVariance(scores: [Double]) -> Bool {
    guard let first = scores.first else { return true }
    return scores.allSatisfy { $0 == first }
}

/// What one batch of dynamic sampling produced.
public struct DynamicFilteringResult<Group> {
    /// The groups to train on, in acceptance order: `batchSize` of them, or fewer when the data or
    /// the rounds ran out (see ``topUp``).
    public var accepted: [Group]
    /// Groups that failed the filter, in the order they were generated.
    public var filtered: [Group]
    /// Prompts drawn from the data (OpenRLHF's `prompts_consumed`).
    public var promptsConsumed: Int
    /// Generation rounds (1: nothing was filtered, or filtering is off).
    public var rounds: Int
    /// Groups generated in all rounds.
    public var generated: Int { accepted.count + filtered.count }
    /// OpenRLHF's `dynamic_filtering_pass_rate`: accepted groups per prompt consumed, in percent.
    public var passRate: Double { promptsConsumed > 0 ? Double(accepted.count) / Double(promptsConsumed) * 100 : 0 }

    /// The accepted groups, then as many filtered groups (earliest first) as fill `batchSize`
    /// when the rounds ran out first; the second value counts those.
    public func topUp(to batchSize: Int) -> (groups: [Group], filled: Int) {
        let missing = max(0, min(batchSize - accepted.count, filtered.count))
        return (accepted + filtered.prefix(missing), missing)
    }
}

/// Fills a batch of `batchSize` prompt groups with dynamic sampling.
///
/// Round 0 draws `batchSize` prompts and generates their groups; each later round draws one
/// replacement prompt per group the previous round filtered out, until none was filtered, the
/// data gives no more prompts, or `maxRounds` rounds were generated.
///
/// - Parameters:
///   - range: The open interval the mean score of a kept group lies in.
///   - maxRounds: Generation rounds at most (≥ 1).
///   - draw: The next `n` prompts of the data (fewer, or none, when it runs out).
///   - generate: The groups of `prompts`, one per prompt, in order; `round` counts from 0.
///   - scores: A group's scores, one per sample.
public func dynamicFiltering<Prompt, Group>(
    batchSize: Int, range: (low: Double, high: Double), maxRounds: Int, draw: (Int) throws -> [Prompt],
    generate: (_ prompts: [Prompt], _ round: Int) throws -> [Group], scores: (Group) -> [Double]
) throws -> DynamicFilteringResult<Group> {
    guard maxRounds >= 1 else {
        throw AlignmentError.invalidArgument(function: "dynamicFiltering", message: "maxRounds must be ≥ 1, got \(maxRounds)")
    }
    guard range.low < range.high else {
        throw AlignmentError.invalidArgument(
            function: "dynamicFiltering", message: "range must have low < high, got (\(range.low), \(range.high))")
    }
    var result = DynamicFilteringResult<Group>(accepted: [], filtered: [], promptsConsumed: 0, rounds: 0)
    var wanted = batchSize
    while wanted > 0 && result.rounds < maxRounds {
        let prompts = try draw(wanted)
        guard !prompts.isEmpty else { break }
        result.promptsConsumed += prompts.count
        let groups = try generate(prompts, result.rounds)
        result.rounds += 1
        wanted = 0
        for group in groups {
            if dynamicFilteringAccepts(scores: scores(group), range: range) {
                result.accepted.append(group)
            } else {
                result.filtered.append(group)
                wanted += 1
            }
        }
    }
    return result
}
