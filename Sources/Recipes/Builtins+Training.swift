// Trainer builtins: offline (SFT, reward model, DPO) and online (the PPO family), and evaluation.
import RecipeLanguage
import Training

extension BuiltinArea {
    /// Options every offline trainer takes, with OpenRLHF's names.
    private static func trainingParameters(learningRate: Double, packing: Bool = false) -> [Builtin.Parameter] {
        let packingParameter: [Builtin.Parameter] = packing
            ? [.labeled("packing", .bool, default: .bool(false), doc: "Pack samples into rows (no padding, no cross-sample attention).")] : []
        return [
            .labeled("maxEpochs", .int, default: .int(1), doc: "Passes over the data."),
            .labeled("learningRate", .double, default: .double(learningRate), doc: "Peak learning rate (AdamW)."),
            .labeled("microTrainBatchSize", .int, default: .int(16), doc: "Samples per forward/backward."),
            .labeled("trainBatchSize", .int, default: .int(64), doc: "Samples per optimizer step (one exact mean)."),
            .labeled("maxLen", .optional(.int), doc: "Longest sequence; default: the task's, else 512."),
        ] + packingParameter + [
            .labeled("maxNorm", .double, default: .double(1), doc: "Gradient-norm clip (0: off)."),
            .labeled("l2", .double, default: .double(0), doc: "Weight decay."),
            .labeled("lrWarmupRatio", .double, default: .double(0.03), doc: "Share of steps warming up."),
            .labeled("lrScheduler", .string, default: .string("cosine_with_min_lr"), doc: "cosine_with_min_lr, constant or constant_with_warmup."),
            .labeled("evalSteps", .int, default: .int(0), doc: "Evaluate every this many steps (0: before and after)."),
            .labeled("statsEvery", .int, default: .int(1), doc: "Record parameter statistics every this many steps."),
            .labeled("maxSteps", .optional(.int), doc: "Stop after this many steps."),
        ]
    }

    private static func commonOptions(_ args: Arguments) throws -> CommonOptions {
        var o = CommonOptions()
        o.maxEpochs = try args.int("maxEpochs")
        o.learningRate = try args.double("learningRate")
        o.microTrainBatchSize = try args.int("microTrainBatchSize")
        o.trainBatchSize = try args.int("trainBatchSize")
        o.maxLen = args.has("maxLen") ? try args.int("maxLen") : nil
        if args.builtin.parameters.contains(where: { $0.name == "packing" }) { o.packing = try args.bool("packing") }
        o.maxNorm = try args.double("maxNorm")
        o.l2 = try args.double("l2")
        o.lrWarmupRatio = try args.double("lrWarmupRatio")
        o.lrScheduler = try args.string("lrScheduler")
        o.evalSteps = try args.int("evalSteps")
        o.statsEvery = try args.int("statsEvery")
        o.maxSteps = args.has("maxSteps") ? try args.int("maxSteps") : nil
        return o
    }

    /// Options of the PPO family, with OpenRLHF's names.
    private static func rlParameters(nSamplesPerPrompt: Int) -> [Builtin.Parameter] {
        [
            rewardParameter, labeledRewardParameter,
            .labeled("rewardModel", .optional(.named("RewardModel")), doc: "A trained reward model instead of a function."),
            .labeled("nSamplesPerPrompt", .int, default: .int(nSamplesPerPrompt), doc: "Samples per prompt (≥ 2 for group estimators)."),
            .labeled("rolloutBatchSize", .int, default: .int(16), doc: "Prompts per rollout."),
            .labeled("numEpisodes", .int, default: .int(1), doc: "Passes over the prompts."),
            .labeled("maxEpochs", .int, default: .int(1), doc: "Passes over each replay buffer."),
            .labeled("learningRate", .double, default: .double(1e-4), doc: "Actor (and critic) learning rate."),
            .labeled("microTrainBatchSize", .int, default: .int(16), doc: "Samples per forward/backward."),
            .labeled("trainBatchSize", .int, default: .int(64), doc: "Samples per optimizer step."),
            .labeled("generateMaxLen", .int, default: .int(16), doc: "Longest response."),
            .labeled("temperature", .double, default: .double(1), doc: "Rollout temperature."),
            .labeled("topP", .double, default: .double(1), doc: "Rollout nucleus mass."),
            .labeled("initKLCoef", .double, default: .double(0.01), doc: "β, the KL penalty (0: no reference needed)."),
            .labeled("klTarget", .optional(.double), doc: "Adaptive KL controller target (default: fixed β)."),
            .labeled("klEstimator", .string, default: .string("k1"), doc: "k1, k2 or k3."),
            .labeled("useKLLoss", .bool, default: .bool(false), doc: "Put KL in the loss instead of the reward."),
            .labeled("gamma", .double, default: .double(1), doc: "Discount."),
            .labeled("lambd", .double, default: .double(1), doc: "GAE λ."),
            .labeled("epsClip", .double, default: .double(0.2), doc: "PPO ratio clip."),
            .labeled("entropyCoef", .double, default: .double(0), doc: "Entropy bonus."),
            .labeled("evalSteps", .int, default: .int(0), doc: "Evaluate every this many rollouts (0: before and after)."),
            .labeled("evalNSamplesPerPrompt", .int, default: .int(4), doc: "k of pass@k."),
            .labeled("evalTemperature", .double, default: .double(0.6), doc: "Evaluation temperature."),
            .labeled("statsEvery", .int, default: .int(1), doc: "Record parameter statistics every this many steps."),
            .labeled("maxSteps", .optional(.int), doc: "Stop after this many rollouts."),
        ]
    }

    private static func rlOptions(_ args: Arguments) throws -> RLOptions {
        var o = RLOptions()
        o.nSamplesPerPrompt = try args.int("nSamplesPerPrompt")
        o.rolloutBatchSize = try args.int("rolloutBatchSize")
        o.numEpisodes = try args.int("numEpisodes")
        o.maxEpochs = try args.int("maxEpochs")
        o.learningRate = try args.double("learningRate")
        o.microTrainBatchSize = try args.int("microTrainBatchSize")
        o.trainBatchSize = try args.int("trainBatchSize")
        o.generateMaxLen = try args.int("generateMaxLen")
        o.temperature = try args.double("temperature")
        o.topP = try args.double("topP")
        o.initKLCoef = try args.double("initKLCoef")
        o.klTarget = args.has("klTarget") ? try args.double("klTarget") : nil
        o.klEstimator = try args.string("klEstimator")
        o.useKLLoss = try args.bool("useKLLoss")
        o.gamma = try args.double("gamma")
        o.lambd = try args.double("lambd")
        o.epsClip = try args.double("epsClip")
        o.entropyCoef = try args.double("entropyCoef")
        o.evalSteps = try args.int("evalSteps")
        o.evalNSamplesPerPrompt = try args.int("evalNSamplesPerPrompt")
        o.evalTemperature = try args.double("evalTemperature")
        o.statsEvery = try args.int("statsEvery")
        o.maxSteps = args.has("maxSteps") ? try args.int("maxSteps") : nil
        return o
    }

    /// `reward:` and `labeledReward:`, as every builtin that scores responses takes them.
    private static let rewardParameter = Builtin.Parameter.labeled(
        "reward", .optional(.function(parameters: [.string, .string], returns: .double)),
        doc: "{ prompt, response in … }; default: the task's score.")
    private static let labeledRewardParameter = Builtin.Parameter.labeled(
        "labeledReward", .optional(.function(parameters: [.string, .string, .string], returns: .double)),
        doc: "{ prompt, response, label in … }: a reward that reads the prompt's label (\"\" when it has none).")

    /// A recipe's `reward:` (prompt, response) or `labeledReward:` (prompt, response, label) as the
    /// trainers call rewards.
    private static func rewardFunction(_ args: Arguments) throws -> ((String, String, String?) throws -> Double)? {
        if args.has("reward") && args.has("labeledReward") {
            throw RecipeError(.runtime, "give reward: or labeledReward:, not both")
        }
        let labeled = args.has("labeledReward")
        guard labeled || args.has("reward") else { return nil }
        let f = try args.function(labeled ? "labeledReward" : "reward")
        return { prompt, response, label in
            let values: [Value] = labeled ? [.string(prompt), .string(response), .string(label ?? "")] : [.string(prompt), .string(response)]
            return try f.call(values).asDouble()
        }
    }

    private static func rlBuiltin(_ name: String, estimator: String?, doc: String, samples: Int) -> Builtin {
        var parameters: [Builtin.Parameter] = [
            .positional("policy", .named("Model"), doc: "The policy to train."),
            .labeled("reference", .optional(.named("Model")), doc: "Frozen reference for the KL penalty."),
        ]
        if estimator == nil {
            parameters.append(.labeled("critic", .optional(.named("Model")), doc: "Base of the critic (a value head on a copy)."))
        }
        parameters.append(.labeled("prompts", .named("TrainingData"), doc: "Prompt data (input, label, datasource)."))
        if estimator == nil {
            parameters.append(.labeled("advantageEstimator", .string, default: .string("gae"),
                                       doc: "gae, reinforce, rloo, reinforceBaseline, groupNorm or drGRPO."))
        }
        parameters += rlParameters(nSamplesPerPrompt: samples)
        return Builtin(name, doc: doc, parameters: parameters, returns: .named("TrainingRun")) { args, _ in
            let chosen = try Recipes.estimator(estimator ?? (try args.string("advantageEstimator")))
            let critic = args.has("critic") ? try args.object(Model.self, "critic") : nil
            return .opaque(try runRL(
                chosen, try args.object(Model.self, "policy"),
                reference: args.has("reference") ? try args.object(Model.self, "reference") : nil, critic: critic,
                prompts: try args.object(TrainingData.self, "prompts"), reward: try rewardFunction(args),
                rewardModel: args.has("rewardModel") ? try args.object(RewardModel.self, "rewardModel") : nil,
                options: try rlOptions(args)))
        }
    }

    static let training = BuiltinArea(
        "Training", doc: "Trainers (SFT, reward model, DPO, the PPO family) and evaluation; each records a stage of the run file.",
        types: [
            .host("TrainingRun", doc: "A finished stage: last metrics and evaluations."),
            .host("RewardModel", doc: "A trained reward model (score head)."),
            .host("EvalResult", doc: "Held-out metrics of a policy."),
            .host("BestOfN", doc: "Scored samples of a policy on prompts."),
        ],
        builtins: [
            Builtin(
                "sft", doc: "Supervised fine-tuning on demonstrations (OpenRLHF train_sft).",
                parameters: [
                    .positional("policy", .named("Model"), doc: "The model to train."),
                    .labeled("data", .named("TrainingData"), doc: "SFT data."),
                ] + trainingParameters(learningRate: 1e-3, packing: true),
                returns: .named("TrainingRun")
            ) { args, _ in
                .opaque(try runSFT(try args.object(Model.self, "policy"), data: try args.object(TrainingData.self, "data"),
                                   common: try commonOptions(args)))
            },
            Builtin(
                "dpo", doc: "Direct preference optimisation against a frozen reference (DPO, IPO, cDPO, +NLL).",
                parameters: [
                    .positional("policy", .named("Model"), doc: "The model to train."),
                    .labeled("reference", .named("Model"), doc: "The frozen reference (policy.frozen())."),
                    .labeled("data", .named("TrainingData"), doc: "Preference data."),
                    .labeled("beta", .double, default: .double(0.1), doc: "β of the implicit reward."),
                    .labeled("labelSmoothing", .double, default: .double(0), doc: "cDPO's label smoothing."),
                    .labeled("ipo", .bool, default: .bool(false), doc: "The IPO loss instead of DPO's."),
                    .labeled("nllLossCoef", .double, default: .double(0), doc: "Weight of the chosen responses' NLL."),
                ] + trainingParameters(learningRate: 5e-4),
                returns: .named("TrainingRun")
            ) { args, _ in
                let options = DPOOptions(beta: try args.double("beta"), labelSmoothing: try args.double("labelSmoothing"),
                                         ipo: try args.bool("ipo"), nllLossCoef: try args.double("nllLossCoef"))
                return .opaque(try runDPO(try args.object(Model.self, "policy"), reference: try args.object(Model.self, "reference"),
                                          data: try args.object(TrainingData.self, "data"), dpo: options, common: try commonOptions(args)))
            },
            Builtin(
                "rewardModel", doc: "Trains a reward model (score head on a copy of base) on preference pairs.",
                parameters: [
                    .positional("base", .named("Model"), doc: "The transformer to start from."),
                    .labeled("data", .named("TrainingData"), doc: "Preference data."),
                    .labeled("loss", .string, default: .string("sigmoid"), doc: "sigmoid (pairwise) or logexp."),
                ] + trainingParameters(learningRate: 1e-3),
                returns: .named("RewardModel")
            ) { args, _ in
                .opaque(try runRewardModel(try args.object(Model.self, "base"), data: try args.object(TrainingData.self, "data"),
                                           loss: try args.string("loss"), common: try commonOptions(args)))
            },
            Builtin(
                "kto", doc: "KTO on unpaired desirable/undesirable answers against a frozen reference.",
                parameters: [
                    .positional("policy", .named("Model"), doc: "The model to train."),
                    .labeled("reference", .named("Model"), doc: "The frozen reference."),
                    .labeled("data", .named("TrainingData"), doc: "Unpaired data."),
                    .labeled("beta", .double, default: .double(0.01), doc: "β of the implicit reward."),
                    .labeled("desirableLossWeight", .double, default: .double(1), doc: "Weight of desirable examples."),
                    .labeled("undesirableLossWeight", .double, default: .double(1), doc: "Weight of undesirable examples."),
                ] + trainingParameters(learningRate: 5e-4),
                returns: .named("TrainingRun")
            ) { args, _ in
                let kto = KTOOptions(beta: try args.double("beta"), desirableLossWeight: try args.double("desirableLossWeight"),
                                     undesirableLossWeight: try args.double("undesirableLossWeight"))
                return .opaque(try runKTO(try args.object(Model.self, "policy"), reference: try args.object(Model.self, "reference"),
                                          data: try args.object(TrainingData.self, "data"), kto: kto, common: try commonOptions(args)))
            },
            Builtin(
                "kd", doc: "Knowledge distillation: (1 - kdCoef)·CE + kdCoef·KL to a frozen teacher on SFT data.",
                parameters: [
                    .positional("student", .named("Model"), doc: "The model to train."),
                    .labeled("teacher", .named("Model"), doc: "The teacher (not trained)."),
                    .labeled("data", .named("TrainingData"), doc: "SFT data."),
                    .labeled("kdCoef", .double, default: .double(0.4), doc: "Weight of the distillation term."),
                ] + trainingParameters(learningRate: 1e-3),
                returns: .named("TrainingRun")
            ) { args, _ in
                .opaque(try runKD(try args.object(Model.self, "student"), teacher: try args.object(Model.self, "teacher"),
                                  data: try args.object(TrainingData.self, "data"), kdCoef: try args.double("kdCoef"),
                                  common: try commonOptions(args)))
            },
            Builtin(
                "prm", doc: "A process reward model: hard labels over the task's reward tokens at step placeholders.",
                parameters: [
                    .positional("model", .named("Model"), doc: "The model to train."),
                    .labeled("data", .named("TrainingData"), doc: "Process-reward data (a task's processRewards)."),
                ] + trainingParameters(learningRate: 1e-3),
                returns: .named("TrainingRun")
            ) { args, _ in
                .opaque(try runPRM(try args.object(Model.self, "model"), data: try args.object(TrainingData.self, "data"),
                                   common: try commonOptions(args)))
            },
            rlBuiltin("ppo", estimator: nil, doc: "PPO with a critic (GAE), or any estimator of the family.", samples: 1),
            rlBuiltin("grpo", estimator: "groupNorm", doc: "GRPO: group-normalised rewards, no critic.", samples: 4),
            rlBuiltin("reinforce", estimator: "reinforce", doc: "REINFORCE++: token-level returns, whitened over the batch.", samples: 1),
            rlBuiltin("rloo", estimator: "rloo", doc: "RLOO: leave-one-out baseline within each group.", samples: 4),
            rlBuiltin("drGRPO", estimator: "drGRPO", doc: "Dr. GRPO: group mean baseline, no std division.", samples: 4),
            Builtin(
                "bestOfN", doc: "n scored samples for every training prompt (OpenRLHF batch_inference).",
                parameters: [
                    .positional("policy", .named("Model"), doc: "The sampling model."),
                    .labeled("prompts", .named("TrainingData"), doc: "Prompt data."),
                    .labeled("n", .int, default: .int(8), doc: "Samples per prompt."),
                    .labeled("temperature", .double, default: .double(1), doc: "Sampling temperature."),
                    .labeled("maxNewTokens", .int, default: .int(16), doc: "Longest response."),
                    rewardParameter, labeledRewardParameter,
                ],
                returns: .named("BestOfN")
            ) { args, _ in
                .opaque(try runBestOfN(try args.object(Model.self, "policy"), prompts: try args.object(TrainingData.self, "prompts"),
                                       n: try args.int("n"), temperature: try args.double("temperature"),
                                       maxNewTokens: try args.int("maxNewTokens"), reward: try rewardFunction(args)))
            },
            Builtin("rejectionSampling", kind: .method("BestOfN"), doc: "The best response of each prompt as SFT data.",
                    returns: .named("TrainingData")) { args, _ in
                .opaque(try args.receiver(BestOfN.self).rejectionSampling())
            },
            Builtin(
                "conditionalSFT", kind: .method("BestOfN"), doc: "Every response as SFT data whose input carries its score.",
                parameters: [
                    .labeled("rewardTemplate", .string, default: .string("{input} <rm_score>: {reward} "),
                             doc: "How an input and its score become the new input."),
                    .labeled("normalizeReward", .bool, default: .bool(false), doc: "Standardize the scores first."),
                ],
                returns: .named("TrainingData")
            ) { args, _ in
                .opaque(try args.receiver(BestOfN.self).makeConditionalSFT(rewardTemplate: try args.string("rewardTemplate"),
                                                                         normalizeReward: try args.bool("normalizeReward")))
            },
            Builtin("dpoPairs", kind: .method("BestOfN"), doc: "Best and worst response of each prompt as preference data.",
                    returns: .named("TrainingData")) { args, _ in
                .opaque(try args.receiver(BestOfN.self).dpoPairs())
            },
            Builtin(
                "evaluate", doc: "Greedy pass@1 (mean reward) and exact match on held-out prompts; recorded in the run file.",
                parameters: [
                    .positional("policy", .named("Model"), doc: "The model."),
                    .labeled("on", .named("TrainingData"), doc: "Prompt data; its held-out split is used."),
                    rewardParameter, labeledRewardParameter,
                    .labeled("maxNewTokens", .int, default: .int(16), doc: "Longest response."),
                ],
                returns: .named("EvalResult")
            ) { args, _ in
                .opaque(try runEvaluate(try args.object(Model.self, "policy"), on: try args.object(TrainingData.self, "on"),
                                        reward: try rewardFunction(args), maxNewTokens: try args.int("maxNewTokens")))
            },
            Builtin("eval", kind: .method("TrainingRun"), doc: "The last evaluation's value of a metric (nil if none).",
                    parameters: [.positional("name", .string, doc: "The metric.")], returns: .optional(.double)) { args, _ in
                try args.receiver(TrainingRun.self).eval(try args.string("name")).map(Value.double) ?? .none
            },
            Builtin("metrics", kind: .property("EvalResult"), doc: "The metrics by name.",
                    returns: .dictionary(key: .string, value: .double)) { args, _ in
                let m = try args.receiver(EvalResult.self).metrics
                return .dictionary(try RecipeDictionary(m.keys.sorted().map { (.string($0), .double(m[$0]!)) }))
            },
        ])
}
