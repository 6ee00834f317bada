// The tokenizer stored in a GGUF file's `tokenizer.*` metadata.

import WeightFiles

extension GGUFFile {
    /// The byte-level BPE tokenizer described by this file's metadata.
    ///
    /// Reads `tokenizer.ggml.model` (must be `gpt2`), `tokens`, `merges`, `token_type` (control
    /// tokens become special added tokens), the bos/eos/padding/unknown ids, `tokenizer.ggml.pre`
    /// (which pre-tokenizer) and `tokenizer.chat_template` (ChatML templates become a
    /// ``ChatTemplate`` with their default system prompt; another kind is kept as
    /// ``BPETokenizer/unrecognizedChatTemplate``, so using it says why it cannot be rendered).
    ///
    /// - Parameter preTokenizer: Overrides the pre-tokenizer named by `tokenizer.ggml.pre`.
    ///   SmolLM2 files say `smollm` (isolated digits), as its `tokenizer.json` does; transformers'
    ///   GGUF loader ignores that field and uses `.gpt2`, which splits differently only where two
    ///   or more whitespace characters precede a digit.
    /// - Throws: ``WeightFileError`` for missing or mistyped keys, ``TokenizerError`` for an
    ///   unsupported tokenizer model or pre-tokenizer.
    public func makeTokenizer(preTokenizer: PreTokenizer? = nil) throws -> BPETokenizer {
        let model = try string("tokenizer.ggml.model")
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(source: path, model: model) }
        let chosen: PreTokenizer
        if let preTokenizer {
            chosen = preTokenizer
        } else {
            let name = metadata["tokenizer.ggml.pre"]?.string ?? "gpt-2"
            guard let known = PreTokenizer(ggufName: name) else {
                throw TokenizerError.unsupportedModel(source: path, model: "gpt2 with pre-tokenizer '\(name)'")
            }
            chosen = known
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        let merges = try strings("tokenizer.ggml.merges")
        let types =
            metadata["tokenizer.ggml.token_type"] == nil
            ? [] : try ints("tokenizer.ggml.token_type").map { Int32(truncatingIfNeeded: $0) }
        func optionalID(_ key: String) throws -> Int? { metadata[key] == nil ? nil : try int(key) }
        var template: ChatTemplate? = nil
        var unrecognized: String? = nil
        if let jinja = chatTemplateSource {
            do { template = try ChatTemplate(jinja: jinja) } catch { unrecognized = jinja }
        }
        return try BPETokenizer(
            tokens: tokens, merges: merges, tokenTypes: types,
            bosTokenID: try optionalID("tokenizer.ggml.bos_token_id"),
            eosTokenID: try optionalID("tokenizer.ggml.eos_token_id"),
            padTokenID: try optionalID("tokenizer.ggml.padding_token_id"),
            unknownTokenID: try optionalID("tokenizer.ggml.unknown_token_id"),
            preTokenizer: chosen, chatTemplate: template, unrecognizedChatTemplate: unrecognized, source: path)
    }
}
