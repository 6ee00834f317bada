// Batched sampling: the KV-cache path against a full forward, samples that do not depend on their
// batch neighbours or their place in the batch, stopping rules, and the sampler's distribution.

import FixtureSupport
import Foundation
import Generation
import Models
import Tensors
import Testing

/// Small random models of both families (vocabulary 61: prime, so no id is special by accident).
enum TinyModels {
    static func llama(seed: UInt64 = 7) -> CausalLM {
        CausalLM(
            config: .llama(
                vocabSize: 61, hiddenSize: 32, intermediateSize: 48, layers: 2, heads: 4, kvHeads: 2,
                maxPositions: 128, ropeTheta: 10_000, initializerRange: 0.2),
            rng: RNG(seed: seed))
    }

    static func gpt2(seed: UInt64 = 7) -> CausalLM {
        CausalLM(
            config: .gpt2(vocabSize: 61, hiddenSize: 32, layers: 2, heads: 4, maxPositions: 128, initializerRange: 0.2),
            rng: RNG(seed: seed))
    }

    static let all: [(String, () -> CausalLM)] = [("llama", { llama() }), ("gpt2", { gpt2() })]
    static let names = all.map(\.0)
    static func named(_ name: String) -> CausalLM { all.first { $0.0 == name }!.1() }
}

/// Prompts of different lengths over the tiny vocabulary.
let tinyPrompts: [[Int]] = [[3, 14, 15, 9, 2, 6, 5], [35, 8], [9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4], [1]]

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

@Suite struct KVCacheTests {
    @Test(arguments: TinyModels.names)
    func cachedDecodeGivesTheLogitsOfAFullForward(family: String) throws {
        let model = TinyModels.named(family)
        let ids = tinyPrompts[2]
        let t = ids.count, v = model.config.vocabSize
        try Tensor.withNoGrad {
            let full = try model.logits(ids: ids, batch: 1, length: t)
            // Prefill four tokens, then one at a time.
            let cache = model.makeCache(batch: 1, capacity: t)
            var cached = try model.logits(ids: Array(ids[0..<4]), batch: 1, length: 4, cache: cache).data
            for i in 4..<t { cached += try model.logits(ids: [ids[i]], batch: 1, length: 1, cache: cache).data }
            #expect(cached.count == t * v)
            let worst = maxDifference(cached, full.data)
            #expect(worst < 1e-5, "cached logits differ from the full forward by \(worst)")
        }
    }

    @Test(arguments: TinyModels.names)
    func leftPaddedBatchGivesEachRowsLogits(family: String) throws {
        let model = TinyModels.named(family)
        let prompts = [tinyPrompts[0], tinyPrompts[1]]
        let t = prompts.map(\.count).max()!, v = model.config.vocabSize
        try Tensor.withNoGrad {
            // One left-padded prefill of both rows through the cache, then one decode step.
            var ids: [Int] = [], mask: [Bool] = []
            for p in prompts {
                ids += [Int](repeating: 0, count: t - p.count) + p
                mask += [Bool](repeating: false, count: t - p.count) + [Bool](repeating: true, count: p.count)
            }
            let cache = model.makeCache(batch: 2, capacity: t + 1)
            let prefill = try model.logits(ids: ids, batch: 2, length: t, keyMask: mask, cache: cache)
            let step = try model.logits(ids: [4, 11], batch: 2, length: 1, cache: cache)
            for (row, p) in prompts.enumerated() {
                let alone = try model.logits(ids: p + [row == 0 ? 4 : 11], batch: 1, length: p.count + 1)
                let lastPrompt = Array(prefill.data[((row * t + t - 1) * v)..<((row * t + t) * v)])
                #expect(maxDifference(lastPrompt, Array(alone.data[((p.count - 1) * v)..<(p.count * v)])) < 1e-5)
                let next = Array(step.data[(row * v)..<((row + 1) * v)])
                #expect(maxDifference(next, Array(alone.data[(p.count * v)...])) < 1e-5)
            }
        }
    }

    /// Decoding with packed copies computes with exactly the packed values; after an optimizer
    /// step the copies are made again from the new weights.
    @Test(arguments: [PackedFormat.q8_0, .bf16])
    func packedDecodeWeightsFollowTraining(format: PackedFormat) throws {
        let model = TinyModels.llama()
        let ids = tinyPrompts[0]
        func decoded() throws -> [Float] {
            let cache = model.makeCache(batch: 1, capacity: ids.count)
            return try Tensor.withNoGrad {
                var out = try model.logits(ids: [ids[0]], batch: 1, length: 1, cache: cache).data
                for token in ids.dropFirst() { out += try model.logits(ids: [token], batch: 1, length: 1, cache: cache).data }
                return out
            }
        }
        /// The full forward of a copy whose weights are the packed values.
        func packedForward() throws -> [Float] {
            let copy = model.copy()
            for layer in copy.linearLayers {
                if let packed = layer.packed, packed.format == format { layer.weight.data = packed.dequantized() }
            }
            return try Tensor.withNoGrad { try copy.logits(ids: ids, batch: 1, length: ids.count).data }
        }
        let reference = try Tensor.withNoGrad { try model.logits(ids: ids, batch: 1, length: ids.count).data }
        try model.packForDecoding(format)
        let first = try decoded()
        #expect(maxDifference(first, reference) > 0)
        #expect(model.linearLayers.allSatisfy { $0.packed?.format == format || (format == .q8_0 && $0.inFeatures % 32 != 0) })
        #expect(maxDifference(first, try packedForward()) < 1e-4)

        // An optimizer step changes every weight: the next decode packs the new weights.
        for layer in model.linearLayers { layer.weight.data = layer.weight.data.map { $0 * 1.01 } }
        let second = try decoded()
        #expect(maxDifference(second, first) > 1e-3)
        #expect(maxDifference(second, try packedForward()) < 1e-4)

        // Float32 again: exact.
        try model.packForDecoding(.f32)
        let exact = try Tensor.withNoGrad { try model.logits(ids: ids, batch: 1, length: ids.count).data }
        #expect(maxDifference(try decoded(), exact) < 1e-5)
    }
}

@Suite struct GenerateTests {
    let params = SamplingParams(temperature: 1.3, topP: 0.95, topK: 40, maxNewTokens: 12)

    @Test(arguments: TinyModels.names)
    func sameStreamsGiveTheSameSamplesInAnyBatchOrder(family: String) throws {
        let model = TinyModels.named(family)
        let rng = RNG(seed: 42)
        let streams = tinyPrompts.indices.map { rng.fork("sample \($0)") }
        let forward = try generate(model: model, prompts: tinyPrompts, params: params, streams: streams)
        let order = [2, 0, 3, 1]
        let shuffled = try generate(
            model: model, prompts: order.map { tinyPrompts[$0] }, params: params,
            streams: order.map { streams[$0] })
        for (position, i) in order.enumerated() {
            #expect(shuffled[position] == forward[i], "sample \(i) changed when the batch was reordered")
        }
        // The convenience form forks by index: the same seed gives the same samples.
        let again = try generate(model: model, prompts: tinyPrompts, params: params, rng: rng)
        #expect(again == (try generate(model: model, prompts: tinyPrompts, params: params, rng: rng)))
    }

    @Test(arguments: TinyModels.names)
    func batchOfDifferentLengthsEqualsEachPromptAlone(family: String) throws {
        let model = TinyModels.named(family)
        let rng = RNG(seed: 3)
        let streams = tinyPrompts.indices.map { rng.fork($0) }
        let batched = try generate(model: model, prompts: tinyPrompts, params: params, streams: streams)
        for i in tinyPrompts.indices {
            let alone = try generate(model: model, prompts: [tinyPrompts[i]], params: params, streams: [streams[i]])
            #expect(alone[0] == batched[i], "prompt \(i) alone: \(alone[0].tokens), in the batch: \(batched[i].tokens)")
        }
        let greedy = SamplingParams.greedy(maxNewTokens: 10)
        let batchedGreedy = try generate(model: model, prompts: tinyPrompts, params: greedy, rng: rng)
        for i in tinyPrompts.indices {
            #expect(try generate(model: model, prompts: [tinyPrompts[i]], params: greedy, rng: rng)[0] == batchedGreedy[i])
        }
    }

    @Test func greedyFollowsTheFullForwardArgmax() throws {
        let model = TinyModels.llama()
        var ids = tinyPrompts[0]
        let out = try generate(model: model, prompts: [ids], params: .greedy(maxNewTokens: 6), rng: RNG(seed: 0))[0]
        try Tensor.withNoGrad {
            for (k, token) in out.tokens.enumerated() {
                let logits = try model.logits(ids: ids, batch: 1, length: ids.count)
                let v = model.config.vocabSize
                let last = Array(logits.data[((ids.count - 1) * v)...])
                let best = last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }!
                #expect(token == best, "step \(k)")
                let logZ = Foundation.log(last.reduce(0.0) { $0 + Foundation.exp(Double($1 - last[best])) }) + Double(last[best])
                #expect(abs(Double(out.logProbs[k]) - (Double(last[token]) - logZ)) < 1e-4)
                ids.append(token)
            }
        }
    }

    @Test func stopTokensStopSequencesAndLength() throws {
        let model = TinyModels.llama()
        let prompt = tinyPrompts[0]
        let free = try generate(model: model, prompts: [prompt], params: .greedy(maxNewTokens: 8), rng: RNG(seed: 0))[0]
        #expect(free.tokens.count == 8 && free.finishReason == .length)

        let stopToken = free.tokens[3]
        let firstIndex = free.tokens.firstIndex(of: stopToken)!
        let eos = try generate(model: model, prompts: [prompt], params: .greedy(maxNewTokens: 8, stopTokenIDs: [stopToken]), rng: RNG(seed: 0))[0]
        #expect(eos.tokens == Array(free.tokens[0...firstIndex]) && eos.finishReason == .eos)

        var params = SamplingParams.greedy(maxNewTokens: 8)
        params.stopSequences = [Array(free.tokens[4...5])]
        let stopped = try generate(model: model, prompts: [prompt], params: params, rng: RNG(seed: 0))[0]
        #expect(stopped.finishReason == .stop)
        #expect(Array(stopped.tokens.suffix(2)) == Array(free.tokens[4...5]))
        #expect(stopped.tokens.count <= 6)
    }

    @Test func finishedRowsLeaveWithoutChangingTheOthers() throws {
        let model = TinyModels.gpt2()
        let rng = RNG(seed: 11)
        let free = try generate(model: model, prompts: tinyPrompts, params: .greedy(maxNewTokens: 9), rng: rng)
        // Stop the first sample early; the others must not change.
        let stopToken = free[0].tokens[1]
        let stopped = try generate(model: model, prompts: tinyPrompts, params: .greedy(maxNewTokens: 9, stopTokenIDs: [stopToken]), rng: rng)
        for i in tinyPrompts.indices {
            let cut = free[i].tokens.firstIndex(of: stopToken).map { Array(free[i].tokens[0...$0]) } ?? free[i].tokens
            #expect(stopped[i].tokens == cut)
        }
    }

    @Test func badInputsAreErrorsNotCrashes() throws {
        let model = TinyModels.llama()
        #expect(throws: GenerationError.self) { try generate(model: model, prompts: [[]], params: SamplingParams(), rng: RNG(seed: 0)) }
        #expect(throws: GenerationError.self) { try generate(model: model, prompts: [[999]], params: SamplingParams(), rng: RNG(seed: 0)) }
        #expect(throws: GenerationError.self) { try generate(model: model, prompts: [[1]], params: SamplingParams(topP: 0), rng: RNG(seed: 0)) }
        let gpt2 = TinyModels.gpt2()
        #expect(throws: ModelError.self) { try generate(model: gpt2, prompts: [[1]], params: .greedy(maxNewTokens: 200), rng: RNG(seed: 0)) }
    }
}

@Suite struct SamplerTests {
    let logits: [Float] = [2.0, 1.0, 0.5, -1.0, 3.0, 0.0]

    func frequencies(_ params: SamplingParams, draws: Int = 20_000) -> [Double] {
        var rng = RNG(seed: 5)
        var counts = [Double](repeating: 0, count: logits.count)
        logits.withUnsafeBufferPointer { p in
            for _ in 0..<draws { counts[TokenSampler.choose(p, params: params, rng: &rng).token] += 1 }
        }
        return counts.map { $0 / Double(draws) }
    }

    func softmax(_ x: [Float], temperature: Float = 1) -> [Double] {
        let m = Double(x.max()!) / Double(temperature)
        let e = x.map { Foundation.exp(Double($0) / Double(temperature) - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    @Test func temperatureSamplingFollowsTheSoftmax() {
        let expected = softmax(logits, temperature: 0.8)
        let seen = frequencies(SamplingParams(temperature: 0.8))
        for i in logits.indices { #expect(abs(seen[i] - expected[i]) < 0.015, "token \(i): \(seen[i]) vs \(expected[i])") }
    }

    @Test func topKAndTopPTruncate() {
        let top2 = frequencies(SamplingParams(topK: 2))
        #expect(top2[4] + top2[0] == 1)
        let p = softmax(logits)
        #expect(abs(top2[4] - p[4] / (p[4] + p[0])) < 0.015)
        // Probabilities: token 4 0.605, token 0 0.223, token 1 0.082, the rest 0.090.
        #expect(frequencies(SamplingParams(topP: 0.5))[4] == 1)
        let two = frequencies(SamplingParams(topP: 0.8))
        #expect(two[4] + two[0] == 1)
        let three = frequencies(SamplingParams(topP: 0.85))
        #expect(three[4] + three[0] + three[1] == 1 && three[1] > 0)
    }

    @Test func logProbIsAtTheSamplingTemperatureBeforeTruncation() {
        var rng = RNG(seed: 1)
        let expected = softmax(logits, temperature: 2)
        logits.withUnsafeBufferPointer { p in
            let (token, logProb) = TokenSampler.choose(p, params: SamplingParams(temperature: 2, topK: 1), rng: &rng)
            #expect(token == 4)
            #expect(abs(Double(logProb) - Foundation.log(expected[4])) < 1e-6)
        }
    }
}

@Suite struct LeftPaddingTests {
    @Test(arguments: TinyModels.names)
    func leftPaddedForwardGivesEachRowsLogitsWithoutACache(family: String) throws {
        let model = TinyModels.named(family)
        let prompts = [tinyPrompts[0], tinyPrompts[1]]
        let t = prompts.map(\.count).max()!, v = model.config.vocabSize
        var ids: [Int] = [], mask: [Bool] = []
        for p in prompts {
            ids += [Int](repeating: 0, count: t - p.count) + p
            mask += [Bool](repeating: false, count: t - p.count) + [Bool](repeating: true, count: p.count)
        }
        // Positions default to each row's real-token count, so padding does not shift them.
        let padded = try model.logits(ids: ids, batch: 2, length: t, keyMask: mask)
        for (row, p) in prompts.enumerated() {
            let alone = try model.logits(ids: p, batch: 1, length: p.count)
            let tail = Array(padded.data[((row * t + t - p.count) * v)..<((row + 1) * t * v)])
            #expect(maxDifference(tail, alone.data) < 1e-5)
        }
    }
}

@Suite struct LoRAGenerationTests {
    @Test func adaptedModelSamplesDoNotDependOnTheBatch() throws {
        let model = TinyModels.llama()
        try model.enableLoRA(LoRAConfig(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "down_proj"]), rng: RNG(seed: 1))
        for (name, t) in model.parameters() where name.hasSuffix("lora_B.weight") {
            var rng = RNG(seed: UInt64(name.count))
            t.data = t.data.map { _ in 0.2 * rng.normal() }
        }
        // The cached path adds the adapter as the full forward does.
        let ids = tinyPrompts[2]
        let full = try Tensor.withNoGrad { try model.logits(ids: ids, batch: 1, length: ids.count).data }
        let cache = model.makeCache(batch: 1, capacity: ids.count)
        let cached = try Tensor.withNoGrad { try ids.flatMap { try model.logits(ids: [$0], batch: 1, length: 1, cache: cache).data } }
        #expect(maxDifference(cached, full) < 1e-5)
        let params = SamplingParams(temperature: 1, maxNewTokens: 10)
        let rng = RNG(seed: 8)
        let batched = try generate(model: model, prompts: tinyPrompts, params: params, rng: rng)
        for i in tinyPrompts.indices {
            #expect(try generate(model: model, prompts: [tinyPrompts[i]], params: params, streams: [rng.fork(i)])[0] == batched[i])
        }
    }
}
