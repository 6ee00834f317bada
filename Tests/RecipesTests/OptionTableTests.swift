import Foundation
import Testing

@testable import Recipes
import Recording
import Training

/// Every option is declared once in Training and reaches recipes, the run file and the Swift API
/// through its table.
@Suite struct OptionTableTests {
    /// Each stored field of an options type is a row of its table or listed as internal, and the
    /// table names no field twice.
    @Test func everyFieldIsARowOrInternal() {
        func check<O: DeclaredOptions>(_ value: O) {
            let fields = Mirror(reflecting: value).children.compactMap(\.label)
            let rows = O.options.map(\.name)
            #expect(Set(rows).count == rows.count, "\(O.self) declares a row twice")
            for field in fields {
                #expect(
                    rows.contains(field) || O.internalFields[field] != nil,
                    "\(O.self).\(field) is neither in its options table nor listed in internalFields")
            }
        }
        check(TrainingOptions())
        check(PPOOptions())
        check(DPOOptions())
        check(KTOOptions())
        check(KDOptions())
        check(RewardModelOptions())
        check(PRMOptions())
        check(DataOptions())
    }

    /// PPO takes every shared training option but the four RL does not use (`useLigerKernel` is SFT's).
    @Test func ppoLiftsTheSharedOptions() {
        let ppo = Set(PPOOptions.options.map(\.name))
        let shared = Set(TrainingOptions.options.map(\.name)).subtracting(["maxLen", "packing", "lossAggregation", "useLigerKernel"])
        #expect(shared.isSubset(of: ppo), "missing from PPO: \(shared.subtracting(ppo).sorted())")
    }

    /// A row's run-file key is OpenRLHF's spelling of the flag.
    @Test func flagsAreOpenRLHFs() {
        #expect(snakeCase("initKLCoef") == "init_kl_coef")
        #expect(snakeCase("useKLLoss") == "use_kl_loss")
        #expect(snakeCase("topP") == "top_p")
        #expect(snakeCase("lrScheduler") == "lr_scheduler")
        #expect(snakeCase("evalNSamplesPerPrompt") == "eval_n_samples_per_prompt")
        #expect(PPOOptions.option(named: "learningRate")?.flag == "actor_learning_rate")
        #expect(TrainingOptions.option(named: "packing")?.flag == "packing_samples")
        #expect(PPOOptions.defaults(.groupNorm).configValues["advantage_estimator"] == .string("group_norm"))
    }

    /// Every builtin parameter of a trainer comes from a row, with the trainer's default.
    @Test func builtinsTakeEveryOptionWithItsDefault() throws {
        let grpo = try #require(Registry.recipes.functions["grpo"]?.first)
        let defaults = PPOOptions.defaults(.groupNorm)
        for row in PPOOptions.options where row.name != "advantageEstimator" {
            let parameter = try #require(grpo.parameters.first { $0.name == row.name }, "grpo lacks \(row.name)")
            #expect(parameter.doc == row.doc)
            #expect(parameter.defaultValue?.sourceText == Value(row.value(in: defaults), type: row.type).sourceText)
        }
        let sft = try #require(Registry.recipes.functions["sft"]?.first)
        for row in TrainingOptions.options {
            #expect(sft.parameters.contains { $0.name == row.name }, "sft lacks \(row.name)")
        }
        let load = try #require(Registry.recipes.staticMembers("load", of: "TrainingData").first)
        for row in DataOptions.options {
            #expect(load.parameters.contains { $0.name == row.name }, "TrainingData.load lacks \(row.name)")
        }
    }

    /// A bad value is refused naming the option, before anything trains.
    @Test func badValuesAreRefusedByName() {
        var options = TrainingOptions.sft
        options.adamBetas = [0.9]
        #expect(throws: TrainingError.invalidOption("adamBetas", "must be two numbers in [0, 1), got [0.9]")) { try options.validate() }
        var ppo = PPOOptions.defaults(.groupNorm)
        ppo.nSamplesPerPrompt = 1
        #expect(throws: TrainingError.self) { try ppo.validate() }
        ppo = PPOOptions.defaults(.gae)
        ppo.trainBatchSize = 16
        ppo.epsClip = 0
        #expect(throws: TrainingError.invalidOption("epsClip", "must be > 0, got 0.0")) { try ppo.validate() }
    }
}

/// Options as recipes write them: enum cases with completion-grade errors, new options reachable.
@Suite struct OptionRecipeTests {
    static let start = """
        let task = SyntheticTask.sortDigits(count: 64, evalCount: 8, digits: 3...3)
        let policy = Model.llama(hidden: 16, layers: 1, heads: 2)

        """

    @Test func aWrongCaseIsLocatedWithASuggestion() {
        let message = failure(Self.start + "grpo(policy, prompts: task.prompts, klEstimator: .k4)")
        #expect(message.contains("line 3"), "not located: \(message)")
        #expect(message.contains("k3") || message.contains("k1"), "no suggestion: \(message)")
    }

    @Test func aBadValueNamesTheOption() {
        let message = failure(Self.start + "sft(policy, data: task.demonstrations, adamBetas: [0.9], maxSteps: 1)")
        #expect(message.contains("adamBetas"), "\(message)")
    }

    @Test func optionsThatWereHiddenAreSetAndRecorded() throws {
        let harness = Harness()
        harness.session.recordsRun = true
        try harness.run(
            Self.start + """
                grpo(policy, reference: policy.frozen(), prompts: task.prompts, nSamplesPerPrompt: 2, rolloutBatchSize: 4,
                     microTrainBatchSize: 8, trainBatchSize: 8, generateMaxLen: 4, klEstimator: .k3, maxSteps: 1, valueClip: nil,
                     criticLearningRate: 3e-5, adamBetas: [0.9, 0.99], lrWarmupRatio: 0.5, lrScheduler: .cosineWithMinLR)
                """)
        try harness.session.finishRun()
        let config = try RunReader(url: harness.session.runFileURL).stage("grpo").config
        #expect(config["kl_estimator"] == .string("k3"))
        #expect(config["lr_scheduler"] == .string("cosine_with_min_lr"))
        #expect(config["lr_warmup_ratio"] == .double(0.5))
        #expect(config["adam_betas"] == .doubles([0.9, 0.99]))
        #expect(config["critic_learning_rate"] == .double(3e-5))
        #expect(config["value_clip"] == nil)
    }
}
