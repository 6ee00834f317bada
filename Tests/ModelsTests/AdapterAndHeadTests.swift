// LoRA (PEFT names and initialisation, only adapters train, merge), frozen copies, scalar heads
// (reward read at the last real token, critic values per token, save/load), and packed rows.

import Foundation
import Models
import Tensors
import Testing
import WeightFiles

func smallLlama(seed: UInt64 = 1) -> CausalLM {
    CausalLM(
        config: .llama(vocabSize: 40, hiddenSize: 32, intermediateSize: 64, layers: 2, heads: 4, kvHeads: 2, initializerRange: 0.2),
        rng: RNG(seed: seed))
}

func smallGPT2(seed: UInt64 = 1) -> CausalLM {
    CausalLM(config: .gpt2(vocabSize: 40, hiddenSize: 32, layers: 2, heads: 4, maxPositions: 64, initializerRange: 0.2), rng: RNG(seed: seed))
}

let sampleIDs = [3, 17, 5, 22, 9, 1, 30, 8, 12, 4, 39, 0]

func bitsEqual(_ a: [Float], _ b: [Float]) -> Bool { a.map(\.bitPattern) == b.map(\.bitPattern) }

@Suite struct LoRATests {
    @Test func adaptersUsePEFTNamesAndStartAsTheBaseModel() throws {
        let model = smallLlama()
        let before = try model.logits(ids: sampleIDs, batch: 2, length: 6).data
        try model.enableLoRA(LoRAConfig(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"]), rng: RNG(seed: 9))
        let names = model.trainableParameters().map(\.name)
        #expect(names.count == 2 * 2 * 2)
        #expect(names.contains("model.layers.0.self_attn.q_proj.lora_A.weight"))
        #expect(names.contains("model.layers.1.self_attn.v_proj.lora_B.weight"))
        #expect(model.parameter("model.layers.0.self_attn.q_proj.lora_A.weight")?.shape == [4, 32])
        #expect(model.parameter("model.layers.0.self_attn.v_proj.lora_B.weight")?.shape == [16, 4])
        // B starts at zero: the outputs do not change. A is U(-1/√in, 1/√in).
        #expect(bitsEqual(try model.logits(ids: sampleIDs, batch: 2, length: 6).data, before))
        let a = model.parameter("model.layers.0.self_attn.q_proj.lora_A.weight")!.data
        #expect(a.allSatisfy { abs($0) <= 1 / Float(32).squareRoot() } && Set(a).count > 100)
    }

    @Test func onlyAdaptersGetGradientsAndMergeKeepsTheOutputs() throws {
        for model in [smallLlama(), smallGPT2()] {
            let targets = model.config.family == .llama ? ["q_proj", "k_proj", "v_proj", "down_proj"] : ["c_attn", "c_fc"]
            try model.enableLoRA(LoRAConfig(rank: 2, alpha: 4, targetModules: targets), rng: RNG(seed: 3))
            // Move B off zero so the adapters matter.
            for (name, t) in model.parameters() where name.hasSuffix("lora_B.weight") {
                var rng = RNG(seed: UInt64(name.count))
                t.data = t.data.map { _ in 0.1 * rng.normal() }
            }
            let loss = try crossEntropy(model.logits(ids: sampleIDs, batch: 2, length: 6), targets: sampleIDs.map { ($0 + 1) % 40 })
            try loss.backward()
            for (name, t) in model.parameters() {
                #expect((t.grad != nil) == name.contains("lora_"), "\(name)")
            }
            let adapted = try Tensor.withNoGrad { try model.logits(ids: sampleIDs, batch: 2, length: 6).data }
            try model.mergeLoRA()
            #expect(!model.hasLoRA && model.parameters().allSatisfy { !$0.name.contains("lora_") && $0.tensor.requiresGrad })
            let merged = try Tensor.withNoGrad { try model.logits(ids: sampleIDs, batch: 2, length: 6).data }
            #expect(zip(adapted, merged).allSatisfy { abs($0 - $1) <= 1e-4 * (1 + abs($1)) }, "\(model.config.family)")
        }
    }

    /// PEFT's adapter files: the adapters alone, under PEFT's names, load back onto the base model.
    @Test func adapterFilesRoundTripAsPEFTWritesThem() throws {
        for (base, targets) in [(smallLlama(), ["q_proj", "v_proj"]), (smallGPT2(), ["c_attn"])] {
            let model = base.copy()
            try model.enableLoRA(LoRAConfig(rank: 2, alpha: 6, dropout: 0.05, targetModules: targets), rng: RNG(seed: 3))
            for (name, t) in model.parameters() where name.hasSuffix("lora_B.weight") {
                var rng = RNG(seed: UInt64(name.count))
                t.data = t.data.map { _ in 0.1 * rng.normal() }
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("adapter-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            try model.saveAdapter(to: directory)

            let config =
                try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("adapter_config.json"))) as! [String: Any]
            #expect(config["peft_type"] as? String == "LORA" && config["r"] as? Int == 2 && config["lora_alpha"] as? Double == 6)
            #expect(config["target_modules"] as? [String] == targets && config["fan_in_fan_out"] as? Bool == (base.config.family == .gpt2))
            let file = try SafetensorsFile(url: directory.appendingPathComponent("adapter_model.safetensors"))
            #expect(file.tensors.count == 2 * 2 * targets.count)
            #expect(file.tensors.keys.allSatisfy { $0.hasPrefix("base_model.model.") && $0.contains(".lora_") })

            let loaded = base.copy()
            try loaded.loadAdapter(from: directory, rng: RNG(seed: 0))
            let expected = try Tensor.withNoGrad { try model.logits(ids: sampleIDs, batch: 2, length: 6).data }
            #expect(bitsEqual(try Tensor.withNoGrad { try loaded.logits(ids: sampleIDs, batch: 2, length: 6).data }, expected))
            #expect(loaded.trainableParameters().allSatisfy { $0.name.contains("lora_") })

            // Loading twice, from a folder without adapter files, or files that do not fit says what
            // is wrong, and leaves the model as it was.
            #expect(throws: ModelError.invalidInput("loadAdapter: the model already has LoRA adapters")) {
                try loaded.loadAdapter(from: directory, rng: RNG(seed: 0))
            }
            #expect(throws: ModelError.self) { try base.copy().loadAdapter(from: FileManager.default.temporaryDirectory, rng: RNG(seed: 0)) }
            #expect(throws: ModelError.self) { try base.copy().saveAdapter(to: directory) }
            var edited = config
            edited["r"] = 3
            try JSONSerialization.data(withJSONObject: edited).write(to: directory.appendingPathComponent("adapter_config.json"))
            let untouched = base.copy()
            #expect(throws: ModelError.self) { try untouched.loadAdapter(from: directory, rng: RNG(seed: 0)) }
            #expect(!untouched.hasLoRA && untouched.trainableParameters().count == untouched.parameters().count)
            edited["r"] = 2
            edited["alpha_pattern"] = ["q_proj": 4]
            try JSONSerialization.data(withJSONObject: edited).write(to: directory.appendingPathComponent("adapter_config.json"))
            #expect(throws: ModelError.self) { try untouched.loadAdapter(from: directory, rng: RNG(seed: 0)) }
        }
    }

    @Test func unknownTargetsAreAClearError() {
        let model = smallLlama()
        do {
            try model.enableLoRA(LoRAConfig(targetModules: ["query"]), rng: RNG(seed: 0))
            Issue.record("no layer is called query")
        } catch {
            let text = "\(error)"
            #expect(text.contains("query") && text.contains("q_proj"), "\(text)")
        }
    }

    @Test func dropoutOnlyWhileTraining() throws {
        let model = smallLlama()
        try model.enableLoRA(LoRAConfig(rank: 2, alpha: 2, dropout: 0.5, targetModules: ["q_proj"]), rng: RNG(seed: 1))
        for (name, t) in model.parameters() where name.hasSuffix("lora_B.weight") { t.data = t.data.map { _ in 0.5 } }
        let a = try Tensor.withNoGrad { try model.logits(ids: sampleIDs, batch: 2, length: 6).data }
        let b = try Tensor.withNoGrad { try model.logits(ids: sampleIDs, batch: 2, length: 6).data }
        #expect(bitsEqual(a, b))
        let trainingA = try model.logits(ids: sampleIDs, batch: 2, length: 6).data
        let trainingB = try model.logits(ids: sampleIDs, batch: 2, length: 6).data
        #expect(!bitsEqual(trainingA, trainingB) && !bitsEqual(trainingA, a))
    }
}

@Suite struct FrozenCopyTests {
    @Test func frozenCopyHasTheWeightsAndNoGradients() throws {
        let model = smallGPT2()
        let frozen = model.frozen()
        #expect(frozen.parameters().allSatisfy { !$0.tensor.requiresGrad })
        #expect(bitsEqual(try model.logits(ids: sampleIDs, batch: 1, length: 12).data, try frozen.logits(ids: sampleIDs, batch: 1, length: 12).data))
        // Training the original leaves the copy as it was.
        model.parameters()[0].tensor.data[0] += 1
        #expect(frozen.parameters()[0].tensor.data[0] != model.parameters()[0].tensor.data[0])
        #expect(throws: TensorError.self) { try frozen.logits(ids: sampleIDs, batch: 1, length: 12).sum().backward() }
    }
}

@Suite struct ScalarHeadTests {
    @Test func rewardIsReadAtTheLastRealToken() throws {
        let reward = ScalarModel(kind: .reward, from: smallLlama(), rng: RNG(seed: 2))
        #expect(reward.head.name == "score" && reward.head.weight.shape == [1, 32])
        // Right padding: row 0 has 4 real tokens, row 1 has 6.
        let mask = [true, true, true, true, false, false] + [Bool](repeating: true, count: 6)
        let rewards = try reward.rewards(ids: sampleIDs, batch: 2, length: 6, keyMask: mask)
        let values = try reward.values(ids: sampleIDs, batch: 2, length: 6, keyMask: mask)
        #expect(rewards.shape == [2])
        #expect(rewards.data == [values.data[3], values.data[11]])
        // The reward of a row does not depend on the padding after it.
        let alone = try reward.rewards(ids: Array(sampleIDs[0..<4]), batch: 1, length: 4)
        #expect(abs(alone.data[0] - rewards.data[0]) < 1e-5)
        // Gradients reach the head and the stack through the gathered positions.
        try rewards.sum().backward()
        #expect(reward.head.weight.grad != nil && reward.transformer.tokenEmbedding.grad != nil)
    }

    @Test func criticValuesPerTokenAndRoundTrip() throws {
        let critic = ScalarModel(kind: .critic, from: smallGPT2(), rng: RNG(seed: 4))
        #expect(critic.parameters().last?.name == "value_head.weight")
        let values = try critic.values(ids: sampleIDs, batch: 2, length: 6)
        #expect(values.shape == [2, 6])
        for kind in [ScalarModel.Kind.reward, .critic] {
            let model = kind == .critic ? critic : ScalarModel(kind: .reward, from: smallLlama(), rng: RNG(seed: 5))
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scalar-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            try model.save(to: folder)
            let loaded = try ScalarModel.load(folder)
            #expect(loaded.kind == kind)
            for ((name, a), (_, b)) in zip(model.parameters(), loaded.parameters()) { #expect(bitsEqual(a.data, b.data), "\(name)") }
            if kind == .reward { #expect(loaded.config.architectures == ["LlamaForSequenceClassification"]) }
        }
    }
}

@Suite struct PackedRowTests {
    @Test(arguments: ["llama", "gpt2"])
    func packedSamplesEqualSeparateRuns(family: String) throws {
        let model = family == "llama" ? smallLlama() : smallGPT2()
        // Two samples of 5 and 7 tokens packed in one row: positions restart, no attention across.
        let first = Array(sampleIDs[0..<5]), second = Array(sampleIDs[5..<12])
        let packed = try model.logits(
            ids: first + second, batch: 1, length: 12,
            positions: Array(0..<5) + Array(0..<7), segments: [Int](repeating: 0, count: 5) + [Int](repeating: 1, count: 7))
        let a = try model.logits(ids: first, batch: 1, length: 5).data
        let b = try model.logits(ids: second, batch: 1, length: 7).data
        let worst = zip(packed.data, a + b).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5)
    }
}

@Suite struct ScalarLoRATests {
    @Test func rewardModelWithLoRATrainsAdaptersAndHead() throws {
        let reward = ScalarModel(kind: .reward, from: smallLlama(), rng: RNG(seed: 2))
        try reward.enableLoRA(LoRAConfig(rank: 2, alpha: 4, targetModules: ["q_proj", "k_proj", "v_proj"]), rng: RNG(seed: 3))
        let trainable = reward.trainableParameters().map(\.name)
        #expect(trainable.contains("score.weight") && trainable.contains("model.layers.1.self_attn.k_proj.lora_B.weight"))
        #expect(!trainable.contains("model.embed_tokens.weight"))
        let frozen = reward.frozen()
        #expect(frozen.parameters().map(\.name) == reward.parameters().map(\.name))
        #expect(bitsEqual(try frozen.rewards(ids: sampleIDs, batch: 2, length: 6).data, try reward.rewards(ids: sampleIDs, batch: 2, length: 6).data))
        try reward.rewards(ids: sampleIDs, batch: 2, length: 6).sum().backward()
        #expect(reward.parameters().allSatisfy { ($0.tensor.grad != nil) == ($0.name.contains("lora_") || $0.name == "score.weight") })
    }
}
