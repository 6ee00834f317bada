import Foundation
import Tensors

// The GPT-2 block (HF `GPT2Block`), pre-norm:
//
//     h = x + c_proj(attention(split(c_attn(ln_1(x)))))
//     y = h + mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(h))))
//
// `Conv1D` layers store their weight as [in, out] (x · W + b); we keep that layout so files
// round-trip, and multiply without transposing. Positions are a learned table (`wpe`), added to the
// token embeddings by ``Transformer``.

/// `transformer.h.N`: fused-QKV self-attention and a GELU MLP, each after a LayerNorm.
final class GPT2Layer: DecoderLayer {
    let name: String
    let heads: Int
    let headDim: Int
    let hidden: Int

    // Declared in HF `named_parameters()` order.
    let ln1: Norm  // ln_1
    let cAttn: Linear  // attn.c_attn, [D, 3D]
    let attnProj: Linear  // attn.c_proj, [D, D]
    let ln2: Norm  // ln_2
    let cFC: Linear  // mlp.c_fc, [D, F]
    let mlpProj: Linear  // mlp.c_proj, [F, D]

    init(config: ModelConfig, index: Int, rng: RNG?) {
        let name = "transformer.h.\(index)"
        self.name = name
        heads = config.heads
        headDim = config.headDim
        hidden = config.hiddenSize
        let d = config.hiddenSize, f = config.intermediateSize, std = config.initializerRange
        // GPT-2's scheme: residual projections start smaller, by 1/√(2 · layers).
        let projectionStd = std / (2 * Float(config.layers)).squareRoot()
        func conv1D(_ path: String, _ inF: Int, _ outF: Int, _ std: Float) -> Linear {
            Linear(name: "\(name).\(path)", inFeatures: inF, outFeatures: outF, bias: true, layout: .inputMajor, std: std, rng: rng)
        }
        ln1 = Norm(name: "\(name).ln_1", kind: .layer, size: d, eps: config.normEps)
        cAttn = conv1D("attn.c_attn", d, 3 * d, std)
        attnProj = conv1D("attn.c_proj", d, d, projectionStd)
        ln2 = Norm(name: "\(name).ln_2", kind: .layer, size: d, eps: config.normEps)
        cFC = conv1D("mlp.c_fc", d, f, std)
        mlpProj = conv1D("mlp.c_proj", f, d, projectionStd)
    }

    var linears: [Linear] { [cAttn, attnProj, cFC, mlpProj] }

    func parameters() -> [(name: String, tensor: Tensor)] {
        ln1.parameters() + cAttn.parameters() + attnProj.parameters() + ln2.parameters() + cFC.parameters() + mlpProj.parameters()
    }

    func callAsFunction(_ x: Tensor, layer: Int, context: ForwardContext) throws -> Tensor {
        let b = context.batch, t = context.length
        let qkv = try cAttn(ln1(x)).split(axis: -1, sizes: [hidden, hidden, hidden])
        let q = try splitHeads(qkv[0], batch: b, length: t, heads: heads, headDim: headDim)
        let k = try splitHeads(qkv[1], batch: b, length: t, heads: heads, headDim: headDim)
        let v = try splitHeads(qkv[2], batch: b, length: t, heads: heads, headDim: headDim)
        let attended = try attention(q: q, k: k, v: v, layer: layer, context: context, heads: heads, headDim: headDim)
        let h = try x + attnProj(attended)
        return try h + mlpProj(gelu(cFC(ln2(h)), approximate: .tanh))
    }
}
