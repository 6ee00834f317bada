import Foundation
import Tensors

// The Llama block (HF `LlamaDecoderLayer`), pre-norm:
//
//     h = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))    n = input_layernorm(x)
//     y = h + down_proj(silu(gate_proj(m)) * up_proj(m))                      m = post_attention_layernorm(h)
//
// RoPE rotates halves (HF `rotate_half`), angles position · theta^(−2i/Dh). Grouped-query attention:
// H query heads share Hkv key/value heads (H / Hkv queries per group).

/// `model.layers.N`: self-attention and a SwiGLU MLP, each after an RMSNorm.
final class LlamaLayer: DecoderLayer {
    let name: String
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let ropeTheta: Float

    // Declared in HF `named_parameters()` order.
    let qProj: Linear  // self_attn.q_proj
    let kProj: Linear  // self_attn.k_proj
    let vProj: Linear  // self_attn.v_proj
    let oProj: Linear  // self_attn.o_proj
    let gateProj: Linear  // mlp.gate_proj
    let upProj: Linear  // mlp.up_proj
    let downProj: Linear  // mlp.down_proj
    let inputLayernorm: Norm  // input_layernorm
    let postAttentionLayernorm: Norm  // post_attention_layernorm

    init(config: ModelConfig, index: Int, rng: RNG?) {
        let name = "model.layers.\(index)"
        self.name = name
        heads = config.heads
        kvHeads = config.kvHeads
        headDim = config.headDim
        ropeTheta = config.ropeTheta
        let d = config.hiddenSize, f = config.intermediateSize, std = config.initializerRange
        let q = heads * headDim, kv = kvHeads * headDim
        func linear(_ path: String, _ inF: Int, _ outF: Int, _ bias: Bool) -> Linear {
            Linear(name: "\(name).\(path)", inFeatures: inF, outFeatures: outF, bias: bias, std: std, rng: rng)
        }
        qProj = linear("self_attn.q_proj", d, q, config.attentionBias)
        kProj = linear("self_attn.k_proj", d, kv, config.attentionBias)
        vProj = linear("self_attn.v_proj", d, kv, config.attentionBias)
        oProj = linear("self_attn.o_proj", q, d, config.attentionBias)
        gateProj = linear("mlp.gate_proj", d, f, config.mlpBias)
        upProj = linear("mlp.up_proj", d, f, config.mlpBias)
        downProj = linear("mlp.down_proj", f, d, config.mlpBias)
        inputLayernorm = Norm(name: "\(name).input_layernorm", kind: .rms, size: d, eps: config.normEps)
        postAttentionLayernorm = Norm(name: "\(name).post_attention_layernorm", kind: .rms, size: d, eps: config.normEps)
    }

    var linears: [Linear] { [qProj, kProj, vProj, oProj, gateProj, upProj, downProj] }

    func parameters() -> [(name: String, tensor: Tensor)] {
        linears.flatMap { $0.parameters() } + inputLayernorm.parameters() + postAttentionLayernorm.parameters()
    }

    func callAsFunction(_ x: Tensor, layer: Int, context: ForwardContext) throws -> Tensor {
        let b = context.batch, t = context.length
        let n = try inputLayernorm(x)
        let q = try rope(
            splitHeads(qProj(n), batch: b, length: t, heads: heads, headDim: headDim),
            positions: context.positions, theta: ropeTheta)
        let k = try rope(
            splitHeads(kProj(n), batch: b, length: t, heads: kvHeads, headDim: headDim),
            positions: context.positions, theta: ropeTheta)
        let v = try splitHeads(vProj(n), batch: b, length: t, heads: kvHeads, headDim: headDim)
        let attended = try attention(q: q, k: k, v: v, layer: layer, context: context, heads: heads, headDim: headDim)
        let h = try x + oProj(attended)
        let m = try postAttentionLayernorm(h)
        return try h + downProj(swiglu(gate: gateProj(m), up: upProj(m)))
    }
}
