import Foundation
import Recording
import Testing

/// Every string a run file keeps round-trips byte for byte: a NUL no longer ends it, and the
/// escape (docs/run-file.md, "Text") is undone by our reader and by the documented h5py lines.
@Suite struct LosslessTextTests {
    /// Texts a run can hold: NUL inside, at either end, alone; U+FFFD (a decoded bad byte); the
    /// bytes of the escape's own code points written as text; and ordinary text.
    static let texts = [
        "a\u{0}b", "\u{0}", "\u{0}\u{0}start", "end\u{0}", "\u{FFFD}d\u{0}J", "\u{10FFFF}",
        "\u{D7FF}\u{E000}\u{FFFF}", "plain", "", "é😀\u{0}ü", "ÿ\u{80}",
    ]

    @Test func theEscapeRoundTripsAnyBytes() {
        var state: UInt64 = 20_261_206
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var samples: [[UInt8]] = [[0], [0xED, 0xB0, 0x80], [0xC0, 0x80], [0xFF, 0xFE], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]]
        for _ in 0..<2_000 { samples.append((0..<Int(next() % 12)).map { _ in UInt8(truncatingIfNeeded: next()) }) }
        for bytes in samples {
            let stored = StoredText.encode(bytes)
            #expect(!stored.contains(0), "\(bytes)")
            #expect(StoredText.decode(stored) == bytes, "\(bytes) → \(stored)")
        }
        for text in Self.texts {
            #expect(StoredText.string(StoredText.encode(text)) == text)
            if !text.utf8.contains(0) { #expect(StoredText.encode(text) == Array(text.utf8), "unescaped text is stored as it is") }
        }
        #expect(StoredText.encode("a\u{0}b") == [0x61, 0xED, 0xB0, 0x80, 0x62])
        #expect(StoredText.encode([0x80, 0xFF]) == [0xED, 0xB2, 0x80, 0xED, 0xB3, 0xBF])
    }

    /// Writes every kind of string the run file keeps, each holding a NUL.
    func writeFile(_ url: URL) throws {
        let recipe = "print(\"a\\u{0}b\") // \u{0} in the source"
        let run = try RunFile.create(
            at: url, attributes: RunAttributes(name: "text", recipe: recipe, seed: 1, created: "c", extra: ["note": .string("x\u{0}y")]))
        try run.setConfig(["inputTemplate": .string("User: {}\u{0}"), "stop": .strings(["\u{0}", "a\u{0}", "plain"])])
        let stage = try run.stage("grpo")
        try stage.record(
            rollouts: Self.texts.enumerated().map { i, text in
                RolloutSample(promptIDs: [1], responseIDs: [182, 100, 0, 74], reward: Double(i), promptText: "p\(i)\u{0}", responseText: text)
            })
        try stage.commit(step: 0)
        try run.close()
    }

    @Test func aRunFileKeepsEveryStringWhole() throws {
        let url = try temporaryDirectory().appendingPathComponent("run.h5")
        try writeFile(url)
        let reader = try RunReader(url: url)
        #expect(reader.attributes["recipe"]?.stringValue == "print(\"a\\u{0}b\") // \u{0} in the source")
        #expect(reader.attributes["note"]?.stringValue == "x\u{0}y")
        let config = reader.config
        #expect(config["inputTemplate"] == .string("User: {}\u{0}"))
        #expect(config["stop"] == .strings(["\u{0}", "a\u{0}", "plain"]))
        let samples = try reader.stage("grpo").rollouts().map(\.sample)
        #expect(samples.map(\.responseText) == Self.texts.map { Optional($0) })
        #expect(samples.map(\.promptText) == Self.texts.indices.map { Optional("p\($0)\u{0}") })
    }

    @Test func h5pyUndoesTheEscapeAsDocumented() throws {
        let url = try temporaryDirectory().appendingPathComponent("run.h5")
        try writeFile(url)
        // The function docs/run-file.md gives, applied to an attribute, a config value and a dataset.
        let output = try runPython(
            """
            import sys, h5py, json
            def text(stored):
                raw = stored.encode("utf-8", "surrogateescape") if isinstance(stored, str) else stored
                return raw.decode("utf-8", "surrogatepass").replace("\\udc00", "\\0")
            f = h5py.File(sys.argv[1], "r")
            out = [text(f.attrs["recipe"]), text(f.attrs["note"]), text(f["config"].attrs["inputTemplate"])]
            out += [text(s) for s in f["grpo/rollouts/response_text"][:]]
            print(json.dumps(out))
            """, [url.path])
        let decoded = try JSONDecoder().decode([String].self, from: Data(output.utf8))
        #expect(decoded == ["print(\"a\\u{0}b\") // \u{0} in the source", "x\u{0}y", "User: {}\u{0}"] + Self.texts)
    }

    @Test func namesWithANulAreRefused() throws {
        let run = try RunFile.create(
            at: try temporaryDirectory().appendingPathComponent("run.h5"), attributes: RunAttributes(name: "n", created: "c"))
        #expect(throws: RunFileError.self) { try run.stage("a\u{0}b") }
        #expect(throws: RunFileError.self) { try run.setConfig(["a\u{0}b": .int(1)]) }
        let stage = try run.stage("s")
        #expect(throws: RunFileError.self) { try stage.record(metrics: ["loss\u{0}x": 1]) }
        try run.close()
    }
}
