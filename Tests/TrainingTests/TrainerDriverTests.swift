import Alignment
import Datasets
import Foundation
import Models
import Recording
import Tensors
import Testing
import Tokenizers
import Training

@Suite("Offline trainer driver")
struct TrainerDriverTests {
    /// Options of the recorded runs: evaluations and checkpoints between steps, every statistic kept.
    static func recordedOptions(checkpoints: URL) -> TrainingOptions {
        var options = OfflineFixture.shortRun(steps: 6, batch: 8, micro: 4)
        options.lrScheduler = .cosineWithMinLR
        options.lrWarmupRatio = 0.2
        options.evalSteps = 2
        options.saveSteps = 3
        options.ckptPath = checkpoints.path
        return options
    }

    static var evalSplit: [SFTExample] { Array(OfflineFixture.evalSFT.prefix(16)) }

    @Test func sameSeedGivesIdenticalRunFiles() throws {
        let folder = try offlineTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var files: [RecordedRun] = []
        for run in 0..<2 {
            let url = folder.appendingPathComponent("run\(run).h5")
            let file = try offlineRunFile(url, seed: 9)
            var options = Self.recordedOptions(checkpoints: folder.appendingPathComponent("ckpt\(run)"))
            options.packing = true
            _ = try trainSFT(
                OfflineFixture.model(), data: OfflineFixture.sft, eval: Self.evalSplit, options: options,
                context: RunContext(seed: 9, runFile: file))
            try file.close()
            files.append(try RecordedRun(path: url.path))
        }
        #expect(files[0].differences(from: files[1], ignoring: ["ckpt_path"]).isEmpty)
        #expect(files[0].tables["sft/metrics/step"]?.count == 6)
        #expect(files[0].tables.keys.contains { $0.hasPrefix("sft/activations/model.layers.1") })
    }

    @Test func resumedRunRecordsWhatTheUninterruptedRunRecords() throws {
        let folder = try offlineTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }

        // Uninterrupted: 6 steps.
        let fullURL = folder.appendingPathComponent("full.h5")
        let fullFile = try offlineRunFile(fullURL, seed: 11)
        let fullModel = OfflineFixture.model()
        let full = try trainSFT(
            fullModel, data: OfflineFixture.sft, eval: Self.evalSplit,
            options: Self.recordedOptions(checkpoints: folder.appendingPathComponent("full-ckpt")),
            context: RunContext(seed: 11, runFile: fullFile))
        try fullFile.close()

        // Interrupted after step 4 (the checkpoint is at step 3), then resumed in a new run file.
        let checkpoints = folder.appendingPathComponent("ckpt")
        let firstFile = try offlineRunFile(folder.appendingPathComponent("first.h5"), seed: 11)
        let firstContext = RunContext(seed: 11, runFile: firstFile)
        firstContext.onProgress = { progress in
            if case .step(_, let step, _, _, _) = progress, step == 4 { return .stop }
            return .continue
        }
        let first = try trainSFT(
            OfflineFixture.model(), data: OfflineFixture.sft, eval: Self.evalSplit,
            options: Self.recordedOptions(checkpoints: checkpoints), context: firstContext)
        try firstFile.close()
        #expect(first.stopped && first.steps == 4)

        let resumedURL = folder.appendingPathComponent("resumed.h5")
        let resumedFile = try offlineRunFile(resumedURL, seed: 11)
        let resumedModel = OfflineFixture.model()
        let resumed = try trainSFT(
            resumedModel, data: OfflineFixture.sft, eval: Self.evalSplit,
            options: Self.recordedOptions(checkpoints: checkpoints), loadCheckpoint: true,
            context: RunContext(seed: 11, runFile: resumedFile))
        try resumedFile.close()

        #expect(resumed.resumedFromStep == 3)
        #expect(resumed.steps == 6 && !resumed.stopped)
        #expect(resumed.evalHistory == full.evalHistory)
        let differences = try RecordedRun(path: resumedURL.path).differences(
            from: RecordedRun(path: fullURL.path),
            ignoring: ["ckpt_path", "load_checkpoint"])
        #expect(differences.isEmpty, "datasets that differ: \(differences)")
        for ((name, a), (_, b)) in zip(fullModel.parameters(), resumedModel.parameters()) {
            #expect(a.data == b.data, "\(name) differs")
        }
    }

    @Test func resumeRefusesACheckpointOfAnotherRun() throws {
        let folder = try offlineTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = Self.recordedOptions(checkpoints: folder)
        _ = try trainSFT(OfflineFixture.model(), data: OfflineFixture.sft, options: options, context: RunContext(seed: 1))
        options.trainBatchSize = 4
        #expect(throws: TrainingError.self) {
            _ = try trainSFT(
                OfflineFixture.model(), data: OfflineFixture.sft, options: options, loadCheckpoint: true,
                context: RunContext(seed: 1))
        }
    }

    @Test func checkpointHoldsWeightsOptimizerAndRunFile() throws {
        let folder = try offlineTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try offlineRunFile(folder.appendingPathComponent("run.h5"), seed: 1)
        _ = try trainSFT(
            OfflineFixture.model(), data: OfflineFixture.sft, options: Self.recordedOptions(checkpoints: folder),
            context: RunContext(seed: 1, runFile: file))
        try file.close()
        for step in [3, 6] {
            let directory = folder.appendingPathComponent("step_\(step)")
            for name in ["model/model.safetensors", "model/optimizer.safetensors", "state.json", "run.h5"] {
                #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), "step_\(step)/\(name)")
            }
            let state = try String(contentsOf: directory.appendingPathComponent("state.json"), encoding: .utf8)
            #expect(state.contains("\"cursor\"") && state.contains("\"schedule\"") && state.contains("\"step\" : \(step)"))
            #expect(state.contains("\"final\" : \(step == 6)"), "only the checkpoint at the end is final")
            #expect(try RunReader(url: directory.appendingPathComponent("run.h5")).stage("sft").committedSteps == step)
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("step_6.partial").path))
    }

    @Test func maxCkptNumKeepsOnlyTheNewestCheckpoints() throws {
        let folder = try offlineTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = Self.recordedOptions(checkpoints: folder)
        options.saveSteps = 1
        options.maxCkptNum = 2
        _ = try trainSFT(OfflineFixture.model(), data: OfflineFixture.sft, options: options, context: RunContext(seed: 1))
        #expect(CheckpointFolder(root: folder).steps() == [5, 6])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["step_5", "step_6"])
        options.maxCkptNum = 0
        #expect(throws: TrainingError.invalidOption("maxCkptNum", "must be between 1 and 10000, got 0")) {
            _ = try trainSFT(OfflineFixture.model(), data: OfflineFixture.sft, options: options, context: RunContext(seed: 1))
        }
    }

    /// A run stopped after step 4 (its newest checkpoint at step 3) in `root`, with `fingerprint`.
    func interruptedRun(root: URL, fingerprint: String) throws {
        let context = RunContext(seed: 11)
        context.resume = ResumePolicy(fingerprint: fingerprint)
        context.onProgress = { progress in
            if case .step(_, let step, _, _, _) = progress, step == 4 { return .stop }
            return .continue
        }
        let summary = try trainSFT(
            OfflineFixture.model(), data: OfflineFixture.sft, options: Self.recordedOptions(checkpoints: root),
            context: context)
        #expect(summary.stopped && summary.steps == 4)
        #expect(CheckpointFolder(root: root).steps() == [3])
    }

    @Test func resumeRefusesAnotherFingerprintUnlessForced() throws {
        let root = try offlineTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try interruptedRun(root: root, fingerprint: "recipe-a")
        func resume(_ fingerprint: String, force: Bool) throws -> TrainingSummary {
            let context = RunContext(seed: 11)
            context.resume = ResumePolicy(resume: true, fingerprint: fingerprint, force: force)
            return try trainSFT(
                OfflineFixture.model(), data: OfflineFixture.sft, options: Self.recordedOptions(checkpoints: root),
                context: context)
        }
        do {
            _ = try resume("recipe-b", force: false)
            Issue.record("a checkpoint of another recipe was resumed")
        } catch {
            let message = "\(error)"
            #expect(
                message.contains("another recipe") && message.contains("recipe-a") && message.contains("recipe-b")
                    && message.contains("--force"), "\(message)")
        }
        let forced = try resume("recipe-b", force: true)
        #expect(forced.resumedFromStep == 3 && forced.steps == 6 && !forced.stopped)
    }

    @Test func aFinishedStageIsRestoredFromItsFinalCheckpointWithoutTraining() throws {
        let folder = try offlineTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        // No ckptPath and no saveSteps: the stage writes only its final checkpoint, under the
        // context's checkpoint root.
        let root = folder.appendingPathComponent("ckpt")
        var options = Self.recordedOptions(checkpoints: root)
        options.ckptPath = nil
        options.saveSteps = 0
        func run(_ name: String, resume: Bool) throws -> (TrainingSummary, CausalLM, [Int]) {
            let file = try offlineRunFile(folder.appendingPathComponent(name), seed: 11)
            let context = RunContext(seed: 11, runFile: file)
            context.resume = ResumePolicy(checkpointRoot: root, resume: resume, fingerprint: "recipe")
            var steps: [Int] = []
            context.onProgress = { progress in
                if case .step(_, let step, _, _, _) = progress { steps.append(step) }
                return .continue
            }
            let model = OfflineFixture.model()
            let summary = try trainSFT(model, data: OfflineFixture.sft, eval: Self.evalSplit, options: options, context: context)
            try file.close()
            return (summary, model, steps)
        }
        let (full, trained, trainedSteps) = try run("full.h5", resume: false)
        #expect(trainedSteps == Array(1...6))
        #expect(CheckpointFolder(root: root.appendingPathComponent("sft")).steps() == [6])
        let (skipped, restored, skippedSteps) = try run("skipped.h5", resume: true)
        #expect(skippedSteps.isEmpty, "a finished stage trained again: steps \(skippedSteps)")
        #expect(skipped.steps == 6 && !skipped.stopped && skipped.resumedFromStep == 6)
        #expect(skipped.metrics == full.metrics && skipped.evalHistory == full.evalHistory)
        for ((name, a), (_, b)) in zip(trained.parameters(), restored.parameters()) { #expect(a.data == b.data, "\(name) differs") }
        let differences = try RecordedRun(path: folder.appendingPathComponent("skipped.h5").path)
            .differences(from: RecordedRun(path: folder.appendingPathComponent("full.h5").path))
        #expect(differences.isEmpty, "datasets that differ: \(differences)")
    }

    @Test func stoppingEndsTheStageAfterTheStep() throws {
        let context = RunContext(seed: 1)
        var seen: [Int] = []
        context.onProgress = { progress in
            if case .step(_, let step, _, _, _) = progress {
                seen.append(step)
                return step == 2 ? .stop : .continue
            }
            return .continue
        }
        let summary = try trainSFT(
            OfflineFixture.model(), data: OfflineFixture.sft,
            options: OfflineFixture.shortRun(steps: 5, batch: 8), context: context)
        #expect(summary.stopped && summary.steps == 2 && seen == [1, 2])
    }

    @Test func badDataAndOptionsAreNamed() throws {
        let model = OfflineFixture.model()
        let options = OfflineFixture.shortRun(steps: 1, batch: 4)
        let good = Array(OfflineFixture.sft.prefix(8))
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        // No trained token.
        var untrained = good
        untrained[2] = SFTExample(ids: good[2].ids, lossMask: [Float](repeating: 0, count: good[2].ids.count))
        #expect(
            message { _ = try trainSFT(model, data: untrained, options: options, context: RunContext(seed: 1)) }
                .contains("training example 2 trains no token"))
        // A token the model does not have.
        var foreign = good
        foreign[5] = SFTExample(ids: good[5].ids + [9999], lossMask: good[5].lossMask + [1])
        #expect(
            message { _ = try trainSFT(model, data: foreign, options: options, context: RunContext(seed: 1)) }
                .contains("training example 5: token 9999"))
        // Longer than maxLen.
        var long = options
        long.maxLen = 4
        #expect(message { _ = try trainSFT(model, data: good, options: long, context: RunContext(seed: 1)) }.contains("more than maxLen 4"))
        // Fewer samples than one step.
        #expect(
            message { _ = try trainSFT(model, data: Array(good.prefix(3)), options: options, context: RunContext(seed: 1)) }
                .contains("fewer than trainBatchSize"))
        // Evaluating on the training data.
        #expect(
            message { _ = try trainSFT(model, data: good, eval: Array(good.prefix(2)), options: options, context: RunContext(seed: 1)) }
                .contains("held-out"))
        // Batch sizes that do not divide.
        var uneven = options
        uneven.microTrainBatchSize = 3
        #expect(message { _ = try trainSFT(model, data: good, options: uneven, context: RunContext(seed: 1)) }.contains("trainBatchSize"))
        // Checkpoints without a folder.
        var noFolder = options
        noFolder.saveSteps = 1
        #expect(message { _ = try trainSFT(model, data: good, options: noFolder, context: RunContext(seed: 1)) }.contains("ckptPath"))
        // Preference pairs with an empty response.
        var pairs = Array(OfflineFixture.preferences.prefix(8))
        pairs[1].rejectedIDs = []
        #expect(
            message { _ = try trainDPO(model, data: pairs, options: options, context: RunContext(seed: 1)) }
                .contains("training pair 1 (rejected)"))
        // Process-reward labels that do not match the placeholders.
        var steps = Array(OfflineFixture.processRewards.prefix(8))
        steps[3].labels = .tokens([43])
        #expect(
            message { _ = try trainPRM(model, data: steps, options: options, context: RunContext(seed: 1)) }
                .contains("training example 3 has 1 labels"))
    }

    @Test func failureIsRecordedInTheRunFile() throws {
        let folder = try offlineTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("run.h5")
        let file = try offlineRunFile(url, seed: 1)
        var options = OfflineFixture.shortRun(steps: 3, batch: 8)
        options.learningRate = 1e30
        options.maxNorm = 0
        #expect(throws: TrainingError.self) {
            _ = try trainSFT(
                OfflineFixture.model(), data: OfflineFixture.sft, options: options,
                context: RunContext(seed: 1, runFile: file))
        }
        try file.close()
        let reader = try RunReader(url: url)
        #expect(reader.status == "failed")
        #expect(reader.error?.stage == "sft")
    }
}
