// Online RL end to end on the digit-sorting task: learning (GRPO, PPO, REINFORCE++, RLOO), the KL
// penalty, bit-identical reruns and resumes, and the errors a run must stop with.

import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Testing
import Training

@Suite(.serialized) struct RLTrainerTests {
    /// Trains a copy of the warm-started policy and returns (pass@1 before, pass@1 after).
    func learn(
        _ estimator: AdvantageEstimator, rollouts: Int, runFile: RunFile? = nil, reward: RewardSource = RLFixture.reward,
        decodeWeights: PackedFormat? = nil, configure: (inout PPOOptions) -> Void = { _ in }
    ) throws -> (before: Double, after: Double, summary: PPOSummary) {
        let policy = RLFixture.policy()
        if let decodeWeights { try policy.packForDecoding(decodeWeights) }
        var options = RLFixture.options(estimator, rollouts: rollouts)
        options.actorLearningRate = 1e-3
        configure(&options)
        let critic = estimator == .gae ? ScalarModel(kind: .critic, from: policy, rng: RNG(seed: 3)) : nil
        let summary = try trainPPO(
            actor: policy, reference: nil, critic: critic, reward: reward,
            prompts: RLFixture.prompts(for: options, rollouts: rollouts), evalPrompts: RLFixture.evalPrompts,
            tokenizer: RLFixture.tokenizer, options: options, context: RunContext(seed: 7, runFile: runFile))
        #expect(summary.rollouts == rollouts && !summary.stopped)
        let first = try #require(summary.evaluations.first), last = try #require(summary.evaluations.last)
        #expect(first.rollout == 0 && last.rollout == rollouts)
        return (first.result.passAt1, last.result.passAt1, summary)
    }

    @Test func grpoRaisesEvalPassAt1AndRecordsEverything() throws {
        let url = try rlTemporaryDirectory().appendingPathComponent("grpo.h5")
        let run = try rlRunFile(url, seed: 7)
        let (before, after, summary) = try learn(.groupNorm, rollouts: 100, runFile: run)
        try run.close()
        #expect(after > before + 0.2, "GRPO moved eval pass@1 from \(before) to \(after)")

        let stage = try RunReader(path: url.path).stage(summary.stage)
        #expect(stage.committedSteps == 100)
        for name in [
            "reward", "return", "kl", "kl_coef", "policy_loss", "clipfrac", "entropy", "response_length", "loss",
            "grad_norm", "lr",
        ] {
            #expect(stage.metricNames.contains(name), "metric \(name) missing")
        }
        #expect(!stage.metricNames.contains { $0.hasPrefix("time_") }, "wall-clock values among the metrics: \(stage.metricNames)")
        for name in ["time_rollout_s", "time_experience_s", "time_step_s", "time_rollout_tokens_per_s"] {
            #expect(stage.timingNames.contains(name), "timing \(name) missing")
        }
        #expect(stage.timingSteps == stage.steps)
        #expect(stage.evalNames.contains("sort_digits_pass1") && stage.evalNames.contains("sort_digits_pass4"))
        #expect(stage.evalSteps == [0, 100])
        let rewards = try stage.metric("reward")
        #expect(rewards.suffix(10).reduce(0, +) > rewards.prefix(10).reduce(0, +), "rollout reward did not rise: \(rewards)")
        let samples = try stage.rollouts()
        #expect(samples.count == 100 * 4)
        let sample = try #require(samples.first).sample
        #expect(sample.promptText?.hasSuffix("=") == true && sample.responseText != nil)
        #expect(sample.logprobs.count == sample.responseIDs.count && sample.advantages.count == sample.responseIDs.count)
    }

    /// DAPO (clip-higher, the overlong penalty, no KL) and GSPO (sequence ratio, the paper's
    /// clips, two optimizer steps per rollout so the ratio leaves 1) learn too, and log how far
    /// the sampler's log-probs are from the training forward's.
    @Test(arguments: ["dapo", "gspo"])
    func dapoAndGSPORaiseEvalPassAt1(_ variant: String) throws {
        let (before, after, summary) = try learn(.groupNorm, rollouts: 100) { o in
            o.trainBatchSize = 32
            if variant == "dapo" {
                o.epsClipLowHigh = [0.2, 0.28]
                o.overlongBufferLen = 3
            } else {
                o.policyLossType = .gspo
                o.epsClipLowHigh = [0.0003, 0.0004]
            }
        }
        #expect(after > before + 0.15, "\(variant) moved eval pass@1 from \(before) to \(after)")
        let diff = try #require(summary.lastRollout["logprobs_diff_max"])
        #expect(diff >= 0 && diff < 1e-4, "sampler and training forward disagree by \(diff) with Float32 weights")
        #expect((summary.lastRollout["overlong_penalized"] != nil) == (variant == "dapo"))
        if variant == "gspo" { #expect(summary.lastRollout["clipfrac"]! > 0, "the second step's sequence ratios were never clipped") }
    }

    /// With Float32 decode weights the sampler and the training forward agree to ~1e-6, so the
    /// truncated importance weights are 1 within float error; dual-clip changes nothing while
    /// every ratio is below c. Both leave an on-policy run's losses where they were, and a cap below 1
    /// scales them by the cap.
    @Test func tisCapAndDualClipLeaveAnOnPolicyRunUnchanged() throws {
        let plain = try learn(.groupNorm, rollouts: 3).summary.lastRollout
        let corrected = try learn(.groupNorm, rollouts: 3) { o in
            o.tisCap = 2
            o.dualClip = 3
        }.summary.lastRollout
        let a = try #require(plain["policy_loss"]), b = try #require(corrected["policy_loss"])
        #expect(abs(a - b) <= 1e-4 * max(1, abs(a)), "policy loss \(a) without, \(b) with tisCap and dualClip")
        // A cap below 1 truncates every weight (≈ 1) to the cap: the first step's loss scales by it.
        let capped = try learn(.groupNorm, rollouts: 1) { $0.tisCap = 0.5 }.summary.lastRollout["policy_loss"]!
        let uncapped = try learn(.groupNorm, rollouts: 1).summary.lastRollout["policy_loss"]!
        #expect(abs(capped - 0.5 * uncapped) <= 1e-6 + 1e-4 * abs(uncapped), "capped \(capped), uncapped \(uncapped)")
    }

    @Test func ppoRaisesEvalPassAt1() throws {
        let url = try rlTemporaryDirectory().appendingPathComponent("ppo.h5")
        let run = try rlRunFile(url, seed: 7)
        let (before, after, summary) = try learn(.gae, rollouts: 100, runFile: run)
        try run.close()
        #expect(after > before + 0.2, "PPO moved eval pass@1 from \(before) to \(after)")
        let critic = try RunReader(path: url.path).stage(summary.stage + "_critic")
        #expect(critic.committedSteps == 100)
        let losses = try critic.metric("critic_loss")
        #expect(losses.suffix(10).reduce(0, +) < losses.prefix(10).reduce(0, +), "the critic did not learn: \(losses)")
    }

    @Test(arguments: [AdvantageEstimator.reinforce, .rloo])
    func reinforcePlusPlusAndRLOOImprove(estimator: AdvantageEstimator) throws {
        let (before, after, _) = try learn(estimator, rollouts: 60)
        #expect(after > before + 0.1, "\(estimator.rawValue) moved eval pass@1 from \(before) to \(after)")
    }

    @Test func klPenaltyKeepsThePolicyNearTheReference() throws {
        func trainedKL(beta: Double) throws -> Double {
            let policy = RLFixture.policy()
            let reference = policy.frozen()
            var options = RLFixture.options(.groupNorm, rollouts: 80)
            options.actorLearningRate = 1e-3
            options.useKLLoss = true
            options.klEstimator = .k3
            options.initKLCoef = beta
            _ = try trainPPO(
                actor: policy, reference: reference, critic: nil, reward: RLFixture.reward,
                prompts: RLFixture.prompts(for: options, rollouts: 80), tokenizer: RLFixture.tokenizer,
                options: options, context: RunContext(seed: 7))
            return try measuredKL(policy: policy, reference: reference, prompts: RLFixture.evalPrompts, maxNewTokens: 8)
        }
        let free = try trainedKL(beta: 0), penalised = try trainedKL(beta: 2)
        #expect(free > 0.05, "without a penalty the policy should move away from the reference (KL \(free))")
        #expect(penalised < 0.25 * free, "KL with β = 2: \(penalised), with β = 0: \(free)")
    }

    /// PPO with a critic, a reference in the reward and an adaptive β: every code path that keeps state.
    func statefulOptions(rollouts: Int) -> PPOOptions {
        var options = RLFixture.options(.gae, rollouts: rollouts)
        options.initKLCoef = 0.05
        options.klTarget = 0.01
        options.klHorizon = 1000
        options.maxEpochs = 2
        options.trainBatchSize = 32
        options.microTrainBatchSize = 16
        options.evalSteps = 2
        options.evalNSamplesPerPrompt = 2
        options.entropyCoef = 0.01
        options.training.lrScheduler = .cosineWithMinLR
        options.training.statsEvery = 1
        return options
    }

    func statefulRun(_ url: URL, options: PPOOptions, rollouts: Int, stopAtRollout: Int? = nil) throws -> PPOSummary {
        let policy = RLFixture.policy()
        let reference = policy.frozen()
        let critic = ScalarModel(kind: .critic, from: policy, rng: RNG(seed: 3))
        let run = try rlRunFile(url, seed: 21)
        let context = RunContext(seed: 21, runFile: run)
        if let stopAtRollout {
            context.onProgress = { progress in
                if case .rollout(_, let step, _) = progress, step == stopAtRollout { return .stop }
                return .continue
            }
        }
        let summary = try trainPPO(
            actor: policy, reference: reference, critic: critic, reward: RLFixture.reward,
            prompts: RLFixture.prompts(for: options, rollouts: rollouts),
            evalPrompts: Array(RLFixture.evalPrompts.prefix(8)), tokenizer: RLFixture.tokenizer,
            options: options, context: context)
        try run.close()
        return summary
    }

    @Test func sameSeedGivesIdenticalRunFiles() throws {
        let folder = try rlTemporaryDirectory()
        let options = statefulOptions(rollouts: 4)
        let a = folder.appendingPathComponent("a.h5"), b = folder.appendingPathComponent("b.h5")
        let first = try statefulRun(a, options: options, rollouts: 4)
        _ = try statefulRun(b, options: options, rollouts: 4)
        #expect(first.actorSteps == 4 * 2 * 2 && first.criticSteps == 4 * 2 * 2)
        let x = try RunDatasets(path: a.path), y = try RunDatasets(path: b.path)
        #expect(x.tables.count > 20)
        #expect(x == y, "datasets differ: \(x.differences(from: y))")
        #expect(first.klCoef != 0.05, "the adaptive controller should have moved β")
    }

    @Test func resumedRunEqualsTheUninterruptedOne() throws {
        let folder = try rlTemporaryDirectory()
        var options = statefulOptions(rollouts: 6)
        options.saveSteps = 2
        options.ckptPath = folder.appendingPathComponent("ckpt").path
        options.loadCheckpoint = true

        var uninterrupted = options
        uninterrupted.ckptPath = folder.appendingPathComponent("ckpt-full").path
        let full = try statefulRun(folder.appendingPathComponent("full.h5"), options: uninterrupted, rollouts: 6)
        #expect(full.rollouts == 6)

        // Stopped when rollout 5 is generated: the checkpoint after rollout 4 is the last.
        let head = try statefulRun(folder.appendingPathComponent("head.h5"), options: options, rollouts: 6, stopAtRollout: 5)
        #expect(head.stopped && head.rollouts == 4)
        let resumed = try statefulRun(folder.appendingPathComponent("resumed.h5"), options: options, rollouts: 6)
        #expect(resumed.rollouts == 6 && !resumed.stopped && resumed.resumedFromStep == 4 * 4)
        #expect(resumed.klCoef == full.klCoef)
        #expect(resumed.evalHistory == full.evalHistory)
        #expect(resumed.trainingSummary.steps == full.actorSteps)

        // The resumed run's file holds the checkpointed history too: it equals the uninterrupted one.
        let whole = try RunDatasets(path: folder.appendingPathComponent("full.h5").path)
        let again = try RunDatasets(path: folder.appendingPathComponent("resumed.h5").path)
        #expect(whole == again, "datasets differ: \(whole.differences(from: again))")
        #expect(whole.tables["ppo/eval/step"] == [[0], [8], [16], [24]])

        // Resuming the finished run restores its final checkpoint: no rollout, the same record.
        let skipped = try statefulRun(folder.appendingPathComponent("skipped.h5"), options: options, rollouts: 6, stopAtRollout: 1)
        #expect(!skipped.stopped && skipped.rollouts == 6 && skipped.resumedFromStep == 6 * 4 && skipped.klCoef == full.klCoef)
        #expect(skipped.evalHistory == full.evalHistory && skipped.evaluations.isEmpty)
        let record = try RunDatasets(path: folder.appendingPathComponent("skipped.h5").path)
        #expect(whole == record, "datasets differ: \(whole.differences(from: record))")
        #expect(CheckpointFolder(root: URL(fileURLWithPath: options.ckptPath!)).steps() == [2, 4, 6])
    }

    @Test(arguments: AdvantageEstimator.allCases)
    func everyEstimatorTrains(estimator: AdvantageEstimator) throws {
        let policy = RLFixture.policy()
        let before = policy.parameters().map(\.tensor.data)
        var options = RLFixture.options(estimator, rollouts: 2)
        options.useKLLoss = estimator != .gae
        options.initKLCoef = 0.01
        options.maxSteps = 2
        let critic = estimator == .gae ? ScalarModel(kind: .critic, from: policy, rng: RNG(seed: 3)) : nil
        var losses: [Double] = []
        let context = RunContext(seed: 5)
        context.onProgress = { progress in
            if case .step(let stage, _, _, let metrics, _) = progress, !stage.hasSuffix("_critic") { losses.append(metrics["loss"]!) }
            return .continue
        }
        let summary = try trainPPO(
            actor: policy, reference: policy.frozen(), critic: critic, reward: RLFixture.reward,
            prompts: RLFixture.prompts(for: options, rollouts: 3), tokenizer: RLFixture.tokenizer,
            options: options, context: context)
        #expect(summary.stage == estimator.stageName && summary.actorSteps == 2, "maxSteps caps the rollouts")
        #expect(losses.count == 2 && losses.allSatisfy(\.isFinite))
        #expect(policy.parameters().map(\.tensor.data) != before)
    }

    @Test func frozenActorLetsOnlyTheCriticTrain() throws {
        let url = try rlTemporaryDirectory().appendingPathComponent("frozen.h5")
        let run = try rlRunFile(url, seed: 5)
        let policy = RLFixture.policy()
        let critic = ScalarModel(kind: .critic, from: policy, rng: RNG(seed: 3))
        let before = policy.parameters().map(\.tensor.data)
        var options = RLFixture.options(.gae, rollouts: 3)
        options.freezingActorSteps = 2
        var afterFrozen: [[Float]] = []
        let context = RunContext(seed: 5, runFile: run)
        context.onProgress = { progress in
            if case .rollout(_, 3, _) = progress { afterFrozen = policy.parameters().map(\.tensor.data) }
            return .continue
        }
        let summary = try trainPPO(
            actor: policy, reference: nil, critic: critic, reward: RLFixture.reward,
            prompts: RLFixture.prompts(for: options, rollouts: 3), tokenizer: RLFixture.tokenizer,
            options: options, context: context)
        try run.close()
        #expect(summary.actorSteps == 1 && summary.criticSteps == 3)
        #expect(afterFrozen == before, "the actor changed while frozen")
        let reader = try RunReader(path: url.path)
        #expect(try reader.stage("ppo").metric("rollout") == [3])
        let criticStage = try reader.stage("ppo_critic")
        #expect(try criticStage.metric("rollout") == [1, 2, 3])
        #expect(try criticStage.rollouts().map(\.step) == [1, 1, 1, 1, 2, 2, 2, 2], "frozen rollouts keep their samples with the critic")
    }

    @Test(arguments: [AdvantageEstimator.rloo, .reinforceBaseline, .groupNorm, .drGRPO])
    func groupEstimatorWithOneSamplePerPromptIsAnError(estimator: AdvantageEstimator) throws {
        var options = RLFixture.options(estimator)
        options.nSamplesPerPrompt = 1
        options.trainBatchSize = 16
        options.microTrainBatchSize = 16
        let error = #expect(throws: TrainingError.self) {
            _ = try trainPPO(
                actor: RLFixture.untrained(), reference: nil, critic: nil, reward: RLFixture.reward,
                prompts: RLFixture.prompts(for: options, rollouts: 1), tokenizer: RLFixture.tokenizer,
                options: options, context: RunContext(seed: 1))
        }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("nSamplesPerPrompt >= 2") && message.contains(estimator.rawValue), "\(message)")
    }

    @Test(arguments: ["throws", "nan"])
    func failingRewardStopsTheRunNamingTheSample(failure: String) throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused" } }
        let url = try rlTemporaryDirectory().appendingPathComponent("fail.h5")
        let run = try rlRunFile(url, seed: 3)
        let options = RLFixture.options(.groupNorm)
        var calls = 0
        // Rollouts have 64 samples: the first two complete, sample 5 of the third fails.
        let reward = RewardSource.function { prompt, response, _ in
            calls += 1
            if calls == 2 * 64 + 6 {
                if failure == "throws" { throw Refused() }
                return .nan
            }
            return RLFixture.task.score(prompt, response)
        }
        let prompts = RLFixture.prompts(for: options, rollouts: 4)
        let error = #expect(throws: TrainingError.self) {
            _ = try trainPPO(
                actor: RLFixture.policy(), reference: nil, critic: nil, reward: reward, prompts: prompts,
                tokenizer: RLFixture.tokenizer, options: options, context: RunContext(seed: 3, runFile: run))
        }
        try run.close()
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("sample 5") && message.contains("rollout 3"), "\(message)")
        #expect(message.contains(failure == "throws" ? "refused" : "nan"), "\(message)")
        let reader = try RunReader(path: url.path)
        #expect(reader.status == "failed")
        #expect(reader.error?.message.contains("sample 5") == true)
        let stage = try reader.stage("grpo")
        #expect(stage.committedSteps == 2)
        #expect(try stage.metric("rollout") == [1, 2])
    }

    @Test func optionsAreChecked() throws {
        func message(_ change: (inout PPOOptions) -> Void, critic: Bool = false) -> String {
            var options = RLFixture.options(.groupNorm)
            change(&options)
            let policy = RLFixture.untrained()
            do {
                _ = try trainPPO(
                    actor: policy, reference: nil, critic: critic ? ScalarModel(kind: .critic, from: policy, rng: RNG(seed: 1)) : nil,
                    reward: RLFixture.reward, prompts: RLFixture.prompts(for: options, rollouts: 1),
                    tokenizer: RLFixture.tokenizer, options: options, context: RunContext(seed: 1))
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(message { $0.trainBatchSize = 48 }.contains("trainBatchSize"))
        #expect(message { $0.gamma = 0.9 }.contains("gamma"))
        #expect(message { $0.temperature = 0 }.contains("temperature"))
        #expect(message { $0.initKLCoef = 0.1 }.contains("reference"))
        #expect(message({ _ in }, critic: true).contains("critic"))
        #expect(message { $0.advantageEstimator = .gae }.contains("needs a critic"))
        #expect(message { $0.saveSteps = 1 }.contains("ckptPath"))
        #expect(message { $0.maxSteps = 0 }.contains("maxSteps"))
        #expect(message { $0.epsClipLowHigh = [0.2] }.contains("epsClipLowHigh"))
        #expect(message { $0.dualClip = 1 }.contains("dualClip"))
        #expect(
            message {
                $0.policyLossType = .gspo; $0.tisCap = 2
            }.contains("tisCap"))
        #expect(message { $0.overlongBufferLen = 9 }.contains("overlongBufferLen"))
    }
}
