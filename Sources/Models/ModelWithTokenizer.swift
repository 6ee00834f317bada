import Foundation
import Tokenizers
import WeightFiles

// Loading a model together with the tokenizer it was trained with, as `rlhf chat` and recipes do.

extension CausalLM {
    /// SmolLM2-135M-Instruct's GGUF: `RLHF_SMOLLM2_GGUF` when set, else `.cache/models` in the
    /// working directory (where `scripts/fetch-smollm2` puts it).
    public static var smolLM2Path: URL {
        if let path = ProcessInfo.processInfo.environment["RLHF_SMOLLM2_GGUF"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    }

    /// The model and tokenizer at `url`: a `.gguf` file (both inside), or a HuggingFace folder (or
    /// a file in it) with `config.json`, `model.safetensors` and `tokenizer.json`.
    ///
    /// - Throws: ``ModelError``, ``WeightFileError`` or ``TokenizerError`` naming the file at fault.
    public static func loadWithTokenizer(_ url: URL) throws -> (model: CausalLM, tokenizer: BPETokenizer) {
        if url.pathExtension.lowercased() == "gguf" {
            let file = try GGUFFile(url: url)
            return (try CausalLM.load(gguf: file), try file.makeTokenizer())
        }
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let folder = isDirectory.boolValue ? url : url.deletingLastPathComponent()
        return (try CausalLM.load(url), try BPETokenizer.load(directory: folder))
    }
}
