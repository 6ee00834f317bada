// SmolLM2's greedy reply to the reference chat, against transformers' `generate` on the same GGUF
// (Tests/Fixtures/smollm2/reference.json: `greedy_24`, up to 24 new tokens, stopping at EOS).

import FixtureSupport
import Foundation
import Generation
import Models
import Tensors
import Testing

enum SmolLM2ForGeneration {
    static let loaded: Result<CausalLM, Error> = Result {
        guard let url = Fixtures.smolLM2GGUF, FileManager.default.fileExists(atPath: url.path) else {
            throw ModelError.fileNotFound(
                path: ".cache/models/SmolLM2-135M-Instruct.Q4_1.gguf",
                what: "the SmolLM2 GGUF: run scripts/fetch-smollm2 or set RLHF_SMOLLM2_GGUF")
        }
        return try CausalLM.load(gguf: url)
    }
}

/// The prompt ids and greedy ids of every chat in a reference file.
func smolLM2GreedyReferences(_ url: URL) throws -> [(prompt: [Int], greedy: [Int])] {
    let fixture = try Fixtures.load(url)
    guard let chats = fixture.value("chat") as? [[String: Any]], !chats.isEmpty else { throw FixtureError.missing(url.path, "chat") }
    return try chats.map { chat in
        guard let ids = chat["ids"] as? [NSNumber], let greedy = chat["greedy_24"] as? [NSNumber] else {
            throw FixtureError.missing(url.path, "chat.ids / chat.greedy_24")
        }
        return (ids.map(\.intValue), greedy.map(\.intValue))
    }
}

@Suite struct SmolLM2GenerationTests {
    @Test(arguments: Fixtures.smolLM2References)
    func greedyTokensMatchTransformers(url: URL) throws {
        let model = try SmolLM2ForGeneration.loaded.get()
        let eos = model.config.eosTokenIDs
        for reference in try smolLM2GreedyReferences(url) {
            let out = try generate(
                model: model, prompts: [reference.prompt], params: .greedy(maxNewTokens: 24, stopTokenIDs: eos),
                rng: RNG(seed: 0))[0]
            #expect(out.tokens == reference.greedy)
            #expect(out.finishReason == (reference.greedy.count < 24 ? .eos : .length))
        }
    }
}
