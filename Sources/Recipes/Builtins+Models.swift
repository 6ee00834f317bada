// Model builtins: creating, loading, adapting, saving and sampling transformers.
import RecipeLanguage
import Training

extension BuiltinArea {
    static let models = BuiltinArea(
        "Models", doc: "Llama- and GPT-2-family transformers with their tokenizers: create, load, adapt, save, sample.",
        types: [
            .host("Model", doc: "A transformer with its LM head and tokenizer."),
            .enumeration(
                "Tokenizer", doc: "The tokenizer of a new model.",
                cases: [("bytes", "256 byte tokens plus <pad>, <bos>, <eos> and the ChatML markers.")]),
        ],
        builtins: [
            Builtin(
                "llama", kind: .staticFunction("Model"), doc: "A Llama-family model (RMSNorm, RoPE, SwiGLU, GQA) initialised from the seed.",
                parameters: [
                    .labeled("hidden", .int, default: .int(64), range: 1...65_536, doc: "Hidden size."),
                    .labeled("layers", .int, default: .int(2), range: 1...1_024, doc: "Decoder blocks."),
                    .labeled("heads", .int, default: .int(4), range: 1...1_024, doc: "Attention heads."),
                    .labeled("kvHeads", .optional(.int), range: 1...1_024, doc: "Key/value heads (grouped-query attention); default: heads."),
                    .labeled("intermediate", .optional(.int), range: 1...1_048_576, doc: "MLP size; default 8/3 × hidden."),
                    .labeled("maxPositions", .int, default: .int(256), range: 1...1_048_576, doc: "Longest sequence."),
                    .labeled("ropeTheta", .double, default: .double(10_000), doc: "RoPE base."),
                    .labeled("tokenizer", .named("Tokenizer"), default: .enumCase(type: "Tokenizer", name: "bytes"), doc: "The tokenizer."),
                ],
                returns: .named("Model")
            ) { args, _ in
                .opaque(
                    try Model.makeLlama(
                        hidden: try args.int("hidden"), layers: try args.int("layers"), heads: try args.int("heads"),
                        kvHeads: args.has("kvHeads") ? try args.int("kvHeads") : nil,
                        intermediate: args.has("intermediate") ? try args.int("intermediate") : nil,
                        maxPositions: try args.int("maxPositions"), ropeTheta: try args.double("ropeTheta"), tokenizer: .bytes))
            },
            Builtin(
                "gpt2", kind: .staticFunction("Model"), doc: "A GPT-2-family model (LayerNorm, learned positions, GELU) initialised from the seed.",
                parameters: [
                    .labeled("hidden", .int, default: .int(64), range: 1...65_536, doc: "Hidden size."),
                    .labeled("layers", .int, default: .int(2), range: 1...1_024, doc: "Decoder blocks."),
                    .labeled("heads", .int, default: .int(4), range: 1...1_024, doc: "Attention heads."),
                    .labeled("maxPositions", .int, default: .int(256), range: 1...1_048_576, doc: "Longest sequence."),
                    .labeled("tokenizer", .named("Tokenizer"), default: .enumCase(type: "Tokenizer", name: "bytes"), doc: "The tokenizer."),
                ],
                returns: .named("Model")
            ) { args, _ in
                .opaque(
                    try Model.makeGPT2(
                        hidden: try args.int("hidden"), layers: try args.int("layers"),
                        heads: try args.int("heads"), maxPositions: try args.int("maxPositions"), tokenizer: .bytes))
            },
            Builtin(
                "load", kind: .staticFunction("Model"), doc: "Loads a .gguf file or a folder with config.json and model.safetensors.",
                parameters: [.positional("path", .string, doc: "The file or folder.")], returns: .named("Model")
            ) { args, _ in
                .opaque(try Model.makeLoaded(try args.string("path")))
            },
            Builtin(
                "smolLM2", kind: .staticFunction("Model"), doc: "SmolLM2-135M-Instruct from .cache/models (fetched by scripts/setup).",
                returns: .named("Model")
            ) { _, _ in
                .opaque(try Model.makeSmolLM2())
            },
            Builtin("frozen", kind: .method("Model"), doc: "A copy that is never trained: a reference model.", returns: .named("Model")) { args, _ in
                .opaque(try args.receiver(Model.self).frozen())
            },
            Builtin("copy", kind: .method("Model"), doc: "A trainable copy with the same weights.", returns: .named("Model")) { args, _ in
                .opaque(try args.receiver(Model.self).copy())
            },
            Builtin("parameterCount", kind: .property("Model"), doc: "Number of parameters.", returns: .int) { args, _ in
                .int(try args.receiver(Model.self).parameterCount)
            },
            Builtin(
                "lora", kind: .method("Model"), doc: "Adds LoRA adapters to the chosen linear layers; then only they train.",
                parameters: [
                    .labeled("rank", .int, default: .int(8), range: 1...65_536, doc: "Adapter rank."),
                    .labeled("alpha", .double, default: .double(16), doc: "Scaling numerator (scale = alpha / rank)."),
                    .labeled("dropout", .double, default: .double(0), doc: "Dropout on the adapter input."),
                    .labeled(
                        "targets", .array(.string), default: .array(["q_proj", "k_proj", "v_proj", "o_proj"].map(Value.string)),
                        doc: "Linear layers to adapt, by HuggingFace module name."),
                ]
            ) { args, _ in
                try args.receiver(Model.self).makeLoRA(
                    rank: try args.int("rank"), alpha: try args.double("alpha"),
                    dropout: try args.double("dropout"), targets: try args.strings("targets"))
                return .void
            },
            Builtin("mergeLoRA", kind: .method("Model"), doc: "Folds the LoRA adapters into the base weights.") { args, _ in
                try args.receiver(Model.self).lm.mergeLoRA()
                return .void
            },
            Builtin(
                "saveAdapter", kind: .method("Model"),
                doc: "Writes only the LoRA adapters, as PEFT does (adapter_config.json, adapter_model.safetensors), under the output folder.",
                parameters: [.positional("path", .string, doc: "A folder, relative to the output folder.")]
            ) { args, _ in
                try args.receiver(Model.self).writeAdapter(try args.string("path"))
                return .void
            },
            Builtin(
                "loadAdapter", kind: .method("Model"), doc: "Puts LoRA adapters saved by saveAdapter or by PEFT on the model; then only they train.",
                parameters: [
                    .positional("path", .string, doc: "The adapter folder, from the working directory (results/NAME/adapter for one this run saved).")
                ]
            ) { args, _ in
                try args.receiver(Model.self).readAdapter(try args.string("path"))
                return .void
            },
            Builtin(
                "decodeWeights", kind: .method("Model"),
                doc: "The weights generation reads: \"f32\", \"bf16\" or \"q8_0\"; made again from the trained weights after each change.",
                parameters: [.positional("format", .string, doc: "f32 (exact), bf16 (half the bytes) or q8_0 (about a quarter).")]
            ) { args, _ in
                try args.receiver(Model.self).setDecodeWeights(try args.string("format"))
                return .void
            },
            Builtin(
                "save", kind: .method("Model"), doc: "Writes config.json and model.safetensors (loadable by transformers) under the output folder.",
                parameters: [.positional("path", .string, doc: "A folder, relative to the output folder.")]
            ) { args, _ in
                try args.receiver(Model.self).makeSaved(try args.string("path"))
                return .void
            },
            Builtin(
                "generate", kind: .method("Model"), doc: "Samples a completion of a prompt (greedy at temperature 0).",
                parameters: [
                    .positional("prompt", .string, doc: "The prompt text."),
                    .labeled("maxNewTokens", .int, default: .int(64), range: 0...1_048_576, doc: "Longest completion."),
                    .labeled("temperature", .double, default: .double(0), doc: "0 is greedy."),
                    .labeled("topP", .double, default: .double(1), doc: "Nucleus sampling mass."),
                    .labeled("topK", .int, default: .int(0), range: 0...16_777_216, doc: "Keep the k most likely tokens (0: all)."),
                    .labeled("chat", .bool, default: .bool(false), doc: "Wrap the prompt in the model's chat template."),
                ],
                returns: .string
            ) { args, _ in
                .string(
                    try args.receiver(Model.self).makeGenerated(
                        try args.string("prompt"), maxNewTokens: try args.int("maxNewTokens"), temperature: try args.double("temperature"),
                        topP: try args.double("topP"), topK: try args.int("topK"), chat: try args.bool("chat")))
            },
            Builtin(
                "logprobs", kind: .method("Model"), doc: "Log-probability of each token of a text given the tokens before it.",
                parameters: [.positional("text", .string, doc: "The text.")], returns: .array(.double)
            ) { args, _ in
                .array(try args.receiver(Model.self).makeLogprobs(try args.string("text")).map(Value.double))
            },
        ])

    static let data = BuiltinArea(
        "Data", doc: "Datasets in OpenRLHF's JSONL formats and synthetic tasks for tiny models.",
        types: [
            .host("TrainingData", doc: "Training records of one kind with their held-out split."),
            .host("SyntheticTask", doc: "A generated task with demonstrations, preferences, prompts, a score and an eval split."),
            .enumeration(
                "DataKind", doc: "What a dataset file holds.",
                cases: [
                    ("sft", "input/output; a chat: inputKey: \"messages\", outputKey: nil, applyChatTemplate: true"),
                    ("preference", "prompt/chosen/rejected[/margin]"),
                    ("unpaired", "input/output/label"), ("prompts", "input/label/datasource"),
                    ("processReward", "input with step placeholders / label list"),
                ]),
        ],
        builtins: [
            Builtin(
                "sortDigits", kind: .staticFunction("SyntheticTask"), doc: "Sort digits: \"3 1 2=\" → \"123\".",
                parameters: [
                    .labeled("count", .int, default: .int(4000), range: 0...10_000_000, doc: "Training problems."),
                    .labeled("evalCount", .int, default: .int(200), range: 0...1_000_000, doc: "Held-out problems."),
                    .labeled("digits", .range, default: .range(lower: 3, upper: 7), doc: "How many digits a problem has: 3...6, or 3..<7."),
                ],
                returns: .named("SyntheticTask")
            ) { args, _ in
                guard case .range(let lower, let upper) = args["digits"], upper > lower else {
                    throw RecipeError(.runtime, "`digits` must be a non-empty range of positive counts, such as 3...5")
                }
                return .opaque(
                    try SyntheticTask.makeSortDigits(
                        count: try args.int("count"), evalCount: try args.int("evalCount"),
                        digits: lower...(upper - 1)))
            },
            Builtin(
                "addition", kind: .staticFunction("SyntheticTask"), doc: "Add two numbers below 100: \"12+34=\" → \"46\".",
                parameters: [
                    .labeled("count", .int, default: .int(4000), range: 0...10_000_000, doc: "Training problems."),
                    .labeled("evalCount", .int, default: .int(200), range: 0...1_000_000, doc: "Held-out problems."),
                ],
                returns: .named("SyntheticTask")
            ) { args, _ in
                .opaque(try SyntheticTask.makeAddition(count: try args.int("count"), evalCount: try args.int("evalCount")))
            },
            taskData("demonstrations", "Prompt/answer pairs for SFT.") { $0.demonstrations },
            taskData("preferences", "Correct vs. plausible wrong answers, for reward models and DPO.") { $0.preferences },
            taskData("unpaired", "Answers labelled desirable or not, for KTO.") { $0.unpaired },
            taskData("prompts", "Prompts with their answers as labels, for online RL.") { $0.prompts },
            taskData("processRewards", "Step-labelled solutions, for process reward models.") { $0.processRewards },
            taskData("eval", "The held-out prompts, for evaluate().") { $0.eval },
            Builtin(
                "score", kind: .method("SyntheticTask"), doc: "The reward of a response in [0, 1] (1 = exact answer).",
                parameters: [.positional("prompt", .string, doc: "The prompt."), .positional("response", .string, doc: "The response.")],
                returns: .double
            ) { args, _ in
                .double(try args.receiver(SyntheticTask.self).score(try args.string("prompt"), try args.string("response")))
            },
            Builtin(
                "load", kind: .staticFunction("TrainingData"), doc: "Reads a JSONL (or JSON array) file in one of OpenRLHF's formats.",
                parameters: [
                    .positional("path", .string, doc: "The training file."),
                    .labeled("kind", .named("DataKind"), doc: "What the records hold."),
                    .labeled("evalPath", .optional(.string), doc: "The held-out file (default: no evaluation)."),
                ] + optionParameters(DataOptions()),
                returns: .named("TrainingData")
            ) { args, _ in
                guard let kind = DataKind(rawValue: try args.enumCase("kind", of: "DataKind")) else {
                    throw RecipeError(.runtime, "unknown data kind")
                }
                return .opaque(
                    try TrainingData.makeLoaded(
                        try args.string("path"), kind: kind, evalPath: args.has("evalPath") ? try args.string("evalPath") : nil,
                        options: try readOptions(DataOptions(), args)))
            },
            Builtin("count", kind: .property("TrainingData"), doc: "Number of training records.", returns: .int) { args, _ in
                .int(try args.receiver(TrainingData.self).count)
            },
            Builtin(
                "save", kind: .method("TrainingData"), doc: "Writes the training records as OpenRLHF JSONL under the output folder.",
                parameters: [.positional("path", .string, doc: "A file, relative to the output folder.")]
            ) { args, _ in
                try args.receiver(TrainingData.self).makeSaved(try args.string("path"))
                return .void
            },
        ])

    /// A property of a synthetic task that gives one of its datasets.
    private static func taskData(_ name: String, _ doc: String, _ get: @escaping (SyntheticTask) -> TrainingData) -> Builtin {
        Builtin(name, kind: .property("SyntheticTask"), doc: doc, returns: .named("TrainingData")) { args, _ in
            .opaque(get(try args.receiver(SyntheticTask.self)))
        }
    }
}
