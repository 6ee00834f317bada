import Foundation

// Rewards made of named parts: a recipe's reward function returns `["format": 1, "answer": 0.5]`,
// the reward is the weighted sum `Σ weights[name] · value` (weight 1 for a name the weights leave
// out, so unweighted components simply add up), and every rollout logs each component's mean,
// overall and per `datasource`, beside the reward: `reward_<name>` and `<datasource>_reward_<name>`.
// A component a response does not return counts as 0 for it.

/// A reward written in the recipe that returns named components; the arguments are those of
/// ``RewardFunction``.
public typealias RewardComponentsFunction = (_ prompt: String, _ response: String, _ label: String?) throws -> [String: Double]

/// What is wrong with `name` as a reward component's name (it becomes part of a run-file metric
/// name), or nil.
func rewardComponentNameProblem(_ name: String) -> String? {
    let allowed = name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" }
    return !name.isEmpty && allowed
        ? nil : "a reward component's name must be letters, digits and _ (it names a metric), got \(name.debugDescription)"
}

extension RewardSource {
    /// The components of every query, checked: names usable in metric names, finite values.
    func rewardComponents(_ function: RewardComponentsFunction, _ queries: [RewardQuery], what: String) throws -> [[String: Double]] {
        try queries.map { q in
            let components: [String: Double]
            do {
                components = try function(q.prompt, q.response, q.label)
            } catch {
                throw TrainingError.invalidData(
                    "\(what): the reward function failed on sample \(q.index) (prompt \(q.prompt.debugDescription), "
                        + "response \(q.response.debugDescription)): \(error)")
            }
            guard !components.isEmpty else {
                throw TrainingError.invalidData(
                    "\(what): the reward function returned no components for sample \(q.index) (response \(q.response.debugDescription)); "
                        + "return at least one, e.g. [\"answer\": 1]")
            }
            for (name, value) in components.sorted(by: { $0.key < $1.key }) {
                if let problem = rewardComponentNameProblem(name) { throw TrainingError.invalidData("\(what): sample \(q.index): \(problem)") }
                try Self.check(value, q, what: what, source: "the reward function's component \(name)")
            }
            return components
        }
    }

    /// `Σ weights[name] · value` of each sample. Every weighted name must be returned by some
    /// response of the batch, so a misspelt weight is an error rather than a silent 0.
    func weightedSum(_ components: [[String: Double]], weights: [String: Double], what: String) throws -> [Double] {
        let returned = Set(components.flatMap(\.keys))
        if let missing = weights.keys.sorted().first(where: { !returned.contains($0) }) {
            throw TrainingError.invalidData(
                "\(what): rewardWeights names \(missing.debugDescription), which the reward function returned for no response "
                    + "(it returned \(returned.sorted().joined(separator: ", "))); fix the name or drop the weight")
        }
        return components.map { c in c.keys.sorted().reduce(0) { $0 + (weights[$1] ?? 1) * c[$1]! } }
    }
}

/// The mean of each reward component over `samples` (`reward_<name>`) and over each datasource's
/// samples (`<datasource>_reward_<name>`); empty when no sample has components.
func rewardComponentMetrics(_ samples: [RolloutExperience]) -> [String: Double] {
    let names = Set(samples.flatMap(\.rewardComponents.keys))
    guard !names.isEmpty else { return [:] }
    var metrics: [String: Double] = [:]
    let bySource = Dictionary(grouping: samples, by: \.prompt.datasource)
    for name in names {
        func mean(_ group: [RolloutExperience]) -> Double {
            group.reduce(0) { $0 + ($1.rewardComponents[name] ?? 0) } / Double(max(group.count, 1))
        }
        metrics["reward_\(name)"] = mean(samples)
        for (source, group) in bySource { metrics["\(source)_reward_\(name)"] = mean(group) }
    }
    return metrics
}
