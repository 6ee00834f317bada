import FixtureSupport
import Foundation
import Recording
import Testing

/// A run file whose variable-length string points outside its heap crashed libhdf5 1.10 inside
/// `H5HG_read` (SIGSEGV, found by `CrashFuzzTests`): `inspect`, `report`, `compare` and `Run.open`
/// now read its strings in a child process first and say the file is damaged.
@Suite struct DamagedRunFileTests {
    /// A run file whose `recipe` attribute's global-heap object index is out of range.
    func damagedFile(in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("damaged.h5")
        let recipe = "print(\"a recipe of forty-one characters\")"
        let run = try RunFile.create(at: url, attributes: RunAttributes(name: "damaged", recipe: recipe, created: "c"))
        let stage = try run.stage("sft")
        try stage.record(metrics: ["loss": 1])
        try stage.commit(step: 0)
        try run.close()
        var bytes = [UInt8](try Data(contentsOf: url))
        // A heap ID is the string's length (4 bytes), its collection's address (8) and its index (4).
        let collection = try #require(
            (0..<(bytes.count - 4)).first { bytes[$0..<($0 + 4)] == ArraySlice(Array("GCOL".utf8)) })
        let id = littleEndian(UInt32(recipe.utf8.count)) + littleEndian(UInt64(collection))
        let at = try #require((0..<(bytes.count - id.count - 4)).first { bytes[$0..<($0 + id.count)] == ArraySlice(id) })
        bytes.replaceSubrange((at + id.count)..<(at + id.count + 4), with: littleEndian(UInt32(0x7FFF_FFF0)))
        try Data(bytes).write(to: url)
        return url
    }

    @Test func readersSayTheFileIsDamaged() throws {
        let dir = try RLHFCommand.temporaryDirectory()
        let url = try damagedFile(in: dir)
        try "let r = Run.open(\"damaged.h5\")\nprint(r.status)\n".write(
            to: dir.appendingPathComponent("open.swift"), atomically: true, encoding: .utf8)
        for arguments in [
            ["inspect", url.path], ["report", url.path, "--out", "report"], ["compare", url.path, url.path, "--out", "compare"],
            ["run", "open.swift", "--out", "out"],
        ] {
            let result = try RLHFCommand.run(arguments, directory: dir)
            #expect(result.status == 1, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("damaged.h5") && result.stderr.contains("crashed the HDF5 library"), "\(result.stderr)")
            #expect(!result.stderr.contains("Backtrac"), "\(result.stderr)")
        }
    }
}
