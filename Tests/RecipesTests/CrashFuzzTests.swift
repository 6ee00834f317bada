import FixtureSupport
import Foundation
import Recipes
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The mutation fuzzer of the hardening issue: recipes that call every builtin of the registry
/// with numeric edge values, mutated JSONL lines, mutated safetensors and GGUF headers and mutated
/// run files, all run by the `rlhf` binary in child processes, which must never die of a signal.
///
/// Deterministic: the cases come from a fixed seed. `RLHF_FUZZ_CASES` sets the total (default
/// 320, about a minute); the counts are printed. A failure names the case, which reruns alone
/// with `rlhf repl` fed the preamble and that line.
@Suite(.serialized) struct CrashFuzzTests {
    typealias Generator = SplitMix64

    /// The values of the issue: 0, −1, Int.max, Int.min, NaN, ±inf, 1e308, written for an Int or
    /// a Double parameter (an Int parameter cannot take the non-integers: the call would only be
    /// refused by its type).
    static let intEdges = ["0", "-1", "Int.max", "Int.min"]
    static let doubleEdges = [
        "0", "-1", "9.223372036854776e18", "-9.223372036854776e18", "Double.nan", "Double.infinity", "-Double.infinity", "1e308",
    ]

    /// What every batch defines first: small values of each type a builtin may need.
    static let preamble = [
        "let task = SyntheticTask.sortDigits(count: 64, evalCount: 8)",
        "let m = Model.llama(hidden: 8, layers: 1, heads: 2, maxPositions: 64)",
        "let ref = m.frozen()",
        "let bon = bestOfN(m, prompts: task.prompts, n: 2, maxNewTokens: 2, reward: { _, _ in 0.5 })",
        "let ev = evaluate(m, on: task.eval, maxNewTokens: 2)",
        "let tr = sft(m.copy(), data: task.demonstrations, microTrainBatchSize: 16, trainBatchSize: 16)",
        "let run = Run.open(\"base-run/run.h5\")",
        "let st = run.stage(\"sft\")",
        "var xs = [3, 1, 2]",
    ]

    /// An expression of a value of `type` for the fuzzed call, or nil when none is at hand.
    static func value(of type: ValueType, parameter: String, builtin: String) -> String? {
        switch type {
        case .optional(let wrapped): return value(of: wrapped, parameter: parameter, builtin: builtin)
        case .int: return "2"
        case .double: return "0.5"
        case .bool: return "false"
        case .string: return builtin == "decodeWeights" ? "\"q8_0\"" : "\"x\""
        case .any: return "1"
        case .range: return "3..<5"
        case .array(.string): return "[\"q_proj\"]"
        case .array(.double): return "[1.0, 2.0]"
        case .array(.array): return "[[1, 2]]"
        case .array: return "[1, 2]"
        case .dictionary: return "[\"a\": 1]"
        case .function(let parameters, let returns):
            let names = parameters.isEmpty ? "" : parameters.map { _ in "_" }.joined(separator: ", ") + " in "
            let result: String
            switch returns {
            case .bool: result = "true"
            case .void: result = "()"
            case .int: result = "0"
            case .any: result = parameters.isEmpty ? "0" : "$0"
            default: result = "0.5"
            }
            return result == "$0" ? "{ $0 }" : "{ \(names)\(result) }"
        case .named(let name):
            if let cases = Registry.recipes.types[name]?.cases, let first = cases.first { return ".\(first.name)" }
            switch name {
            case "Model": return parameter == "reference" || parameter == "teacher" ? "ref" : "m"
            case "SyntheticTask": return "task"
            case "TrainingData": return data(for: builtin, parameter: parameter)
            case "BestOfN": return "bon"
            case "EvalResult": return "ev"
            case "CharacterSet": return ".whitespaces"
            default: return nil
            }
        default: return nil
        }
    }

    /// The data a trainer takes, of the kind it expects.
    static func data(for builtin: String, parameter: String) -> String {
        if parameter == "prompts" { return "task.prompts" }
        if parameter == "on" { return "task.eval" }
        switch builtin {
        case "dpo", "rewardModel": return "task.preferences"
        case "kto": return "task.unpaired"
        case "prm": return "task.processRewards"
        default: return "task.demonstrations"
        }
    }

    /// The receiver of a method or property of `owner`.
    static func receiver(_ owner: String) -> String? {
        [
            "Model": "m", "SyntheticTask": "task", "TrainingData": "task.demonstrations", "BestOfN": "bon", "EvalResult": "ev",
            "Run": "run", "RunStage": "st", "TrainingRun": "tr",
            "String": "\"abc\"", "Array": "[3, 1, 2]", "Range": "(0..<5)", "Dictionary": "[\"a\": 1]", "Double": "(2.5)",
        ][owner]
    }

    /// One line per (builtin, numeric parameter, edge value), in registry order.
    static func builtinCases() -> (cases: [String], skipped: Set<String>) {
        var cases: [String] = []
        var skipped: Set<String> = []
        for builtin in Registry.recipes.builtins {
            let callee: String
            switch builtin.kind {
            case .function: callee = builtin.name
            case .staticFunction(let owner): callee = "\(owner).\(builtin.name)"
            case .method(let owner):
                guard let r = receiver(owner) else {
                    skipped.insert("\(owner).\(builtin.name)")
                    continue
                }
                // A mutating method needs a variable: the preamble's `xs`.
                callee = builtin.isMutating ? "xs.\(builtin.name)" : "\(r).\(builtin.name)"
            case .staticProperty, .property: continue
            }
            // Heavy work at valid values only costs time; `seed` would reset the preamble's stream.
            if ["smolLM2", "seed"].contains(builtin.name) { continue }
            for (index, parameter) in builtin.parameters.enumerated() {
                var unwrapped = parameter.type
                if case .optional(let w) = unwrapped { unwrapped = w }
                let edges: [String]
                switch unwrapped {
                case .int: edges = intEdges
                case .double, .any: edges = doubleEdges + (unwrapped == .any ? ["Int.max", "Int.min"] : [])
                default: continue
                }
                var arguments: [String]? = []
                for (other, p) in builtin.parameters.enumerated() where other != index {
                    if p.defaultValue != nil || p.isOptional || p.isVariadic { continue }
                    guard let v = value(of: p.type, parameter: p.name, builtin: builtin.name) else {
                        arguments = nil
                        break
                    }
                    arguments?.append(p.label.map { "\($0): \(v)" } ?? v)
                }
                guard let args = arguments else {
                    skipped.insert((builtin.owner.map { "\($0)." } ?? "") + builtin.name)
                    break
                }
                for edge in edges {
                    var all = args
                    // Keep the parameters in declaration order.
                    let position = builtin.parameters[..<index].filter { p in
                        !(p.defaultValue != nil || p.isOptional || p.isVariadic)
                    }.count
                    all.insert(parameter.label.map { "\($0): \(edge)" } ?? edge, at: position)
                    cases.append("\(callee)(\(all.joined(separator: ", ")))")
                }
            }
        }
        return (cases, skipped)
    }

    // MARK: - Files

    /// A byte-level mutation: flips, overwrites with 0xFF or 0x00 runs, truncation, insertion.
    static func mutate(_ bytes: [UInt8], headerBytes: Int, _ g: inout Generator) -> [UInt8] {
        var b = bytes
        for _ in 0..<(1 + g.below(3)) where !b.isEmpty {
            let i = g.below(max(1, min(b.count, headerBytes)))
            switch g.below(6) {
            case 0: b[i] ^= UInt8(1 << g.below(8))
            case 1: for j in i..<min(b.count, i + 8) { b[j] = 0xFF }
            case 2: for j in i..<min(b.count, i + 8) { b[j] = 0 }
            case 3: b = Array(b.prefix(g.below(b.count)))
            case 4: b.insert(contentsOf: (0..<(1 + g.below(8))).map { _ in UInt8(g.below(256)) }, at: i)
            default: b[i] = UInt8(g.below(256))
            }
        }
        return b
    }

    static let jsonlSeeds = [
        #"{"input": "1 2", "output": "3"}"#, #"{"prompt": "p", "chosen": "a", "rejected": "b"}"#,
        #"{"prompt": "p", "response": "r", "label": true}"#,
        #"{"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}"#,
        #"{"input": null, "output": [1, {"a": 1e999}], "x": "\ud800"}"#,
    ]
    static let jsonlTokens = ["{", "}", "[", "]", ":", ",", "\"", "\\", "null", "true", "1e308", "-0", "NaN", "\"\\u0000\"", "\u{0}", "\n", "💥"]

    /// A mutated JSONL file: seed lines, with characters and JSON tokens changed.
    static func jsonl(_ g: inout Generator) -> [UInt8] {
        var lines: [String] = []
        for _ in 0..<(1 + g.below(4)) {
            var line = Array(g.pick(jsonlSeeds))
            for _ in 0..<g.below(4) where !line.isEmpty {
                let i = g.below(line.count)
                switch g.below(3) {
                case 0: line.remove(at: i)
                case 1: line.insert(contentsOf: Array(g.pick(jsonlTokens)), at: i)
                default: line[i] = g.pick(Array("{}[]:,\"0a\\"))
                }
            }
            lines.append(String(line))
        }
        var bytes = Array(lines.joined(separator: "\n").utf8)
        if g.below(4) == 0 { bytes = mutate(bytes, headerBytes: bytes.count, &g) }
        return bytes
    }

    /// A GGUF file of a one-layer Llama's metadata and tokenizer, its tensors left out.
    static func baseGGUF() -> [UInt8] {
        var builder = GGUFBuilder()
        builder.add("general.architecture", type: .string, GGUFBuilder.string("llama"))
        for (key, value) in [
            ("llama.block_count", 1), ("llama.embedding_length", 8), ("llama.feed_forward_length", 16),
            ("llama.attention.head_count", 2), ("llama.context_length", 64),
        ] {
            builder.add(key, type: .uint32, littleEndian(UInt32(value)))
        }
        builder.add("tokenizer.ggml.model", type: .string, GGUFBuilder.string("gpt2"))
        builder.addStrings("tokenizer.ggml.tokens", ["a", "b", "ab"])
        builder.addStrings("tokenizer.ggml.merges", ["a b"])
        return builder.build()
    }

    // MARK: - Running

    struct Outcome {
        var signalled: [String] = []
        var timedOut: [String] = []
    }

    /// Runs `lines` after the preamble in one `rlhf repl`; the signal that ended it, if any.
    static func repl(_ lines: [String], in dir: URL, timeout: TimeInterval = 240) throws -> (signal: Int32?, timedOut: Bool) {
        let process = Process()
        process.executableURL = RLHFCommand.executable
        process.arguments = ["repl", "--out", "repl-out", "--threads", "1", "--memory-limit", "2G"]
        process.currentDirectoryURL = dir
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data((preamble + lines).joined(separator: "\n").utf8 + [10]))
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            // SIGTERM would only interrupt the statement: the REPL goes on with the next one.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return (nil, true)
        }
        return (process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil, false)
    }

    /// Runs the cases in batches; a batch that dies is rerun case by case to name the culprit.
    static func run(_ cases: [String], in dir: URL, batch: Int = 40) throws -> Outcome {
        var outcome = Outcome()
        var start = 0
        while start < cases.count {
            let lines = Array(cases[start..<min(cases.count, start + batch)])
            start += batch
            let result = try repl(lines, in: dir)
            if result.signal == nil && !result.timedOut { continue }
            for line in lines {
                let single = try repl([line], in: dir, timeout: 120)
                if let signal = single.signal { outcome.signalled.append("signal \(signal): \(line)") }
                if single.timedOut { outcome.timedOut.append(line) }
            }
        }
        return outcome
    }

    @Test func noInputKillsTheProcess() throws {
        let total = ProcessInfo.processInfo.environment["RLHF_FUZZ_CASES"].flatMap(Int.init) ?? 320
        var g = Generator(state: 15_2026)
        let dir = try RLHFCommand.temporaryDirectory("rlhf-fuzz")

        // (a) Builtins × numeric parameters × edge values, a seeded sample of them.
        let (all, skipped) = Self.builtinCases()
        var order = Array(all.indices)
        for i in order.indices.reversed() { order.swapAt(i, g.below(i + 1)) }
        let builtinCount = min(all.count, max(1, total * 5 / 8))
        let builtinCases = order.prefix(builtinCount).sorted().map { all[$0] }

        // Base files: a run file and a saved model, from one small run.
        try """
        let task = SyntheticTask.sortDigits(count: 64, evalCount: 8)
        let m = Model.llama(hidden: 8, layers: 1, heads: 2, maxPositions: 64)
        sft(m, data: task.demonstrations, microTrainBatchSize: 16, trainBatchSize: 16)
        m.save("base-model")
        """.write(to: dir.appendingPathComponent("base.swift"), atomically: true, encoding: .utf8)
        let base = try RLHFCommand.run(["run", "base.swift", "--out", "base-run", "--threads", "1"], directory: dir)
        #expect(base.status == 0, "\(base.stderr)")
        let runFile = try [UInt8](Data(contentsOf: dir.appendingPathComponent("base-run/run.h5")))
        let safetensors = try [UInt8](Data(contentsOf: dir.appendingPathComponent("base-run/base-model/model.safetensors")))
        let config = try Data(contentsOf: dir.appendingPathComponent("base-run/base-model/config.json"))
        let gguf = Self.baseGGUF()

        // (b) JSONL lines, (c) safetensors and GGUF headers, (d) run files: mutated copies, each
        // read by a line of the same REPL batches.
        let each = max(1, (total - builtinCount) / 4)
        var fileCases: [String] = []
        let kinds = ["sft", "preference", "prompt", "unpaired", "processReward"]
        for i in 0..<each {
            try Data(Self.jsonl(&g)).write(to: dir.appendingPathComponent("j\(i).jsonl"))
            fileCases.append("print(TrainingData.load(\"j\(i).jsonl\", kind: .\(kinds[i % kinds.count])).count)")
        }
        for i in 0..<each {
            let folder = dir.appendingPathComponent("st\(i)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try config.write(to: folder.appendingPathComponent("config.json"))
            try Data(Self.mutate(safetensors, headerBytes: 4096, &g)).write(to: folder.appendingPathComponent("model.safetensors"))
            fileCases.append("print(Model.load(\"st\(i)\").parameterCount)")
            try Data(Self.mutate(gguf, headerBytes: gguf.count, &g)).write(to: dir.appendingPathComponent("g\(i).gguf"))
            fileCases.append("print(Model.load(\"g\(i).gguf\").parameterCount)")
        }
        var runFiles: [String] = []
        for i in 0..<each {
            let name = "r\(i).h5"
            try Data(Self.mutate(runFile, headerBytes: g.below(2) == 0 ? 4096 : runFile.count, &g)).write(to: dir.appendingPathComponent(name))
            runFiles.append(name)
            fileCases.append(
                "let r\(i) = Run.open(\"\(name)\"); print(r\(i).status, r\(i).recipe.count); for s in r\(i).stages { let st = r\(i).stage(s); print(st.steps.count, st.metrics.map { st.metric($0).count }, st.rollouts.count, st.parameters.map { st.parameter($0).count }) }"
            )
        }

        var outcome = try Self.run(builtinCases + fileCases, in: dir)
        // `rlhf inspect` and `rlhf report` read the mutated run files too.
        for name in runFiles {
            for arguments in [["inspect", name], ["report", name, "--out", "report-\(name)"]] {
                let process = Process()
                process.executableURL = RLHFCommand.executable
                process.arguments = arguments
                process.currentDirectoryURL = dir
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal {
                    outcome.signalled.append("signal \(process.terminationStatus): rlhf \(arguments.joined(separator: " "))")
                }
            }
        }
        print(
            "fuzz: \(builtinCases.count) of \(all.count) builtin edge-value cases, \(each) JSONL files, \(each) safetensors + \(each) GGUF headers, "
                + "\(each) run files (REPL, inspect, report); \(outcome.signalled.count) killed by a signal, \(outcome.timedOut.count) timed out; "
                + (skipped.isEmpty ? "every builtin has a receiver" : "no receiver for: \(skipped.sorted().joined(separator: ", "))"))
        #expect(outcome.signalled.isEmpty, "\(outcome.signalled.prefix(10).joined(separator: "\n"))")
        #expect(outcome.timedOut.isEmpty, "\(outcome.timedOut.prefix(10).joined(separator: "\n"))")
        #expect(builtinCases.count >= min(all.count, 100))
        if outcome.signalled.isEmpty && outcome.timedOut.isEmpty {
            try? FileManager.default.removeItem(at: dir)
        } else {
            print("fuzz: the cases' files are kept in \(dir.path)")
        }
    }
}
