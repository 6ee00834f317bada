import FixtureSupport
import Foundation
import Recording
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Exit codes and messages a CI gate can trust.
@Suite struct ExitCodeTests {
    func folder(_ files: [String: String]) throws -> URL {
        let dir = try RLHFCommand.temporaryDirectory()
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    @Test func refusedArguments() throws {
        let dir = try folder(["r.swift": "print(1)\n"])
        for (arguments, message) in [
            (["run", "r.swift", "--seed=-1"], "--seed must be ≥ 0, got -1"), (["run", "r.swift", "--out", ""], "--out needs a folder"),
            (["repl", "--seed=-1"], "--seed must be ≥ 0"),
        ] {
            let result = try RLHFCommand.run(arguments, input: "", directory: dir)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("run.h5").path))
    }

    @Test func printWritesTheWholeStringThroughANul() throws {
        let dir = try folder(["r.swift": "print(\"a\\u{0}b\")\n"])
        let result = try RLHFCommand.run(["run", "r.swift", "--out", "out"], directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "a\u{0}b\n")
    }

    @Test func notebookCheckFailsWhenACellFails() throws {
        let dir = try folder(["nb.md": "# A\n\n```swift\nprint(undefinedName)\n```\n"])
        _ = try RLHFCommand.run(["notebook", "nb.md", "--results", "results"], directory: dir)
        let check = try RLHFCommand.run(["notebook", "nb.md", "--results", "results", "--check"], directory: dir)
        #expect(check.status != 0)
        #expect(check.stderr.contains("1 cell(s) failed"), "\(check.stderr)")
    }

    @Test func overLongSFTRowsAreCountedNotEmptyData() throws {
        let long = String(repeating: "x", count: 300)
        let dir = try folder([
            "sft.jsonl": (1...3).map { _ in "{\"input\": \"\(long)\", \"output\": \"y\"}" }.joined(separator: "\n") + "\n",
            "r.swift": """
            let policy = Model.llama(hidden: 8, layers: 1, heads: 2)
            sft(policy, data: TrainingData.load("sft.jsonl", kind: .sft), microTrainBatchSize: 1, trainBatchSize: 1, maxLen: 64)
            """,
        ])
        let result = try RLHFCommand.run(["run", "r.swift", "--out", "out"], directory: dir)
        #expect(result.status != 0)
        #expect(result.stderr.contains("all 3 records of sft.jsonl were left out: 3 "), "\(result.stderr)")
        #expect(result.stderr.contains("sft.jsonl:1"), "\(result.stderr)")
    }

    @Test func chatMessagesTrainAsTheReferenceSays() throws {
        let row = #"{"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}"#
        let dir = try folder([
            "chat.jsonl": Array(repeating: row, count: 4).joined(separator: "\n") + "\n",
            "r.swift": """
            let policy = Model.llama(hidden: 8, layers: 1, heads: 2)
            let data = TrainingData.load("chat.jsonl", kind: .sft, inputKey: "messages", outputKey: nil, applyChatTemplate: true)
            sft(policy, data: data, microTrainBatchSize: 2, trainBatchSize: 2, maxLen: 64)
            print("trained")
            """,
        ])
        let result = try RLHFCommand.run(["run", "r.swift", "--out", "out"], directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("trained"))
    }

    /// The training call is the recipe's last statement: the stage stops early at the signal, and
    /// the run must still end as interrupted, not complete.
    @Test(arguments: [SIGTERM, SIGHUP, SIGINT])
    func aSignalRecordsInterruptedAndKeepsCompletedSteps(signal: Int32) throws {
        let dir = try folder([
            "r.swift": """
            let task = SyntheticTask.sortDigits(count: 4000, evalCount: 8)
            let policy = Model.llama(hidden: 32, layers: 2, heads: 4)
            sft(policy, data: task.demonstrations, maxEpochs: 50, microTrainBatchSize: 8, trainBatchSize: 8, saveSteps: 3)
            """
        ])
        let process = Process()
        process.executableURL = RLHFCommand.executable
        process.arguments = ["run", "r.swift", "--out", "out", "--threads", "1"]
        process.currentDirectoryURL = dir
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let runFile = dir.appendingPathComponent("out/run.h5")
        // Wait for the checkpoint of step 3 (the run file is locked while it is written), then signal.
        let checkpoint = dir.appendingPathComponent("out/checkpoints/sft/step_3")
        for _ in 0..<1200 where !FileManager.default.fileExists(atPath: checkpoint.path) { usleep(100_000) }
        let steps = 3
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        let run = try RunReader(url: runFile)
        #expect(process.terminationStatus != 0)
        #expect(run.status == "interrupted")
        #expect(run.attributes["error"]?.stringValue?.contains("interrupted") == true, "\(String(describing: run.attributes["error"]))")
        #expect(try run.stage("sft").committedSteps >= steps)
    }
}
