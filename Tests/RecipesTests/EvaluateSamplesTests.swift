import Foundation
import Recording
import Testing
@testable import RecipeLanguage
@testable import Recipes

/// `evaluateSamples`: sampled responses to held-out prompts, their mean reward and the sequence
/// KL(π‖π_ref), recorded as a `samples` stage.
@Suite struct EvaluateSamplesTests {
    static let setup = """
        seed(3)
        let task = SyntheticTask.sortDigits(count: 32, evalCount: 4, digits: 3...3)
        let policy = Model.llama(hidden: 16, layers: 1, heads: 2)
        let other = Model.llama(hidden: 16, layers: 1, heads: 2)
        """

    @Test func recordsEverySampleAndTheKLOfThePolicyAgainstTheReference() throws {
        let h = Harness()
        h.session.recordsRun = true
        let printed = try h.run(
            Self.setup + """

                let plain = evaluateSamples(policy, on: task.prompts)
                print(plain.metrics.keys.sorted())
                let same = evaluateSamples(policy, reference: policy.frozen(), on: task.prompts, n: 3, maxNewTokens: 5)
                let apart = evaluateSamples(policy, reference: other, on: task.prompts, n: 3, maxNewTokens: 5)
                print(same.metrics["kl"]!)
                """)
        try h.session.finishRun()
        #expect(printed == "[\"response_length\", \"reward\", \"reward_std\"]\n0.0\n")
        let run = try RunReader(url: h.session.runFileURL)
        #expect(run.stageNames == ["samples", "samples_2", "samples_3"])

        // Defaults: 4 samples per held-out prompt, no KL without a reference; the metrics are the
        // rollouts' means.
        let plain = try run.stage("samples")
        let plainRollouts = try plain.rollouts()
        #expect(plainRollouts.count == 16)
        let rewards = plainRollouts.map(\.sample.reward)
        #expect(try plain.metric("reward") == [rewards.reduce(0, +) / 16])
        #expect(!plain.metricNames.contains("kl"))
        #expect(plainRollouts.allSatisfy { $0.sample.responseIDs.count <= 16 })

        // KL against the policy's own copy is 0; against another model it is the mean over samples
        // of Σₜ log π − log π_ref, here computed again one sequence at a time.
        #expect(try run.stage("samples_2").metric("kl") == [0])
        let variables = Dictionary(uniqueKeysWithValues: h.interpreter.variables.map { ($0.name, $0.value) })
        let policy = try variables["policy"]!.asObject(Model.self), other = try variables["other"]!.asObject(Model.self)
        let apart = try run.stage("samples_3")
        let rollouts = try apart.rollouts()
        #expect(rollouts.count == 12)
        var total = 0.0
        for rollout in rollouts {
            let prompt = rollout.sample.promptIDs.map(Int.init), response = rollout.sample.responseIDs.map(Int.init)
            #expect(response.count <= 5)
            let mine = try responseLogprobs(policy, prompt: prompt, response: response)
            let theirs = try responseLogprobs(other, prompt: prompt, response: response)
            for (recorded, direct) in zip(rollout.sample.logprobs, mine) { #expect(abs(recorded - direct) < 1e-4) }
            total += zip(mine, theirs).map { $0 - $1 }.reduce(0, +)
        }
        let kl = try apart.metric("kl")[0]
        #expect(abs(kl - total / 12) < 1e-4 * max(1, abs(kl)), "recorded \(kl), direct \(total / 12)")
        #expect(kl != 0)
    }

    @Test(arguments: [
        ("evaluateSamples(policy, on: task.prompts, n: 0)", "n must be at least 1 sample per prompt, got 0 (line 5, column 1)"),
        (
            "evaluateSamples(policy, on: task.prompts, temperature: 0)",
            "temperature must be above 0 (the KL is of the sampling distribution), got 0.0 (line 5, column 1)"
        ),
        ("evaluateSamples(policy, on: task.prompts, maxNewTokens: 0)", "maxNewTokens must be at least 1, got 0 (line 5, column 1)"),
        (
            "evaluateSamples(policy, on: SyntheticTask.sortDigits(count: 8, evalCount: 0).prompts)",
            "sort_digits prompts has no held-out prompts to sample; make the task with evalCount: above 0 (line 5, column 1)"
        ),
        ("evaluateSamples(policy, on: task.prompts, n: \"four\")", "`evaluateSamples` argument `n:` expects Int, found String (line 5, column 46)"),
    ])
    func badArgumentsGiveLocatedErrors(_ call: String, _ expected: String) {
        #expect(failure(Self.setup + "\n" + call) == expected)
    }
}

/// The log-probability of each response token given the prompt and the tokens before it: a
/// log-softmax written out over the logits of one forward pass over the single sequence.
private func responseLogprobs(_ model: Model, prompt: [Int], response: [Int]) throws -> [Double] {
    let ids = prompt + response
    let logits = try model.lm.logits(ids: ids, batch: 1, length: ids.count).data.map(Double.init)
    let vocabulary = logits.count / ids.count
    return response.indices.map { j in
        let row = logits[((prompt.count - 1 + j) * vocabulary)..<((prompt.count + j) * vocabulary)]
        let top = row.max()!
        let logSum = top + log(row.map { exp($0 - top) }.reduce(0, +))
        return row[row.startIndex + response[j]] - logSum
    }
}
