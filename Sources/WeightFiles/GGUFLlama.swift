// What a Llama GGUF changes relative to the HuggingFace checkpoint it was converted from:
// tensor names, and the row order of the query and key projections.
//
// llama.cpp's convert_hf_to_gguf.py (LlamaModel.permute) stores q_proj and k_proj with the rows
// of each head reordered for its interleaved RoPE (pairs (2i, 2i+1)) instead of transformers'
// rotate-half RoPE (pairs (i, i + d/2)). With H heads (the KV head count for k_proj), head size
// d and half = d/2, it does
//
//     gguf = hf.reshape(H, 2, half, cols).swapaxes(1, 2).reshape(rows, cols)
//
// so GGUF row h·d + 2i + p is HF row h·d + p·half + i (p ∈ {0, 1}, i < half). Undo it to run the
// weights with transformers' rotate-half RoPE, as transformers' GGUF loader does.

/// Reorders the rows of a llama.cpp-permuted `attn_q` / `attn_k` weight back to transformers' order.
///
/// - Parameters:
///   - values: Row-major `[rows, rowLength]` data: Float32 values, or raw quantized bytes with
///     `rowLength` = bytes per row (a permutation of whole rows keeps blocks intact).
///   - rows: Output features: heads × head size.
///   - heads: Attention heads for `attn_q`, KV heads for `attn_k`.
/// - Returns: The rows in HuggingFace order: HF row h·d + p·d/2 + i = GGUF row h·d + 2i + p.
public func unpermuteLlamaQK<T>(_ values: [T], rows: Int, rowLength: Int, heads: Int) -> [T] {
    moveLlamaQKRows(values, rows: rows, rowLength: rowLength, heads: heads, toHuggingFace: true)
}

/// The inverse of ``unpermuteLlamaQK(_:rows:rowLength:heads:)``: what llama.cpp's converter does
/// to an HF `q_proj` / `k_proj` weight (for writing GGUF files and for tests).
public func permuteLlamaQK<T>(_ values: [T], rows: Int, rowLength: Int, heads: Int) -> [T] {
    moveLlamaQKRows(values, rows: rows, rowLength: rowLength, heads: heads, toHuggingFace: false)
}

/// Moves whole rows between the two layouts: HF row h·d + p·d/2 + i is GGUF row h·d + 2i + p.
private func moveLlamaQKRows<T>(_ values: [T], rows: Int, rowLength: Int, heads: Int, toHuggingFace: Bool) -> [T] {
    let name = toHuggingFace ? "unpermuteLlamaQK" : "permuteLlamaQK"
    precondition(values.count == rows * rowLength, "\(name): \(values.count) values for \(rows) × \(rowLength)")
    precondition(heads > 0 && rows % (2 * heads) == 0, "\(name): \(rows) rows do not split into \(heads) heads of even size")
    let headSize = rows / heads
    let half = headSize / 2
    var out = values
    for h in 0..<heads {
        for p in 0..<2 {
            for i in 0..<half {
                let hfRow = h * headSize + p * half + i, ggufRow = h * headSize + 2 * i + p
                let (to, from) = toHuggingFace ? (hfRow, ggufRow) : (ggufRow, hfRow)
                out[(to * rowLength)..<((to + 1) * rowLength)] = values[(from * rowLength)..<((from + 1) * rowLength)]
            }
        }
    }
    return out
}

/// GGUF tensor names of Llama-family models and their HuggingFace names.
public enum GGUFLlamaNames {
    /// The HuggingFace name of a Llama GGUF tensor (`blk.3.attn_q.weight` →
    /// `model.layers.3.self_attn.q_proj.weight`), or nil for a name outside the Llama layout.
    ///
    /// `output.weight` is `lm_head.weight`; a file without it (SmolLM2) ties the head to
    /// `token_embd.weight`.
    public static func huggingFaceName(_ ggufName: String) -> String? {
        if let global = globals[ggufName] { return global }
        let parts = ggufName.split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
        let rest = parts[2]
        guard let dot = rest.lastIndex(of: ".") else { return nil }
        let stem = String(rest[..<dot])
        let suffix = String(rest[dot...])
        guard let hf = perLayer[stem] else { return nil }
        return "model.layers.\(layer).\(hf)\(suffix)"
    }

    /// The GGUF name of a HuggingFace Llama tensor, or nil.
    public static func ggufName(_ huggingFaceName: String) -> String? {
        if let global = globals.first(where: { $0.value == huggingFaceName })?.key { return global }
        let prefix = "model.layers."
        guard huggingFaceName.hasPrefix(prefix) else { return nil }
        let rest = huggingFaceName.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return nil }
        let tail = String(rest[rest.index(after: dot)...])
        guard let last = tail.lastIndex(of: ".") else { return nil }
        let stem = String(tail[..<last])
        let suffix = String(tail[last...])
        guard let gguf = perLayer.first(where: { $0.value == stem })?.key else { return nil }
        return "blk.\(layer).\(gguf)\(suffix)"
    }

    static let globals: [String: String] = [
        "token_embd.weight": "model.embed_tokens.weight",
        "output_norm.weight": "model.norm.weight",
        "output.weight": "lm_head.weight",
    ]

    static let perLayer: [String: String] = [
        "attn_norm": "input_layernorm",
        "attn_q": "self_attn.q_proj",
        "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
        "ffn_norm": "post_attention_layernorm",
        "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj",
    ]
}

extension GGUFFile {
    /// The Float32 values of the tensor that transformers calls `huggingFaceName`, in
    /// transformers' layout: dequantized, row-major, and for `q_proj` / `k_proj` with llama.cpp's
    /// row permutation undone (using `<arch>.attention.head_count` and `head_count_kv`).
    ///
    /// `lm_head.weight` falls back to `token_embd.weight` when the file has no `output.weight`
    /// (tied embeddings, as in SmolLM2).
    ///
    /// - Returns: The row-major shape and the values.
    /// - Throws: ``WeightFileError`` for an unknown name or missing head counts.
    public func llamaFloats(huggingFaceName: String) throws -> (shape: [Int], values: [Float]) {
        guard var name = GGUFLlamaNames.ggufName(huggingFaceName) else {
            throw WeightFileError.unknownTensor(
                path: path, name: huggingFaceName, hint: "not a Llama tensor name (model.layers.N.self_attn.q_proj.weight, ...)")
        }
        if name == "output.weight" && !contains(name) { name = "token_embd.weight" }
        let info = try self.info(name)
        var values = try floats(name)
        let isQuery = name.hasSuffix(".attn_q.weight")
        if isQuery || name.hasSuffix(".attn_k.weight") {
            let arch = architecture ?? "llama"
            let heads = try int("\(arch).attention.head_count")
            let kvHeads = metadata["\(arch).attention.head_count_kv"] == nil ? heads : try int("\(arch).attention.head_count_kv")
            values = unpermuteLlamaQK(values, rows: info.rowCount, rowLength: info.rowLength, heads: isQuery ? heads : kvHeads)
        }
        return (info.shape, values)
    }
}
