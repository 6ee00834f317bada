// Shared fixtures of the offline trainer tests: a digit-sorting task in every data kind, a tiny
// Llama over the byte tokenizer, options for short runs, and an exact comparison of run files.

import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Tokenizers
import Training

enum OfflineFixture {
    /// Sort 3 to 5 digits; 64 held-out problems never seen in training.
    static let task = SyntheticTask.sortDigits(count: 2048, evalCount: 64, digits: 3...5, rng: RNG(seed: 7))
    static let tokenizer = ByteTokenizer()
    static let maxLen = task.maxLen

    static let sft = try! SFTDataset.load(task.demonstrations, tokenizer: tokenizer, maxLen: maxLen).examples
    static let evalSFT = try! SFTDataset.load(task.eval.demonstrations, tokenizer: tokenizer, maxLen: maxLen).examples
    static let preferences = try! PreferenceDataset.load(task.preferences, tokenizer: tokenizer, maxLen: maxLen).examples
    static let evalPreferences = try! PreferenceDataset.load(task.eval.preferences, tokenizer: tokenizer, maxLen: maxLen).examples
    static let unpaired = try! UnpairedDataset.load(task.unpaired, tokenizer: tokenizer, maxLen: maxLen).examples
    static let evalUnpaired = try! UnpairedDataset.load(task.eval.unpaired, tokenizer: tokenizer, maxLen: maxLen).examples
    static let processRewards = try! ProcessRewardDataset.load(
        task.processRewards, tokenizer: tokenizer, placeholderToken: SyntheticTask.placeholderToken,
        rewardTokens: SyntheticTask.rewardTokens, maxLen: 64
    ).examples
    static let evalProcessRewards = try! ProcessRewardDataset.load(
        task.eval.processRewards, tokenizer: tokenizer, placeholderToken: SyntheticTask.placeholderToken,
        rewardTokens: SyntheticTask.rewardTokens, maxLen: 64
    ).examples

    static let config = ModelConfig.llama(
        vocabSize: tokenizer.vocabularySize, hiddenSize: 64, intermediateSize: 128, layers: 2, heads: 4, kvHeads: 2,
        maxPositions: 64, eosTokenIDs: [tokenizer.eosTokenID!], padTokenID: tokenizer.padTokenID)

    /// A freshly initialised model.
    static func model(seed: UInt64 = 1) -> CausalLM { CausalLM(config: config, rng: RNG(seed: seed)) }

    /// A model after an SFT warm start that sorts most held-out problems (computed once; tests
    /// take copies).
    static let warmStart: CausalLM = {
        let model = OfflineFixture.model(seed: 2)
        var options = shortRun(steps: 200, batch: 32)
        options.learningRate = 3e-3
        _ = try! trainSFT(model, data: sft, options: options, context: RunContext(seed: 3))
        return model
    }()

    /// Options for a short run: constant learning rate without warmup, `steps` steps of `batch`.
    static func shortRun(steps: Int, batch: Int = 16, micro: Int? = nil) -> TrainingOptions {
        var options = TrainingOptions()
        options.learningRate = 2e-3
        options.trainBatchSize = batch
        options.microTrainBatchSize = micro ?? batch
        options.maxSteps = steps
        options.maxEpochs = 100
        options.lrWarmupRatio = 0
        options.lrScheduler = .constant
        options.maxLen = maxLen
        return options
    }
}

/// A fresh temporary folder for one test.
func offlineTemporaryDirectory(_ label: String = #function) throws -> URL {
    let safe = label.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("swift-rlhf-offline-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A run file with fixed root attributes, so two runs differ only in what they record.
func offlineRunFile(_ url: URL, seed: UInt64) throws -> RunFile {
    try RunFile.create(at: url, attributes: RunAttributes(name: "offline-test", seed: seed, version: "test", created: "test"))
}

/// Every dataset of a run file — steps, metrics, tensor and activation statistics, evaluations,
/// stage configs — except the wall-clock values (`/<stage>/timing`), as bit patterns, so runs compare exactly.
struct RecordedRun: Equatable {
    /// "<stage>/<table>/<name>" → rows of bit patterns.
    var tables: [String: [[UInt64]]] = [:]
    /// "<stage>" → its config, as text.
    var configs: [String: [String: String]] = [:]

    init(path: String) throws {
        let reader = try RunReader(path: path)
        for stage in try reader.stages() {
            let p = stage.name
            configs[p] = stage.config.mapValues(\.description)
            tables["\(p)/metrics/step"] = stage.steps.map { [UInt64($0)] }
            for name in stage.metricNames {
                tables["\(p)/metrics/\(name)"] = try stage.metric(name).map { [$0.bitPattern] }
            }
            tables["\(p)/tensors/step"] = stage.tensorSteps.map { [UInt64($0)] }
            for name in stage.tensorNames {
                for kind in stage.tensorKinds(name) {
                    tables["\(p)/tensors/\(name)/\(kind.rawValue)"] = try stage.tensorStatistics(name, kind: kind).map { $0.row.map(\.bitPattern) }
                }
            }
            tables["\(p)/activations/step"] = stage.activationSteps.map { [UInt64($0)] }
            for name in stage.activationNames {
                tables["\(p)/activations/\(name)"] = try stage.activationStatistics(name).map { $0.row.map(\.bitPattern) }
            }
            tables["\(p)/eval/step"] = stage.evalSteps.map { [UInt64($0)] }
            for name in stage.evalNames {
                tables["\(p)/eval/\(name)"] = try stage.eval(name).map { [$0.bitPattern] }
            }
        }
    }

    /// The tables (and configs, apart from the keys `ignoring`) that differ, for a readable failure.
    func differences(from other: RecordedRun, ignoring: Set<String> = []) -> [String] {
        let tableKeys = Set(tables.keys).union(other.tables.keys).sorted().filter { tables[$0] != other.tables[$0] }
        func kept(_ config: [String: String]?) -> [String: String]? { config?.filter { !ignoring.contains($0.key) } }
        let configKeys = Set(configs.keys).union(other.configs.keys).sorted().filter { kept(configs[$0]) != kept(other.configs[$0]) }
        return tableKeys + configKeys.map { "\($0)/config" }
    }
}

/// ‖a − b‖ / ‖a‖ over two equally long buffers (0 when both are zero).
func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var diff = 0.0, norm = 0.0
    for (x, y) in zip(a, b) {
        diff += Double(x - y) * Double(x - y)
        norm += Double(x) * Double(x)
    }
    return norm == 0 ? diff.squareRoot() : (diff / norm).squareRoot()
}
