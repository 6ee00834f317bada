// Trainer builtins: offline (SFT, reward model, DPO) and online (the PPO family), and evaluation.
import Alignment
import RecipeLanguage
import Training

extension BuiltinArea {
    /// The shared training options as parameters, with `defaults`; `maxLen` defaults to the data's.
    private static func trainingParameters(_ defaults: TrainingOptions) -> [Builtin.Parameter] {
        optionParameters(defaults).map { p in
            guard p.name == "maxLen", let row = TrainingOptions.option(named: "maxLen") else { return p }
            return .labeled("maxLen", .optional(.int), doc: row.doc + " Default: the task's longest, else \(defaults.maxLen).")
        }
    }

    /// The shared training options of a call, `maxLen` from `data` when the call leaves it out.
    private static func trainingOptions(_ args: Arguments, _ defaults: TrainingOptions, data: TrainingData?) throws -> TrainingOptions {
        var options = try readOptions(defaults, args)
        if !args.has("maxLen") { options.maxLen = data?.maxLen ?? defaults.maxLen }
        return options
    }

    /// An offline trainer's builtin: its models and data, its own options `O`, then the shared ones.
    private static func offline<O: DeclaredOptions>(
        _ name: String, doc: String, models: [Builtin.Parameter], data: String, own: O, shared: TrainingOptions,
        returns: String = "TrainingRun", dataMaxLen: Bool = true,
        run: @escaping (Arguments, TrainingData, O, TrainingOptions) throws -> any RecipeObject
    ) -> Builtin {
        Builtin(
            name, doc: doc,
            parameters: models + [.labeled("data", .named("TrainingData"), doc: data)] + optionParameters(own)
                + trainingParameters(shared),
            returns: .named(returns)
        ) { args, _ in
            let data = try args.object(TrainingData.self, "data")
            return .opaque(
                try run(
                    args, data, try readOptions(own, args),
                    try trainingOptions(args, shared, data: dataMaxLen ? data : nil)))
        }
    }

    /// `reward:` and `labeledReward:`, as every builtin that scores responses takes them.
    private static let rewardParameter = Builtin.Parameter.labeled(
        "reward", .optional(.function(parameters: [.string, .string], returns: .double)),
        doc: "{ prompt, response in … }; default: the task's score.")
    private static let labeledRewardParameter = Builtin.Parameter.labeled(
        "labeledReward", .optional(.function(parameters: [.string, .string, .string], returns: .double)),
        doc: "{ prompt, response, label in … }: a reward that reads the prompt's label (\"\" when it has none).")

    /// `rewardComponents:` and `rewardWeights:`, as the PPO family takes them.
    private static let rewardComponentsParameters: [Builtin.Parameter] = [
        .labeled(
            "rewardComponents", .optional(.function(parameters: [.string, .string], returns: .dictionary(key: .string, value: .double))),
            doc: "{ prompt, response in [\"format\": 1, \"answer\": 0.5] }: a reward in named parts, each logged per rollout and "
                + "datasource; the reward is their weighted sum."),
        .labeled(
            "rewardWeights", .optional(.dictionary(key: .string, value: .double)),
            doc: "The weight of each of rewardComponents by name (1 for a name left out)."),
    ]

    /// A recipe's `rewardComponents:` as the trainers call it, with `rewardWeights:`.
    private static func rewardComponents(_ args: Arguments) throws -> (RewardComponentsFunction, [String: Double])? {
        let weights = args.has("rewardWeights") ? try doublesByName(args["rewardWeights"], what: "rewardWeights") : [:]
        guard args.has("rewardComponents") else {
            if args.has("rewardWeights") { throw RecipeError(.runtime, "rewardWeights: weighs rewardComponents:; give both") }
            return nil
        }
        for other in ["reward", "labeledReward", "rewardModel"] where args.has(other) {
            throw RecipeError(.runtime, "give rewardComponents: or \(other):, not both")
        }
        let f = try args.function("rewardComponents")
        return ({ prompt, response, _ in try doublesByName(try f.call([.string(prompt), .string(response)]), what: "rewardComponents") }, weights)
    }

    /// A recipe dictionary `[String: Double]` (integers read as numbers).
    private static func doublesByName(_ value: Value, what: String) throws -> [String: Double] {
        guard case .dictionary(let d) = value else {
            throw RecipeError(.runtime, "\(what) must be a dictionary of names to numbers, like [\"answer\": 1], got \(value)")
        }
        var out: [String: Double] = [:]
        for (key, v) in d.entries { out[try key.asString()] = try v.asDouble() }
        return out
    }

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

    /// A builtin of the PPO family: `estimator` fixed (nil: `advantageEstimator:` chooses, and a
    /// critic may be given), every option of `PPOOptions` with that estimator's defaults.
    private static func rlBuiltin(_ name: String, estimator: AdvantageEstimator?, doc: String) -> Builtin {
        var parameters: [Builtin.Parameter] = [
            .positional("policy", .named("Model"), doc: "The policy to train."),
            .labeled("reference", .optional(.named("Model")), doc: "Frozen reference for the KL penalty."),
        ]
        if estimator == nil {
            parameters.append(.labeled("critic", .optional(.named("Model")), doc: "Base of the critic (a value head on a copy)."))
        }
        let defaults = PPOOptions.defaults(estimator ?? .gae)
        let options = optionParameters(defaults)
        parameters.append(.labeled("prompts", .named("TrainingData"), doc: "Prompt data (input, label, datasource)."))
        if estimator == nil { parameters += options.prefix { $0.name == "advantageEstimator" } }
        parameters +=
            [
                rewardParameter, labeledRewardParameter,
                .labeled("rewardModel", .optional(.named("RewardModel")), doc: "A trained reward model instead of a function."),
            ] + rewardComponentsParameters
        parameters += options.filter { $0.name != "advantageEstimator" }
        return Builtin(name, doc: doc, parameters: parameters, returns: .named("TrainingRun")) { args, _ in
            let critic = args.has("critic") ? try args.object(Model.self, "critic") : nil
            return .opaque(
                try runRL(
                    try args.object(Model.self, "policy"),
                    reference: args.has("reference") ? try args.object(Model.self, "reference") : nil, critic: critic,
                    prompts: try args.object(TrainingData.self, "prompts"), reward: try rewardFunction(args),
                    rewardModel: args.has("rewardModel") ? try args.object(RewardModel.self, "rewardModel") : nil,
                    rewardComponents: try rewardComponents(args), options: try readOptions(defaults, args)))
        }
    }

    static let training = BuiltinArea(
        "Training", doc: "Trainers (SFT, reward model, DPO, the PPO family) and evaluation; each records a stage of the run file.",
        types: [
            .host("TrainingRun", doc: "A finished stage: last metrics and evaluations."),
            .host("RewardModel", doc: "A trained reward model (score head)."),
            .host("EvalResult", doc: "Held-out metrics of a policy."),
            .host("BestOfN", doc: "Scored samples of a policy on prompts."),
        ] + optionChoiceTypes,
        builtins: [
            offline(
                "sft", doc: "Supervised fine-tuning on demonstrations (OpenRLHF train_sft).",
                models: [.positional("policy", .named("Model"), doc: "The model to train.")], data: "SFT data.",
                own: NoOptions(), shared: .sft
            ) { args, data, _, options in
                try runSFT(try args.object(Model.self, "policy"), data: data, options: options)
            },
            offline(
                "dpo", doc: "Direct preference optimisation against a frozen reference (DPO, IPO, cDPO, +NLL).",
                models: [
                    .positional("policy", .named("Model"), doc: "The model to train."),
                    .labeled("reference", .named("Model"), doc: "The frozen reference (policy.frozen())."),
                ],
                data: "Preference data.", own: DPOOptions(), shared: .dpo
            ) { args, data, dpo, options in
                try runDPO(
                    try args.object(Model.self, "policy"), reference: try args.object(Model.self, "reference"),
                    data: data, dpo: dpo, options: options)
            },
            offline(
                "rewardModel", doc: "Trains a reward model (score head on a copy of base) on preference pairs.",
                models: [.positional("base", .named("Model"), doc: "The transformer to start from.")],
                data: "Preference data.", own: RewardModelOptions(), shared: .rewardModel,
                returns: "RewardModel"
            ) { args, data, rm, options in
                try runRewardModel(try args.object(Model.self, "base"), data: data, rm: rm, options: options)
            },
            offline(
                "kto", doc: "KTO on unpaired desirable/undesirable answers against a frozen reference.",
                models: [
                    .positional("policy", .named("Model"), doc: "The model to train."),
                    .labeled("reference", .named("Model"), doc: "The frozen reference."),
                ],
                data: "Unpaired data.", own: KTOOptions(), shared: .kto
            ) { args, data, kto, options in
                try runKTO(
                    try args.object(Model.self, "policy"), reference: try args.object(Model.self, "reference"),
                    data: data, kto: kto, options: options)
            },
            offline(
                "kd", doc: "Knowledge distillation: (1 - kdCoef)·CE + kdCoef·KL to a frozen teacher on SFT data.",
                models: [
                    .positional("student", .named("Model"), doc: "The model to train."),
                    .labeled("teacher", .named("Model"), doc: "The teacher (not trained)."),
                ],
                data: "SFT data.", own: KDOptions(), shared: .kd
            ) { args, data, kd, options in
                try runKD(
                    try args.object(Model.self, "student"), teacher: try args.object(Model.self, "teacher"),
                    data: data, kd: kd, options: options)
            },
            offline(
                "prm", doc: "A process reward model: hard labels over the task's reward tokens at step placeholders.",
                models: [.positional("model", .named("Model"), doc: "The model to train.")],
                data: "Process-reward data (a task's processRewards).", own: NoOptions(), shared: .prm,
                dataMaxLen: false
            ) { args, data, _, options in
                try runPRM(try args.object(Model.self, "model"), data: data, options: options)
            },
            Builtin(
                "onPolicyDistillation",
                doc:
                    "On-policy distillation (GKD, TRL's GKDTrainer with lmbda 1): the student samples, the teacher scores every sampled token, reverse KL by default.",
                parameters: [
                    .positional("student", .named("Model"), doc: "The model to train."),
                    .labeled("teacher", .named("Model"), doc: "The teacher (not trained)."),
                    .labeled("prompts", .named("TrainingData"), doc: "Prompt data (input, label, datasource)."),
                    rewardParameter, labeledRewardParameter,
                ] + optionParameters(OnPolicyDistillationOptions()),
                returns: .named("TrainingRun")
            ) { args, _ in
                .opaque(
                    try runOnPolicyDistillation(
                        try args.object(Model.self, "student"), teacher: try args.object(Model.self, "teacher"),
                        prompts: try args.object(TrainingData.self, "prompts"), reward: try rewardFunction(args),
                        options: try readOptions(OnPolicyDistillationOptions(), args)))
            },
            rlBuiltin("ppo", estimator: nil, doc: "PPO with a critic (GAE), or any estimator of the family."),
            rlBuiltin("grpo", estimator: .groupNorm, doc: "GRPO: group-normalised rewards, no critic."),
            rlBuiltin("reinforce", estimator: .reinforce, doc: "REINFORCE++: token-level returns, whitened over the batch."),
            rlBuiltin("rloo", estimator: .rloo, doc: "RLOO: leave-one-out baseline within each group."),
            rlBuiltin("drGRPO", estimator: .drGRPO, doc: "Dr. GRPO: group mean baseline, no std division."),
            Builtin(
                "bestOfN", doc: "n scored samples for every training prompt (OpenRLHF batch_inference).",
                parameters: [
                    .positional("policy", .named("Model"), doc: "The sampling model."),
                    .labeled("prompts", .named("TrainingData"), doc: "Prompt data."),
                    .labeled("n", .int, default: .int(8), range: 1...4_096, doc: "Samples per prompt."),
                    .labeled("temperature", .double, default: .double(1), doc: "Sampling temperature."),
                    .labeled("maxNewTokens", .int, default: .int(16), range: 1...1_048_576, doc: "Longest response."),
                    rewardParameter, labeledRewardParameter,
                ],
                returns: .named("BestOfN")
            ) { args, _ in
                .opaque(
                    try runBestOfN(
                        try args.object(Model.self, "policy"), prompts: try args.object(TrainingData.self, "prompts"),
                        n: try args.int("n"), temperature: try args.double("temperature"),
                        maxNewTokens: try args.int("maxNewTokens"), reward: try rewardFunction(args)))
            },
            Builtin(
                "rejectionSampling", kind: .method("BestOfN"), doc: "The best response of each prompt as SFT data.",
                returns: .named("TrainingData")
            ) { args, _ in
                .opaque(try args.receiver(BestOfN.self).rejectionSampling())
            },
            Builtin(
                "conditionalSFT", kind: .method("BestOfN"), doc: "Every response as SFT data whose input carries its score.",
                parameters: [
                    .labeled(
                        "rewardTemplate", .string, default: .string("{input} <rm_score>: {reward} "),
                        doc: "How an input and its score become the new input."),
                    .labeled("normalizeReward", .bool, default: .bool(false), doc: "Standardize the scores first."),
                ],
                returns: .named("TrainingData")
            ) { args, _ in
                .opaque(
                    try args.receiver(BestOfN.self).makeConditionalSFT(
                        rewardTemplate: try args.string("rewardTemplate"),
                        normalizeReward: try args.bool("normalizeReward")))
            },
            Builtin(
                "dpoPairs", kind: .method("BestOfN"), doc: "Best and worst response of each prompt as preference data.",
                returns: .named("TrainingData")
            ) { args, _ in
                .opaque(try args.receiver(BestOfN.self).dpoPairs())
            },
            Builtin(
                "evaluate", doc: "Greedy pass@1 (mean reward) and exact match on held-out prompts; recorded in the run file.",
                parameters: [
                    .positional("policy", .named("Model"), doc: "The model."),
                    .labeled("on", .named("TrainingData"), doc: "Prompt data; its held-out split is used."),
                    rewardParameter, labeledRewardParameter,
                    .labeled("maxNewTokens", .int, default: .int(16), range: 1...1_048_576, doc: "Longest response."),
                ],
                returns: .named("EvalResult")
            ) { args, _ in
                .opaque(
                    try runEvaluate(
                        try args.object(Model.self, "policy"), on: try args.object(TrainingData.self, "on"),
                        reward: try rewardFunction(args), maxNewTokens: try args.int("maxNewTokens")))
            },
            Builtin(
                "evaluateSamples",
                doc: "n sampled responses per held-out prompt: mean reward and, with a reference, KL(π‖π_ref); recorded as a stage `samples`.",
                parameters: [
                    .positional("policy", .named("Model"), doc: "The model to sample."),
                    .labeled("reference", .optional(.named("Model")), doc: "The model the KL is measured against (the SFT start)."),
                    .labeled("on", .named("TrainingData"), doc: "Prompt data; its held-out split is used."),
                    .labeled("n", .int, default: .int(4), doc: "Samples per prompt."),
                    .labeled("temperature", .double, default: .double(1), doc: "Sampling temperature (above 0)."),
                    .labeled("maxNewTokens", .int, default: .int(16), doc: "Longest response."),
                    rewardParameter, labeledRewardParameter,
                    .labeled("rewardModel", .optional(.named("RewardModel")), doc: "A trained reward model instead of a function."),
                ],
                returns: .named("EvalResult")
            ) { args, _ in
                .opaque(
                    try runEvaluateSamples(
                        try args.object(Model.self, "policy"),
                        reference: args.has("reference") ? try args.object(Model.self, "reference") : nil,
                        on: try args.object(TrainingData.self, "on"), n: try args.int("n"),
                        temperature: try args.double("temperature"), maxNewTokens: try args.int("maxNewTokens"),
                        reward: try rewardFunction(args),
                        rewardModel: args.has("rewardModel") ? try args.object(RewardModel.self, "rewardModel") : nil))
            },
            Builtin(
                "eval", kind: .method("TrainingRun"), doc: "The last evaluation's value of a metric (nil if none).",
                parameters: [.positional("name", .string, doc: "The metric.")], returns: .optional(.double)
            ) { args, _ in
                try args.receiver(TrainingRun.self).eval(try args.string("name")).map(Value.double) ?? .none
            },
            Builtin(
                "metrics", kind: .property("EvalResult"), doc: "The metrics by name.",
                returns: .dictionary(key: .string, value: .double)
            ) { args, _ in
                let m = try args.receiver(EvalResult.self).metrics
                return .dictionary(try RecipeDictionary(m.keys.sorted().map { (.string($0), .double(m[$0]!)) }))
            },
        ])
}
