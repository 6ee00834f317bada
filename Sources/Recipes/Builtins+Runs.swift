// Run builtins: run files read back, so a notebook can chart and tabulate runs it trained or read.
import RecipeLanguage
import Recording

extension BuiltinArea {
    static let runs = BuiltinArea(
        "Runs", doc: "Run files read back: stages, configuration, metric and evaluation series, rollouts, parameter statistics.",
        types: [
            .host("Run", doc: "A run file opened for reading; only committed steps are seen."),
            .host("RunStage", doc: "One stage of a run file."),
        ],
        builtins: [
            Builtin(
                "open", kind: .staticFunction("Run"), doc: "Opens a run file (or the folder holding its run.h5) where the recipe may read.",
                parameters: [.positional("path", .string, doc: "The run.h5 file or its folder, from the working directory.")],
                returns: .named("Run")
            ) { args, _ in
                .opaque(try Run.open(try args.string("path")))
            },
            Builtin(
                "current", kind: .staticProperty("Run"), doc: "This session's own run file, as recorded so far.", returns: .named("Run")
            ) { _, _ in
                .opaque(try Run.current())
            },
            runProperty("name", "The run's name.", .string) { .string($0.name) },
            runProperty("path", "The run file's path.", .string) { .string($0.path) },
            runProperty("stages", "The stage names, in the order the run made them.", .array(.string)) { .array($0.stageNames.map(Value.string)) },
            runProperty("seed", "The seed every random stream came from.", .int) { .int($0.seed) },
            runProperty("recipe", "The recipe text the run recorded (a REPL session's statements, a notebook's cells).", .string) {
                .string($0.recipe)
            },
            runProperty(
                "status",
                "\"running\" (being written, or killed), \"complete\", \"failed\" or \"interrupted\" (stopped by SIGINT, SIGTERM or SIGHUP).", .string
            ) { .string($0.status) },
            runProperty("error", "The error a failed run recorded, or nil.", .optional(.string)) { $0.error.map(Value.string) ?? .none },
            runProperty("overrides", "The `--set` overrides the run was made with, as name=value.", .array(.string)) {
                .array($0.overrides.map(Value.string))
            },
            Builtin(
                "stage", kind: .method("Run"), doc: "The stage of that name.",
                parameters: [.positional("name", .string, doc: "A name from `stages`.")], returns: .named("RunStage")
            ) { args, _ in
                .opaque(try args.receiver(Run.self).stage(try args.string("name")))
            },
            stageProperty("name", "The stage's name.", .string) { .string($0.name) },
            stageProperty("config", "The stage's resolved options.", .dictionary(key: .string, value: .any)) { stage in
                let config = stage.config
                return .dictionary(try RecipeDictionary(config.keys.sorted().map { key in (.string(key), value(of: config[key]!)) }))
            },
            stageProperty("steps", "The step of each value of a metric.", .array(.int)) { .array($0.steps.map(Value.int)) },
            stageProperty("metrics", "The metric names.", .array(.string)) { .array($0.metricNames.map(Value.string)) },
            stageProperty("evals", "The evaluation metric names.", .array(.string)) { .array($0.evalNames.map(Value.string)) },
            stageProperty("evalSteps", "The training step of each evaluation.", .array(.int)) { .array($0.evalSteps.map(Value.int)) },
            stageProperty("parameters", "The parameters with recorded statistics, in the model's order.", .array(.string)) {
                .array($0.parameterNames.map(Value.string))
            },
            stageProperty("parameterSteps", "The step of each row of parameter statistics.", .array(.int)) {
                .array($0.parameterSteps.map(Value.int))
            },
            stageProperty(
                "rollouts", "The rollout samples: step, prompt, response and reward of each.", .array(.dictionary(key: .string, value: .any))
            ) { stage in
                .array(
                    try stage.rollouts().map { r in
                        .dictionary(
                            try RecipeDictionary([
                                (.string("step"), .int(r.step)), (.string("prompt"), .string(r.prompt)),
                                (.string("response"), .string(r.response)), (.string("reward"), .double(r.reward)),
                            ]))
                    })
            },
            Builtin(
                "metric", kind: .method("RunStage"), doc: "A metric's values, one per step of `steps`.",
                parameters: [.positional("name", .string, doc: "A name from `metrics` (loss, lr, reward, kl, ...).")],
                returns: .array(.double)
            ) { args, _ in
                .array(try args.receiver(RunStage.self).metric(try args.string("name")).map(Value.double))
            },
            Builtin(
                "eval", kind: .method("RunStage"), doc: "An evaluation metric's values, one per step of `evalSteps`.",
                parameters: [.positional("name", .string, doc: "A name from `evals`.")], returns: .array(.double)
            ) { args, _ in
                .array(try args.receiver(RunStage.self).eval(try args.string("name")).map(Value.double))
            },
            Builtin(
                "parameter", kind: .method("RunStage"), doc: "One statistic of a parameter, one value per step of `parameterSteps`.",
                parameters: [
                    .positional("name", .string, doc: "A name from `parameters`."),
                    .labeled("kind", .string, default: "grad", doc: "value, grad or update."),
                    .labeled("statistic", .string, default: "l2", doc: "mean, std, min, max, absmax, l2 or nonfinite."),
                ],
                returns: .array(.double)
            ) { args, _ in
                .array(
                    try args.receiver(RunStage.self).parameter(
                        try args.string("name"), kind: try args.string("kind"), statistic: try args.string("statistic")
                    ).map(Value.double))
            },
        ])

    private static func runProperty(_ name: String, _ doc: String, _ type: ValueType, _ get: @escaping (Run) throws -> Value) -> Builtin {
        Builtin(name, kind: .property("Run"), doc: doc, returns: type) { args, _ in try get(try args.receiver(Run.self)) }
    }

    private static func stageProperty(_ name: String, _ doc: String, _ type: ValueType, _ get: @escaping (RunStage) throws -> Value) -> Builtin {
        Builtin(name, kind: .property("RunStage"), doc: doc, returns: type) { args, _ in try get(try args.receiver(RunStage.self)) }
    }
}

/// A recorded attribute as a recipe value.
private func value(of config: ConfigValue) -> Value {
    switch config {
    case .int(let v): return .int(v)
    case .uint(let v): return Int(exactly: v).map(Value.int) ?? .double(Double(v))
    case .double(let v): return .double(v)
    case .bool(let v): return .bool(v)
    case .string(let v): return .string(v)
    case .ints(let vs): return .array(vs.map(Value.int))
    case .doubles(let vs): return .array(vs.map(Value.double))
    case .strings(let vs): return .array(vs.map(Value.string))
    }
}
