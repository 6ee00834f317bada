import Foundation
import Tensors
import WeightFiles

// LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"), as PEFT implements it:
//
//     y = W x + b + (alpha / r) · B A dropout(x)        A [r, in], B [out, r]
//
// A starts as PEFT's kaiming_uniform_(a = √5), i.e. U(−1/√in, 1/√in); B starts at zero, so the
// adapted model starts equal to the base model. Parameters are named as PEFT names them inside the
// base model: `model.layers.0.self_attn.q_proj.lora_A.weight`.

/// Which linear layers get LoRA adapters, and their size.
public struct LoRAConfig: Codable, Equatable, Sendable {
    /// `r`: the rank of the update.
    public var rank: Int
    /// `lora_alpha`: the update is scaled by `alpha / rank`.
    public var alpha: Float
    /// `lora_dropout`: dropout on the adapter's input while training (gradients enabled).
    public var dropout: Float
    /// `target_modules`: a layer matches when its name is one of these or ends in `.` + one of these
    /// (`q_proj`, `v_proj`, `c_attn`, ...).
    public var targetModules: [String]

    /// PEFT's defaults: rank 8, alpha 16 (scaling 2), no dropout, query and value projections.
    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targetModules: [String] = ["q_proj", "v_proj"]) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targetModules = targetModules
    }

    enum CodingKeys: String, CodingKey {
        case rank = "r"
        case alpha = "lora_alpha"
        case dropout = "lora_dropout"
        case targetModules = "target_modules"
    }

    /// Whether the linear layer called `name` is a target.
    public func matches(_ name: String) -> Bool {
        targetModules.contains { name == $0 || name.hasSuffix("." + $0) }
    }
}

/// The low-rank update on one linear layer.
public final class LoRAAdapter {
    /// `<layer>.lora_A.weight`, `[rank, in]`.
    public let a: Tensor
    /// `<layer>.lora_B.weight`, `[out, rank]`.
    public let b: Tensor
    /// `alpha / rank`.
    public let scaling: Float
    /// `lora_dropout`.
    public let dropout: Float
    let layerName: String
    /// Dropout masks come from this stream, one draw per training forward.
    var rng: RNG

    init(layer: Linear, config: LoRAConfig, rng: RNG) {
        layerName = layer.name
        var stream = rng.fork(layer.name + ".lora_A.weight")
        let bound = 1 / Float(layer.inFeatures).squareRoot()
        a = Tensor.uniform([config.rank, layer.inFeatures], low: -bound, high: bound, rng: &stream).requiringGrad()
        a.name = layer.name + ".lora_A.weight"
        b = Tensor.zeros([layer.outFeatures, config.rank], requiresGrad: true)
        b.name = layer.name + ".lora_B.weight"
        scaling = config.alpha / Float(config.rank)
        dropout = config.dropout
        self.rng = rng.fork(layer.name + ".lora_dropout")
    }

    /// A copy with the same values; `requiresGrad` as given.
    init(copying other: LoRAAdapter, requiresGrad: Bool) {
        layerName = other.layerName
        a = Tensor(shape: other.a.shape, data: other.a.data, requiresGrad: requiresGrad, name: other.a.name)
        b = Tensor(shape: other.b.shape, data: other.b.data, requiresGrad: requiresGrad, name: other.b.name)
        scaling = other.scaling
        dropout = other.dropout
        rng = other.rng
    }

    func parameters() -> [(name: String, tensor: Tensor)] {
        [(layerName + ".lora_A.weight", a), (layerName + ".lora_B.weight", b)]
    }

    /// `(alpha / r) · B A dropout(x)`; dropout only while gradients are recorded.
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var input = x
        if dropout > 0 && Tensor.isGradEnabled {
            let keep = 1 - dropout
            var mask = [Float](repeating: 0, count: x.count)
            for i in 0..<mask.count { mask[i] = rng.uniform() < keep ? 1 / keep : 0 }
            input = try x * Tensor(shape: x.shape, data: mask)
        }
        return try linear(linear(input, a), b) * scaling
    }

    /// `(alpha / r) · B A`, `[out, in]`.
    func delta() throws -> [Float] {
        try Tensor.withNoGrad { try matmul(b, a) * scaling }.data
    }
}

/// Adds adapters to the layers of `linears` that `config` targets.
///
/// - Throws: ``ModelError/loraTargetsNotFound(targets:available:)`` when no layer matches.
func addLoRA(_ config: LoRAConfig, to linears: [Linear], rng: RNG) throws {
    guard config.rank > 0 else { throw ModelError.invalidInput("LoRA rank must be positive, got \(config.rank)") }
    let targets = linears.filter { config.matches($0.name) }
    guard !targets.isEmpty else {
        let kinds = Set(linears.map { $0.name.split(separator: ".").last.map(String.init) ?? $0.name })
        throw ModelError.loraTargetsNotFound(targets: config.targetModules, available: kinds.sorted())
    }
    for layer in targets { layer.lora = LoRAAdapter(layer: layer, config: config, rng: rng) }
}

/// Gives each layer of `target` a copy of the adapter of the layer at the same place in `source`.
func copyLoRA(from source: [Linear], to target: [Linear], requiresGrad: Bool) {
    for (from, to) in zip(source, target) {
        to.lora = from.lora.map { LoRAAdapter(copying: $0, requiresGrad: requiresGrad) }
    }
}

extension Linear {
    /// Folds the adapter into the base weight (`W += (alpha/r) B A`, transposed for `Conv1D`) and removes it.
    func mergeLoRA() throws {
        guard let lora else { return }
        let delta = try lora.delta()
        weight.data.withUnsafeMutableBufferPointer { w in
            switch layout {
            case .outputMajor:
                for i in 0..<delta.count { w[i] += delta[i] }
            case .inputMajor:
                for o in 0..<outFeatures { for i in 0..<inFeatures { w[i * outFeatures + o] += delta[o * inFeatures + i] } }
            }
        }
        self.lora = nil
    }
}

// MARK: - PEFT adapter files

extension CausalLM {
    /// Writes the LoRA adapters as PEFT saves them: `adapter_config.json` and
    /// `adapter_model.safetensors` with tensors named `base_model.model.<layer>.lora_A.weight`, so
    /// `PeftModel.from_pretrained(base, directory)` puts them on the base model.
    public func saveAdapter(to directory: URL) throws {
        let adapted = linearLayers.filter { $0.lora != nil }
        guard let first = adapted.first?.lora else {
            throw ModelError.invalidInput("saveAdapter: the model has no LoRA adapters (add them with lora, or save the whole model)")
        }
        let rank = first.a.shape[0]
        let targets = Set(adapted.map { $0.name.split(separator: ".").last.map(String.init) ?? $0.name }).sorted()
        let lora = LoRAConfig(rank: rank, alpha: first.scaling * Float(rank), dropout: first.dropout, targetModules: targets)
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(lora)) as! [String: Any]
        json["peft_type"] = "LORA"
        json["task_type"] = "CAUSAL_LM"
        json["bias"] = "none"
        json["fan_in_fan_out"] = adapted.contains { $0.layout == .inputMajor }  // GPT-2's Conv1D
        json["inference_mode"] = true
        json["use_rslora"] = false
        json["use_dora"] = false
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
            .write(to: directory.appendingPathComponent("adapter_config.json"), options: .atomic)
        var tensors: [String: SafetensorsTensor] = [:]
        for layer in adapted {
            for (name, tensor) in layer.lora!.parameters() {
                tensors["base_model.model." + name] = SafetensorsTensor(shape: tensor.shape, values: tensor.data)
            }
        }
        try SafetensorsFile.write(tensors, to: directory.appendingPathComponent("adapter_model.safetensors"))
    }

    /// Puts adapters saved by ``saveAdapter(to:)`` or by PEFT (plain LoRA: one rank and alpha, no
    /// bias, rsLoRA or DoRA) on this model, which must have none yet; afterwards only the adapters
    /// train. Names, shapes and options are checked before the model changes; `rng` drives dropout.
    public func loadAdapter(from directory: URL, rng: RNG) throws {
        guard !hasLoRA else { throw ModelError.invalidInput("loadAdapter: the model already has LoRA adapters") }
        let configURL = directory.appendingPathComponent("adapter_config.json")
        let weightsURL = directory.appendingPathComponent("adapter_model.safetensors")
        for (url, what) in [(configURL, "a PEFT adapter config"), (weightsURL, "PEFT adapter weights")]
        where !FileManager.default.fileExists(atPath: url.path) {
            throw ModelError.fileNotFound(path: url.path, what: what)
        }
        let data = try Data(contentsOf: configURL)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        func unsupported(_ key: String, _ message: String) -> ModelError {
            .invalidConfig(source: configURL.path, key: key, message: message)
        }
        if let type = json["peft_type"] as? String, type != "LORA" { throw unsupported("peft_type", "\(type) adapters are not supported; only LORA") }
        for key in ["use_rslora", "use_dora"] where json[key] as? Bool == true {
            throw unsupported(key, "not supported; only plain LoRA (alpha / r scaling)")
        }
        if let bias = json["bias"] as? String, bias != "none" { throw unsupported("bias", "\(bias) is not supported; only none") }
        for key in ["rank_pattern", "alpha_pattern", "layers_to_transform", "modules_to_save"] {
            let empty =
                json[key] == nil || json[key] is NSNull || (json[key] as? [Any])?.isEmpty == true
                || (json[key] as? [String: Any])?.isEmpty == true
            if !empty { throw unsupported(key, "not supported: every targeted layer must have the same rank and alpha") }
        }
        let lora: LoRAConfig
        do { lora = try JSONDecoder().decode(LoRAConfig.self, from: data) } catch {
            throw unsupported("r, lora_alpha, lora_dropout, target_modules", "missing, or not numbers and a list of module names")
        }
        // Every tensor the adapters need, with its shape, before anything changes.
        let file = try SafetensorsFile(url: weightsURL)
        let targets = transformer.linears.filter { lora.matches($0.name) }
        guard !targets.isEmpty else {
            throw ModelError.loraTargetsNotFound(
                targets: lora.targetModules,
                available: Set(linearLayers.map { $0.name.split(separator: ".").last.map(String.init) ?? $0.name }).sorted())
        }
        var values: [String: [Float]] = [:]
        for layer in targets {
            for (suffix, shape) in [("lora_A", [lora.rank, layer.inFeatures]), ("lora_B", [layer.outFeatures, lora.rank])] {
                let stored = "base_model.model.\(layer.name).\(suffix).weight"
                guard let info = file.tensors[stored] else { throw ModelError.missingWeight(source: weightsURL.path, name: stored) }
                guard info.shape == shape else {
                    throw ModelError.weightShape(source: weightsURL.path, name: stored, expected: shape, found: info.shape)
                }
                values[stored] = try file.floats(stored)
            }
        }
        let unread = file.tensors.keys.filter { values[$0] == nil }.sorted()
        guard unread.isEmpty else { throw ModelError.unexpectedWeights(source: weightsURL.path, names: unread) }

        try enableLoRA(lora, rng: rng)
        for layer in targets {
            for (name, tensor) in layer.lora!.parameters() { tensor.data = values["base_model.model." + name]! }
        }
    }
}
