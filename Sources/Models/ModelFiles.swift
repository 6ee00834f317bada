import Foundation
import Tensors
import WeightFiles

// Models in and out of HuggingFace's layout: a folder with `config.json` and `model.safetensors`
// (or shards listed in `model.safetensors.index.json`). Tensor names are the parameter names, so
// loading is a name map with shape checks; Float32 values round-trip bit for bit.

/// Where a model's `config.json` and safetensors files are.
struct CheckpointFiles {
    let config: URL
    let weights: [URL]

    /// `location` is a folder, a `.safetensors` file (with `config.json` beside it) or a
    /// `config.json`; `configFile` overrides where the config is.
    static func locate(_ location: URL, configFile: URL?) throws -> CheckpointFiles {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: location.path, isDirectory: &isDirectory) else {
            throw ModelError.fileNotFound(path: location.path, what: "a model folder, a .safetensors file or a .gguf file")
        }
        let folder = isDirectory.boolValue ? location : location.deletingLastPathComponent()
        let config = configFile ?? folder.appendingPathComponent("config.json")
        guard fm.fileExists(atPath: config.path) else {
            throw ModelError.fileNotFound(path: config.path, what: "config.json next to the weights")
        }
        if !isDirectory.boolValue && location.pathExtension == "safetensors" {
            return CheckpointFiles(config: config, weights: [location])
        }
        let single = folder.appendingPathComponent("model.safetensors")
        if fm.fileExists(atPath: single.path) { return CheckpointFiles(config: config, weights: [single]) }
        let index = folder.appendingPathComponent("model.safetensors.index.json")
        if let data = try? Data(contentsOf: index),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let map = object["weight_map"] as? [String: String]
        {
            let shards = Set(map.values).sorted().map { folder.appendingPathComponent($0) }
            return CheckpointFiles(config: config, weights: shards)
        }
        throw ModelError.fileNotFound(path: single.path, what: "model.safetensors (or model.safetensors.index.json with shards)")
    }

    /// The shape of every tensor of every weight file, read from the headers alone.
    func shapes() throws -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for url in weights {
            for (name, info) in try SafetensorsFile(url: url).tensors { result[name] = info.shape }
        }
        return result
    }

    /// Every tensor of every weight file, as Float32.
    func readTensors() throws -> [String: (shape: [Int], values: [Float])] {
        var result: [String: (shape: [Int], values: [Float])] = [:]
        for url in weights {
            let file = try SafetensorsFile(url: url)
            for (name, info) in file.tensors { result[name] = (info.shape, try file.floats(name)) }
        }
        return result
    }
}

/// Writes `parameters` as `model.safetensors` and `config` as `config.json` into `directory`.
func writeCheckpoint(_ parameters: [(name: String, tensor: Tensor)], config: ModelConfig, to directory: URL) throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var tensors: [String: SafetensorsTensor] = [:]
    for (name, tensor) in parameters { tensors[name] = SafetensorsTensor(shape: tensor.shape, values: tensor.data) }
    try SafetensorsFile.write(tensors, metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
    try config.jsonData().write(to: directory.appendingPathComponent("config.json"), options: .atomic)
}

extension CausalLM {
    /// Loads a model: a HuggingFace folder (`config.json` + `model.safetensors`), a `.safetensors`
    /// file with `config.json` beside it, or a `.gguf` file (see ``load(gguf:)``).
    ///
    /// - Parameter configFile: A `config.json` elsewhere than beside the weights.
    /// - Throws: ``ModelError`` naming the file for an unknown architecture, a missing or
    ///   misshapen weight, or a missing file; ``WeightFileError`` for a corrupt file.
    public static func load(_ location: URL, configFile: URL? = nil) throws -> CausalLM {
        if location.pathExtension.lowercased() == "gguf" { return try load(gguf: location) }
        let files = try CheckpointFiles.locate(location, configFile: configFile)
        let config = try ModelConfig.load(files.config)
        if config.architectures.contains(where: { $0.hasSuffix("ForSequenceClassification") }) {
            throw ModelError.invalidConfig(
                source: files.config.path, key: "architectures",
                message: "\(config.architectures) is a reward model; load it with ScalarModel.load")
        }
        let source = files.weights.map(\.path).joined(separator: ", ")
        try config.check(againstWeights: try files.shapes(), source: source)
        let model = CausalLM(config: config, initializer: nil)
        try model.loadParameters(files.readTensors(), source: source)
        return model
    }

    /// Writes `model.safetensors` (Float32, HF names; a tied head stored once, as transformers
    /// does) and `config.json` into `directory`, so `AutoModelForCausalLM.from_pretrained` loads it.
    /// Unmerged LoRA adapters are written under PEFT's names; merge them first for transformers.
    public func save(to directory: URL) throws {
        try writeCheckpoint(parameters(), config: config, to: directory)
    }
}

extension ScalarModel {
    /// Loads a reward model or critic from a HuggingFace folder (stack + `score.weight` or
    /// `value_head.weight`); the kind is read from the head the file has.
    public static func load(_ location: URL, configFile: URL? = nil) throws -> ScalarModel {
        let files = try CheckpointFiles.locate(location, configFile: configFile)
        let config = try ModelConfig.load(files.config)
        let source = files.weights.map(\.path).joined(separator: ", ")
        try config.check(againstWeights: try files.shapes(), source: source)
        let tensors = try files.readTensors()
        let kind: Kind
        if tensors["score.weight"] != nil {
            kind = .reward
        } else if tensors["value_head.weight"] != nil {
            kind = .critic
        } else {
            throw ModelError.missingWeight(source: source, name: "score.weight (reward model) or value_head.weight (critic)")
        }
        let model = ScalarModel(kind: kind, config: config, initializer: nil)
        // A sequence-classification file holds no LM head; a causal LM file may.
        var usable = tensors
        usable["lm_head.weight"] = nil
        try model.loadParameters(usable, source: source)
        return model
    }

    /// Writes `model.safetensors` and `config.json` into `directory` (a reward model in the layout
    /// of HF `…ForSequenceClassification` with `num_labels` 1).
    public func save(to directory: URL) throws {
        try writeCheckpoint(parameters(), config: config, to: directory)
    }
}
