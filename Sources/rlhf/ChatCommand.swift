import ArgumentParser
import Foundation
import Generation
import Models
import Tensors

/// `rlhf chat`: talk to a model in the terminal, through its chat template, streaming the reply.
///
/// Reads one user message per line from standard input (typed or piped); `/reset` forgets the
/// conversation, `/exit` or end of input quits.
struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk to a model in the terminal (default: the cached SmolLM2-135M-Instruct).",
        discussion: """
            One message per line on standard input; the reply streams as it is sampled. \
            /reset starts a new conversation, /exit (or end of input) quits. \
            Works piped: echo "What is the capital of France?" | rlhf chat --temperature 0
            """)

    @Option(help: "A GGUF file, or a HuggingFace folder with config.json, model.safetensors and tokenizer.json.")
    var model: String?

    @Option(help: "System prompt (default: the chat template's own).")
    var system: String?

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.2

    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold.")
    var topP: Float = 0.9

    @Option(name: .customLong("max-new-tokens"), help: "Longest reply, in tokens.")
    var maxNewTokens: Int = 256

    @Option(help: "Seed of the sampling stream (each turn forks it).")
    var seed: UInt64 = 0

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    func run() throws {
        if let threads { Parallel.threads = max(1, threads) }
        let path = model ?? CausalLM.smolLM2Path.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelError.fileNotFound(
                path: path, what: model == nil ? "SmolLM2: run scripts/fetch-smollm2, or pass --model PATH" : "a GGUF file or a model folder")
        }
        let (lm, tokenizer) = try CausalLM.loadWithTokenizer(URL(fileURLWithPath: path))
        var chat = try ChatSession(
            model: lm, tokenizer: tokenizer, system: system, temperature: temperature, topP: topP,
            maxNewTokens: maxNewTokens, seed: seed)

        let interactive = isatty(STDIN_FILENO) != 0
        let out = FileHandle.standardOutput
        if interactive {
            FileHandle.standardError.write(
                Data(
                    "\(URL(fileURLWithPath: path).lastPathComponent): \(lm.config.layers) layers, \(lm.parameterCount / 1_000_000)M parameters. /reset, /exit.\n"
                        .utf8))
        }
        while true {
            if interactive { out.write(Data("> ".utf8)) }
            guard let line = readLine() else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/exit" { break }
            if text == "/reset" {
                chat.reset()
                continue
            }
            let completion = try chat.send(text) { out.write(Data($0)) }
            out.write(Data("\n".utf8))
            if completion.finishReason == .length && interactive {
                FileHandle.standardError.write(Data("[stopped after \(maxNewTokens) tokens]\n".utf8))
            }
        }
    }
}
