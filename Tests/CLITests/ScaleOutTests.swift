import FixtureSupport
import Foundation
import Testing

/// Data-parallel runs over MPI (`rlhf run --ranks N`, which starts `mpirun`): any number of ranks
/// gives the same run file as one process, a run started on 2 ranks resumes on 1, and a rank that
/// dies ends the job with the error in the run file.
@Suite(.serialized) struct ScaleOutTests {
    /// SFT, DPO and GRPO with 4 micro-batches per optimizer step, so 2 ranks split every step.
    static let recipe = """
        seed(5)
        let task = SyntheticTask.sortDigits(count: 256, evalCount: 16, digits: 3...4)
        let policy = Model.llama(hidden: 32, layers: 1, heads: 2)
        sft(policy, data: task.demonstrations, microTrainBatchSize: 4, trainBatchSize: 16, maxSteps: 8, saveSteps: 1)
        let reference = policy.frozen()
        dpo(policy, reference: reference, data: task.preferences, microTrainBatchSize: 4, trainBatchSize: 16, maxSteps: 6,
            saveSteps: 1)
        grpo(policy, reference: reference, prompts: task.prompts, nSamplesPerPrompt: 4, rolloutBatchSize: 4,
             microTrainBatchSize: 4, trainBatchSize: 16, generateMaxLen: 6, klEstimator: .k3, maxSteps: 6, saveSteps: 1)
        print(evaluate(policy, on: task.eval, maxNewTokens: 6))
        """

    func folder() throws -> (dir: URL, recipe: URL) {
        let dir = try RLHFCommand.temporaryDirectory("scale-out")
        let recipe = dir.appendingPathComponent("three.swift")
        try Self.recipe.write(to: recipe, atomically: true, encoding: .utf8)
        return (dir, recipe)
    }

    func run(_ recipe: URL, _ out: URL, _ extra: [String]) throws -> RLHFCommand.Output {
        let result = try RLHFCommand.run(["run", recipe.path, "--out", out.path] + extra, directory: recipe.deletingLastPathComponent())
        #expect(result.status == 0, "\(extra): \(result.stderr)")
        return result
    }

    @Test func oneTwoAndThreeRanksWriteTheSameRunFile() throws {
        let (dir, recipe) = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let one = try run(recipe, dir.appendingPathComponent("one"), [])
        for ranks in [2, 3] {
            let out = dir.appendingPathComponent("ranks\(ranks)")
            let many = try run(recipe, out, ["--ranks", "\(ranks)"])
            #expect(many.stdout == one.stdout, "rank 0 alone prints, the same as one process")
            let differing = try differingRunFileDatasets(dir.appendingPathComponent("one/run.h5"), out.appendingPathComponent("run.h5"))
            #expect(differing.isEmpty, "\(ranks) ranks: \(differing.prefix(8))")
        }
    }

    @Test func twoRanksOfOneThreadEqualOneRankOfTwo() throws {
        let (dir, recipe) = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try run(recipe, dir.appendingPathComponent("threads"), ["--threads", "2"])
        _ = try run(recipe, dir.appendingPathComponent("ranks"), ["--ranks", "2", "--threads", "1"])
        let differing = try differingRunFileDatasets(
            dir.appendingPathComponent("threads/run.h5"), dir.appendingPathComponent("ranks/run.h5"))
        #expect(differing.isEmpty, "\(differing.prefix(8))")
    }

    /// Starts a 2-rank run and waits for `stage` to checkpoint `step`.
    func start(_ recipe: URL, out: URL, stage: String, step: Int) throws -> Process {
        let process = Process()
        process.executableURL = RLHFCommand.executable
        process.arguments = ["run", recipe.path, "--out", out.path, "--ranks", "2"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let marker = out.appendingPathComponent("checkpoints/\(stage)/step_\(step)")
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && !FileManager.default.fileExists(atPath: marker.path) && Date() < deadline { usleep(2_000) }
        #expect(process.isRunning, "the run ended before \(stage) reached step \(step)")
        return process
    }

    /// The process ids of the job's ranks, by rank (Open MPI gives each its rank in the environment).
    func ranks(writingTo out: URL) -> [Int: pid_t] {
        var found: [Int: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                command.contains(out.path), !command.contains("mpirun"),
                let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/environ"))
            else { continue }
            for variable in environment.split(separator: 0) {
                let text = String(decoding: variable, as: UTF8.self)
                if text.hasPrefix("OMPI_COMM_WORLD_RANK="), let rank = Int(text.dropFirst(21)) { found[rank] = pid }
            }
        }
        return found
    }

    @Test(arguments: ["sft", "grpo"])
    func aRunStartedOnTwoRanksResumesOnOne(stage: String) throws {
        let (dir, recipe) = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = try run(recipe, dir.appendingPathComponent("whole"), [])
        let out = dir.appendingPathComponent("killed")
        let job = try start(recipe, out: out, stage: stage, step: 3)
        for pid in ranks(writingTo: out).values { kill(pid, SIGKILL) }
        kill(job.processIdentifier, SIGKILL)
        job.waitUntilExit()
        let resumed = try run(recipe, out, ["--resume"])
        #expect(resumed.stdout == whole.stdout)
        let differing = try differingRunFileDatasets(dir.appendingPathComponent("whole/run.h5"), out.appendingPathComponent("run.h5"))
        #expect(differing.isEmpty, "\(differing.prefix(8))")
    }

    @Test func killingOneRankEndsTheJobWithTheErrorRecorded() throws {
        let (dir, recipe) = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("run")
        let job = try start(recipe, out: out, stage: "dpo", step: 2)
        let pids = ranks(writingTo: out)
        #expect(pids.count == 2, "found ranks \(pids)")
        if let second = pids[1] { kill(second, SIGKILL) }
        let killed = Date()
        job.waitUntilExit()
        #expect(Date().timeIntervalSince(killed) < 30, "the job outlived its dead rank")
        #expect(job.terminationStatus != 0)
        let script = """
            import h5py, sys
            f = h5py.File(sys.argv[1], "r")
            print(f.attrs["status"].decode() if isinstance(f.attrs["status"], bytes) else f.attrs["status"])
            print(f.attrs.get("error", ""))
            print(int(f["sft/metrics"].attrs["committed"]), int(f["dpo/metrics"].attrs["committed"]))
            """
        let read = Process()
        read.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        read.arguments = ["python3", "-c", script, out.appendingPathComponent("run.h5").path]
        let pipe = Pipe()
        read.standardOutput = pipe
        try read.run()
        let lines = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        read.waitUntilExit()
        #expect(read.terminationStatus == 0, "the run file is readable")
        #expect(lines.first == "failed", "\(lines)")
        #expect(lines.dropFirst().first?.contains("other ranks") == true, "\(lines)")
        #expect(lines.last.map { $0.hasPrefix("8 ") } == true, "every completed step is kept: \(lines)")
    }
}
