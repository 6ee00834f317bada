// The tiny Llama and GPT-2 fixtures: transformers' logits, loss, hidden states and per-parameter
// gradient norms for weights stored in safetensors (Tests/Fixtures/reference/tiny_*.json), and a
// save/load round trip that keeps every bit.

import FixtureSupport
import Foundation
import Models
import Tensors
import Testing
import WeightFiles

/// The model fixtures, by file name.
let modelFixtureNames = ["tiny_llama.json", "tiny_gpt2.json"]

/// A fixture file and the model its files describe.
struct LoadedModelFixture {
    let fixture: Fixture
    let model: CausalLM
    let ids: [Int]
    let batch: Int
    let length: Int

    init(_ url: URL) throws {
        fixture = try Fixtures.load(url)
        let folder = url.deletingLastPathComponent()
        let weights = folder.appendingPathComponent(try fixture.params.string("weights_file"))
        let config = folder.appendingPathComponent(try fixture.params.string("config_file"))
        model = try CausalLM.load(weights, configFile: config)
        let input = try fixture.inputs.array("input_ids")
        ids = input.ints
        batch = input.shape[0]
        length = input.shape[1]
    }
}

/// Every copy of every model fixture (bundled, then `RLHF_REFERENCE_DIR`), as test arguments.
let modelFixtureCases = modelFixtureNames.flatMap { ReferenceCase.all($0, casesUnder: nil) }

/// Targets for `model(input_ids, labels=input_ids)`: each token predicts the next; the last has none.
func nextTokenTargets(_ ids: [Int], batch: Int, length: Int) -> [Int] {
    (0..<(batch * length)).map { i in i % length == length - 1 ? -100 : ids[i + 1] }
}

func l2(_ values: [Float]) -> Double { values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }

@Suite struct ReferenceModelTests {
    @Test(arguments: modelFixtureCases)
    func logitsLossAndGradientNormsMatchTransformers(_ c: ReferenceCase) throws {
        try c.check(tolerances: ["loss": Tolerance(rtol: 1e-4, atol: 0), "grad_norms": Tolerance(rtol: 1e-4, atol: 1e-7)]) { _ in
            let f = try LoadedModelFixture(c.url)
            var captured: [String: Tensor] = [:]
            f.model.activationHook = { name, tensor in captured[name] = tensor }
            let hidden = try f.model.forward(ids: f.ids, batch: f.batch, length: f.length)
            let logits = try f.model.logits(hidden)
            #expect(logits.shape == (try f.fixture.expected.array("logits").shape))

            // HF output_hidden_states for row 0: embeddings, after the first block, after the final norm.
            // (GPT-2's first state is wte + wpe: the hook reports the embeddings after the addition.)
            let per = f.length * f.model.config.hiddenSize
            let llama = f.model.config.family == .llama
            let sources = [
                captured[llama ? "model.embed_tokens" : "transformer.wte"], captured[llama ? "model.layers.0" : "transformer.h.0"], hidden,
            ]
            let states = try sources.map { try #require($0, "activation hook missed a layer").data[0..<per] }.flatMap { $0 }

            let loss = try crossEntropy(logits, targets: nextTokenTargets(f.ids, batch: f.batch, length: f.length))
            try loss.backward()
            // Every parameter must have a gradient norm and the names must be named_parameters()'s.
            var outputs: [String: any ReferenceValue] = ["logits": logits, "hidden_states_seq0": states, "loss": loss]
            for (name, tensor) in f.model.parameters() { outputs["grad_norms.\(name)"] = tensor.grad.map { l2($0.data) } }
            return outputs
        }
    }

    @Test(arguments: modelFixtureCases)
    func parameterOrderIsNamedParametersOrder(_ c: ReferenceCase) throws {
        let f = try LoadedModelFixture(c.url)
        let names = f.model.parameters().map(\.name)
        if f.model.config.family == .llama {
            #expect(names.first == "model.embed_tokens.weight")
            #expect(Array(names[1...4]) == ["q_proj", "k_proj", "v_proj", "o_proj"].map { "model.layers.0.self_attn.\($0).weight" })
            #expect(names.suffix(2) == ["model.norm.weight", "lm_head.weight"])
        } else {
            #expect(
                Array(names.prefix(4)) == [
                    "transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias",
                ])
            #expect(names.suffix(2) == ["transformer.ln_f.weight", "transformer.ln_f.bias"])
        }
    }

    @Test(arguments: modelFixtureCases)
    func saveAndReloadIsBitExact(_ c: ReferenceCase) throws {
        let f = try LoadedModelFixture(c.url)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("models-roundtrip-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try f.model.save(to: folder)
        let reloaded = try CausalLM.load(folder)
        #expect(reloaded.config == f.model.config)
        for ((name, a), (_, b)) in zip(f.model.parameters(), reloaded.parameters()) {
            #expect(a.data.map(\.bitPattern) == b.data.map(\.bitPattern), "\(name) changed in the round trip")
        }
        // The written file holds exactly the original file's tensors.
        let original = try SafetensorsFile(url: c.url.deletingLastPathComponent().appendingPathComponent(try f.fixture.params.string("weights_file")))
        let written = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        let expectedNames = Set(original.names).subtracting(f.model.config.tieWordEmbeddings ? ["lm_head.weight"] : [])
        #expect(Set(written.names) == expectedNames)
        for name in expectedNames {
            #expect(try written.rawBytes(name) == original.rawBytes(name), "\(name) bytes differ")
        }
        // And the config reads back as transformers wrote it.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any]
        #expect(json?["model_type"] as? String == f.model.config.family.rawValue)
    }
}

@Suite struct ModelConfigTests {
    @Test func unknownArchitectureIsAClearError() throws {
        let json = #"{"model_type": "mamba", "vocab_size": 10, "hidden_size": 8}"#
        let error = #expect(throws: ModelError.self) { try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8)) }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("mamba") && text.contains("llama") && text.contains("gpt2"), "\(text)")
    }

    @Test func unknownArchitectureNamesTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("models-arch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let json =
            #"{"model_type": "llama", "architectures": ["MistralForCausalLM"], "vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}"#
        try Data(json.utf8).write(to: folder.appendingPathComponent("config.json"))
        try Data().write(to: folder.appendingPathComponent("model.safetensors"))
        do {
            _ = try CausalLM.load(folder)
            Issue.record("loading a Mistral config should fail")
        } catch {
            let text = "\(error)"
            #expect(text.contains("MistralForCausalLM") && text.contains("config.json") && text.contains("LlamaForCausalLM"), "\(text)")
        }
    }

    @Test func missingWeightNamesIt() throws {
        let config = ModelConfig.llama(vocabSize: 16, hiddenSize: 8, intermediateSize: 16, layers: 1, heads: 2)
        let model = CausalLM(config: config, rng: RNG(seed: 1))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("models-missing-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.save(to: folder)
        var tensors: [String: SafetensorsTensor] = [:]
        for (name, t) in model.parameters() where name != "model.norm.weight" {
            tensors[name] = SafetensorsTensor(shape: t.shape, values: t.data)
        }
        try SafetensorsFile.write(tensors, to: folder.appendingPathComponent("model.safetensors"))
        do {
            _ = try CausalLM.load(folder)
            Issue.record("a missing weight should fail")
        } catch {
            #expect("\(error)".contains("model.norm.weight"), "\(error)")
        }
    }

    @Test func configRoundTripsThroughJSON() throws {
        for config in [
            ModelConfig.llama(vocabSize: 100, hiddenSize: 32, intermediateSize: 64, layers: 2, heads: 4, kvHeads: 2, ropeTheta: 100_000),
            ModelConfig.gpt2(vocabSize: 100, hiddenSize: 32, layers: 2, heads: 4),
        ] {
            let decoded = try JSONDecoder().decode(ModelConfig.self, from: config.jsonData())
            #expect(decoded == config)
        }
    }

    @Test func parameterCountMatchesTheTensors() {
        for config in [
            ModelConfig.llama(vocabSize: 50, hiddenSize: 32, intermediateSize: 64, layers: 2, heads: 4, kvHeads: 2),
            ModelConfig.gpt2(vocabSize: 50, hiddenSize: 32, layers: 2, heads: 4, maxPositions: 64),
        ] {
            let model = CausalLM(config: config, rng: RNG(seed: 0))
            #expect(model.parameterCount == config.parameterCount)
        }
    }
}
