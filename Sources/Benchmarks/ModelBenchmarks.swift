import Foundation
import Generation
import Models
import Tensors
import Training

/// Model-level speed, with the shapes of `bench/torch_baseline.py` so the numbers sit beside
/// PyTorch's: tiny-Llama training and batched sampling, SmolLM2 prefill and batch-1 decode.
enum ModelBenchmarks {
    /// The baseline's tiny Llama: 4 layers, width 256, 8 heads (4 KV), MLP 688, vocabulary 512.
    static func tinyLlama(seed: UInt64 = 0) -> CausalLM {
        CausalLM(
            config: .llama(
                vocabSize: 512, hiddenSize: 256, intermediateSize: 688, layers: 4, heads: 8, kvHeads: 4,
                maxPositions: 1024, normEps: 1e-5, ropeTheta: 10_000, tieWordEmbeddings: false),
            rng: RNG(seed: seed))
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Training tokens/s: batch 8 × 256 tokens, next-token cross-entropy, backward, AdamW (lr 1e-4);
    /// two warm-up steps, then six timed.
    static func training(batch: Int = 8, length: Int = 256, steps: Int = 6) throws -> [String: Any] {
        let model = tinyLlama()
        var rng = RNG(seed: 1)
        let ids = (0..<(batch * length)).map { _ in rng.int(below: 512) }
        let targets = (0..<(batch * length)).map { i in i % length == length - 1 ? -100 : ids[i + 1] }
        let optimizer = AdamW(parameters: model.parameters().map(\.tensor), learningRate: 1e-4)
        var forwardBackward = 0.0
        func step() throws {
            forwardBackward += try seconds {
                let loss = try crossEntropy(model.logits(ids: ids, batch: batch, length: length), targets: targets)
                try loss.backward()
            }
            optimizer.step()
            model.zeroGrad()
        }
        try step()
        try step()
        forwardBackward = 0
        let elapsed = try seconds { for _ in 0..<steps { try step() } }
        return [
            "model": "tiny-llama", "parameters": model.parameterCount, "batch": batch, "sequence": length,
            "train_tokens_per_s": Double(batch * length * steps) / elapsed,
            "forward_backward_share": forwardBackward / elapsed,
        ]
    }

    /// Batched sampling tokens/s: 8 prompts of 32 random tokens, 128 new tokens each, temperature 1;
    /// with Float32 weights (as transformers' `generate` in the baseline) and with bfloat16 copies
    /// (half the bytes read per step; Float32 activations).
    static func sampling(batch: Int = 8, prompt: Int = 32, newTokens: Int = 128) throws -> [String: Any] {
        let model = tinyLlama()
        var rng = RNG(seed: 2)
        let prompts = (0..<batch).map { _ in (0..<prompt).map { _ in rng.int(below: 512) } }
        // Four runs timed together: one run takes a tenth of a second, less than the baseline's
        // one run, and a busy neighbour on the machine can halve it.
        func tokensPerSecond() throws -> Double {
            _ = try generate(model: model, prompts: prompts, params: SamplingParams(maxNewTokens: 8), rng: RNG(seed: 3))
            var produced = 0
            let elapsed = try seconds {
                for run in 0..<4 {
                    let out = try generate(
                        model: model, prompts: prompts, params: SamplingParams(maxNewTokens: newTokens),
                        rng: RNG(seed: 4 + UInt64(run)))
                    produced += out.reduce(0) { $0 + $1.tokens.count }
                }
            }
            return Double(produced) / elapsed
        }
        let float32 = try tokensPerSecond()
        try model.packForDecoding(.bf16)
        let bfloat16 = try tokensPerSecond()
        return [
            "model": "tiny-llama", "batch": batch, "prompt": prompt, "new_tokens": newTokens,
            "generate_tokens_per_s": float32, "generate_bf16_weights_tokens_per_s": bfloat16,
        ]
    }

    /// The SmolLM2 GGUF (``CausalLM/smolLM2Path``), or nil when it is not there.
    static func smolLM2Path() -> String? {
        let path = CausalLM.smolLM2Path.path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// SmolLM2-135M prefill (128 tokens, logits at every position) and batch-1 greedy decode
    /// (16-token prompt, 64 new tokens) tokens/s, decoding from the GGUF's Q4_1 / Q8_0 blocks.
    static func smolLM2(prefill: Int = 128, prompt: Int = 16, newTokens: Int = 64) throws -> [String: Any] {
        guard let path = smolLM2Path() else {
            return ["skipped": "no SmolLM2 GGUF: run scripts/fetch-smollm2 or set RLHF_SMOLLM2_GGUF"]
        }
        var model: CausalLM!
        let loadTime = try seconds { model = try CausalLM.load(gguf: URL(fileURLWithPath: path)) }
        var rng = RNG(seed: 5)
        let ids = (0..<prefill).map { _ in rng.int(below: model.config.vocabSize) }
        func prefillOnce() throws {
            try Tensor.withNoGrad {
                let cache = model.makeCache(batch: 1, capacity: prefill)
                _ = try model.logits(ids: ids, batch: 1, length: prefill, cache: cache)
            }
        }
        try prefillOnce()
        let prefillTime = try seconds { try prefillOnce() }

        let greedy = SamplingParams.greedy(maxNewTokens: newTokens)
        let short = Array(ids.prefix(prompt))
        _ = try generate(model: model, prompts: [short], params: .greedy(maxNewTokens: 4), rng: RNG(seed: 0))
        let decodeTime = try seconds { _ = try generate(model: model, prompts: [short], params: greedy, rng: RNG(seed: 0)) }

        // Float32 decoding for comparison: the same model without its packed blocks.
        let float32 = model.copy(requiresGrad: false)
        try float32.packForDecoding(.f32)
        _ = try generate(model: float32, prompts: [short], params: .greedy(maxNewTokens: 4), rng: RNG(seed: 0))
        let float32Time = try seconds { _ = try generate(model: float32, prompts: [short], params: greedy, rng: RNG(seed: 0)) }
        return [
            "model": "SmolLM2-135M-Instruct.Q4_1", "load_seconds": loadTime,
            "prefill_tokens": prefill, "smollm2_prefill_tokens_per_s": Double(prefill) / prefillTime,
            "decode_new_tokens": newTokens, "smollm2_decode_tokens_per_s_batch1": Double(newTokens) / decodeTime,
            "decode_bytes_per_token": model.decodeBytesPerToken,
            "float32_decode_tokens_per_s_batch1": Double(newTokens) / float32Time,
            "float32_decode_bytes_per_token": float32.decodeBytesPerToken,
        ]
    }
}
