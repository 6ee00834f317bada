import Foundation
import Models
import Tensors
import Testing

/// A `config.json` that asks for more than its weight file holds is refused before any allocation.
@Suite struct HostileConfigTests {
    /// A small Llama saved into a fresh folder; returns the folder.
    func savedModel() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID())")
        let model = CausalLM(
            config: .llama(vocabSize: 40, hiddenSize: 16, intermediateSize: 32, layers: 2, heads: 2, maxPositions: 32), rng: RNG(seed: 1))
        try model.save(to: dir)
        return dir
    }

    @Test(arguments: [
        ("vocab_size", 1 << 40), ("vocab_size", 1 << 23), ("intermediate_size", 1 << 19), ("intermediate_size", Int.max),
        ("head_dim", 4096), ("head_dim", 1 << 30), ("num_hidden_layers", 1000), ("num_hidden_layers", 1 << 40),
        ("max_position_embeddings", Int.max),
    ])
    func hugeSizesAreRefusedBeforeAllocation(key: String, value: Int) throws {
        let dir = try savedModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let configURL = dir.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        config[key] = value
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let error = try #require(throws: ModelError.self) { try CausalLM.load(dir) }
        #expect("\(error)".contains("config.json") || "\(error)".contains("weight file holds only"), "\(key)=\(value): \(error)")
    }

    @Test func theMemoryBudgetRefusesAModelThatWouldNotFit() throws {
        let config = ModelConfig.llama(vocabSize: 40, hiddenSize: 16, intermediateSize: 32, layers: 2, heads: 2)
        try config.checkMemory(budget: 1 << 20)
        let error = try #require(throws: MemoryBudgetError.self) { try config.checkMemory(budget: 1000) }
        #expect("\(error)".contains("more than the memory budget of 1000 bytes"), "\(error)")
        #expect(MemoryBudget.parse("2G") == 2 << 30 && MemoryBudget.parse("512m") == 512 << 20 && MemoryBudget.parse("-1") == nil)
    }
}
