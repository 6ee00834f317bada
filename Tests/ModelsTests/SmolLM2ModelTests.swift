// SmolLM2-135M-Instruct from its Q4_1 GGUF against transformers, which loaded the same file
// (dequantized to Float32): per-position log-sum-exp and top-10 logits within 2e-3, through the
// full forward and through the KV-cache decode path that reads the Q4_1 / Q8_0 blocks directly.

import FixtureSupport
import Foundation
import Models
import Tensors
import Testing
import WeightFiles

/// The SmolLM2 model, loaded once for every test of this target.
enum SmolLM2Model {
    static let loaded: Result<CausalLM, Error> = Result {
        guard let url = Fixtures.smolLM2GGUF, FileManager.default.fileExists(atPath: url.path) else {
            throw ModelError.fileNotFound(
                path: ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf",
                what: "the SmolLM2 GGUF: run scripts/fetch-smollm2 or set RLHF_SMOLLM2_GGUF")
        }
        return try CausalLM.load(gguf: url)
    }

    static func model() throws -> CausalLM { try loaded.get() }
}

/// One conversation of a SmolLM2 reference file.
struct SmolLM2Reference {
    let ids: [Int]
    let logSumExp: [Double]
    let top10IDs: [[Int]]
    let top10Logits: [[Double]]
    let lastLogits: [Double]
    let greedy: [Int]

    static func load(_ url: URL) throws -> [SmolLM2Reference] {
        let fixture = try Fixtures.load(url)
        guard let chats = fixture.value("chat") as? [[String: Any]], !chats.isEmpty else {
            throw FixtureError.missing(url.path, "chat")
        }
        func numbers(_ chat: [String: Any], _ key: String) throws -> [Double] {
            guard let list = chat[key] as? [NSNumber] else { throw FixtureError.missing(url.path, "chat.\(key)") }
            return list.map(\.doubleValue)
        }
        func table(_ chat: [String: Any], _ key: String) throws -> [[Double]] {
            guard let rows = chat[key] as? [[NSNumber]] else { throw FixtureError.missing(url.path, "chat.\(key)") }
            return rows.map { $0.map(\.doubleValue) }
        }
        return try chats.map { chat in
            SmolLM2Reference(
                ids: try numbers(chat, "ids").map { Int($0) }, logSumExp: try numbers(chat, "logsumexp"),
                top10IDs: try table(chat, "top10_ids").map { $0.map { Int($0) } }, top10Logits: try table(chat, "top10_logits"),
                lastLogits: try numbers(chat, "last_logits"), greedy: try numbers(chat, "greedy_24").map { Int($0) })
        }
    }

    /// Compares `logits` `[T, V]` with the reference at absolute tolerance `atol`; returns problems.
    func check(_ logits: [Float], vocab: Int, atol: Double, label: String) -> [String] {
        var problems: [String] = []
        for t in 0..<ids.count {
            let row = logits[(t * vocab)..<((t + 1) * vocab)]
            let m = Double(row.max()!)
            let lse = m + Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) })
            if abs(lse - logSumExp[t]) > atol { problems.append("\(label) position \(t): logsumexp \(lse) vs \(logSumExp[t])") }
            for (id, expected) in zip(top10IDs[t], top10Logits[t]) {
                let ours = Double(row[row.startIndex + id])
                if abs(ours - expected) > atol { problems.append("\(label) position \(t): logit of \(id) is \(ours), expected \(expected)") }
            }
            // Our ten largest are the reference's ten, up to near-ties at the boundary.
            let ours = row.indices.sorted { row[$0] > row[$1] }.prefix(10).map { $0 - row.startIndex }
            for id in ours where !top10IDs[t].contains(id) {
                let value = Double(row[row.startIndex + id])
                if value > top10Logits[t].last! + atol {
                    problems.append("\(label) position \(t): \(id) (\(value)) is in our top 10, not the reference's")
                }
            }
        }
        let last = Array(logits[((ids.count - 1) * vocab)...])
        let worst = zip(last, lastLogits).map { abs(Double($0) - $1) }.max() ?? 0
        if worst > atol { problems.append("\(label): last-position logits differ by up to \(worst)") }
        return problems
    }
}

@Suite(.serialized) struct SmolLM2ModelTests {
    @Test func configFromGGUFMetadata() throws {
        let config = try SmolLM2Model.model().config
        #expect(config.family == .llama && config.hiddenSize == 576 && config.layers == 30)
        #expect(config.heads == 9 && config.kvHeads == 3 && config.headDim == 64 && config.intermediateSize == 1536)
        #expect(config.vocabSize == 49152 && config.tieWordEmbeddings && config.ropeTheta == 100_000)
        #expect(abs(config.normEps - 1e-5) < 1e-9)
    }

    @Test func decodeReadsTheGGUFBlocks() throws {
        let model = try SmolLM2Model.model()
        #expect(model.lmHead.packed?.format == .q8_0)
        #expect(model.linearLayers.dropLast().allSatisfy { $0.packed?.format == .q4_1 })
        // ~96 MB a token instead of ~540 MB in Float32.
        #expect(model.decodeBytesPerToken < 100_000_000)
    }

    @Test(arguments: Fixtures.smolLM2References)
    func fullForwardMatchesTransformers(url: URL) throws {
        let model = try SmolLM2Model.model()
        for reference in try SmolLM2Reference.load(url) {
            let logits = try Tensor.withNoGrad { try model.logits(ids: reference.ids, batch: 1, length: reference.ids.count) }
            for problem in reference.check(logits.data, vocab: model.config.vocabSize, atol: 2e-3, label: "full forward").prefix(10) {
                Issue.record(Comment(rawValue: problem))
            }
        }
    }

    @Test(arguments: Fixtures.smolLM2References)
    func cachedDecodeOnQuantizedBlocksMatchesTransformers(url: URL) throws {
        let model = try SmolLM2Model.model()
        for reference in try SmolLM2Reference.load(url) {
            // Every position through the one-token decode path: Q4_1 / Q8_0 kernels and the cache.
            let logits: [Float] = try Tensor.withNoGrad {
                let cache = model.makeCache(batch: 1, capacity: reference.ids.count)
                var out: [Float] = []
                for id in reference.ids { out += try model.logits(ids: [id], batch: 1, length: 1, cache: cache).data }
                return out
            }
            for problem in reference.check(logits, vocab: model.config.vocabSize, atol: 2e-3, label: "cached decode").prefix(10) {
                Issue.record(Comment(rawValue: problem))
            }
        }
    }

    @Test func unknownGGUFArchitectureIsAClearError() throws {
        // A GGUF v3 header with no tensors and one key: general.architecture = "mamba".
        var builder = GGUFBuilder()
        builder.add("general.architecture", type: .string, GGUFBuilder.string("mamba"))
        let file = try GGUFFile(bytes: builder.build(), name: "mamba.gguf")
        do {
            _ = try CausalLM.load(gguf: file)
            Issue.record("a mamba GGUF should not load")
        } catch {
            #expect("\(error)".contains("mamba") && "\(error)".contains("llama") && "\(error)".contains("mamba.gguf"), "\(error)")
        }
    }
}
