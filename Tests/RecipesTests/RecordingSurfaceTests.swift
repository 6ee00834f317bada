import FixtureSupport
import Foundation
import Recording
import Testing
@testable import Recipes

/// Every surface records a run file, and runs are read back from the language (`Run.open`,
/// `Run.current`).
@Suite struct RecordingSurfaceTests {
    /// A tiny training: a few SFT steps of a one-layer model, with an evaluation.
    static let training = """
        seed(7)
        let task = SyntheticTask.sortDigits(count: 48, evalCount: 8, digits: 3...3)
        let policy = Model.llama(hidden: 16, layers: 1, heads: 2)
        sft(policy, data: task.demonstrations, microTrainBatchSize: 8, trainBatchSize: 8, evalSteps: 2, maxSteps: 3)
        """

    @Test func pipedReplSessionRecordsItsStatementsAndSaveRerunsThem() throws {
        let dir = try RLHFCommand.temporaryDirectory("repl-record")
        let input = Self.training + "\nprint(undefinedThing)\n:run\n:save saved.swift\n"
        let result = try RLHFCommand.run(["repl"], input: input, directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        // The first free session folder, announced on standard error.
        let folder = dir.appendingPathComponent("results/repl/session-1")
        #expect(result.stderr.contains("run file: results/repl/session-1/run.h5"), "\(result.stderr)")
        #expect(result.stdout.contains("run file: results/repl/session-1/run.h5 (running, seed 7)\n  sft: 3 steps, loss "), "\(result.stdout)")
        #expect(result.stdout.contains("saved 4 statements to saved.swift"))
        let run = try RunReader(url: folder.appendingPathComponent("run.h5"))
        #expect(run.stageNames == ["sft"])
        #expect(try run.stage("sft").committedSteps == 3)
        #expect(run.status == "complete")
        // The recipe is the statements that ran, without the one that failed.
        let recipe = run.attributes["recipe"]?.stringValue ?? ""
        #expect(recipe.contains("sft(policy, data: task.demonstrations"))
        #expect(!recipe.contains("undefinedThing"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("report.md").path))

        // A second session takes the next folder.
        let second = try RLHFCommand.run(["repl"], input: Self.training + "\n", directory: dir)
        #expect(second.stderr.contains("results/repl/session-2/run.h5"), "\(second.stderr)")

        // `:save` wrote the same statements; `rlhf run` of them records the same datasets.
        let saved = try String(contentsOf: dir.appendingPathComponent("saved.swift"), encoding: .utf8)
        #expect(saved == recipe)
        let rerun = try RLHFCommand.run(["run", "saved.swift", "--out", "results/saved"], directory: dir)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try differingRunFileDatasets(folder.appendingPathComponent("run.h5"), dir.appendingPathComponent("results/saved/run.h5")) == [])
    }

    @Test func replSessionWithoutTrainingLeavesNoRunFile() throws {
        let dir = try RLHFCommand.temporaryDirectory("repl-none")
        let result = try RLHFCommand.run(["repl"], input: "print(1 + 1)\n:run\n", directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "2\nno run file yet: the first training call starts results/repl/session-1/run.h5\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("results/repl").path))
    }

    @Test func resetEndsTheRunAndTrainingAfterItStartsANewOne() throws {
        let dir = try RLHFCommand.temporaryDirectory("repl-reset")
        let result = try RLHFCommand.run(["repl"], input: Self.training + "\n:reset\n" + Self.training + "\n", directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let first = dir.appendingPathComponent("results/repl/session-1/run.h5")
        let second = dir.appendingPathComponent("results/repl/session-2/run.h5")
        #expect(try RunReader(url: first).status == "complete")
        // Models and streams are numbered afresh: the new run repeats the first.
        #expect(try differingRunFileDatasets(first, second) == [])
    }

    @Test func notebookThatTrainsRecordsItsRunAndChartsAMetricReadBack() throws {
        let dir = try RLHFCommand.temporaryDirectory("nb-record")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("notebooks"), withIntermediateDirectories: true)
        let markdown = """
            # Training

            ```swift
            \(Self.training)
            ```

            ```swift
            let run = Run.open("results/notebooks/train/run.h5")
            let sft = run.stage("sft")
            print(run.stages, sft.steps, sft.evalSteps, run.seed, run.status)
            chart(sft.metric("loss"), labels: ["loss"], title: "SFT loss")
            chart([sft.metric("loss"), Run.current.stage("sft").metric("loss")], labels: ["open", "current"])
            chart(sft.eval("loss"), steps: sft.evalSteps, title: "eval loss")
            ```
            """
        try markdown.write(to: dir.appendingPathComponent("notebooks/train.md"), atomically: true, encoding: .utf8)
        // A recipe of the same name writes elsewhere.
        let result = try RLHFCommand.run(["notebook", "notebooks/train.md"], directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let folder = dir.appendingPathComponent("results/notebooks/train")
        let run = try RunReader(url: folder.appendingPathComponent("run.h5"))
        #expect(run.stageNames == ["sft"])
        #expect(run.status == "complete")
        #expect(run.attributes["recipe"]?.stringValue?.contains("Run.open") == true)
        let text = try String(contentsOf: dir.appendingPathComponent("results/notebooks/train.md"), encoding: .utf8)
        #expect(text.contains("[\"sft\"] [1, 2, 3] [0, 2, 3] 7 running"), "\(text)")
        #expect(text.contains("![SFT loss](train/chart-1.svg)"))
        let svg = try String(contentsOf: folder.appendingPathComponent("chart-1.svg"), encoding: .utf8)
        #expect(svg.contains("<svg"))
        // The chart draws the recorded losses: the two overlaid series are the same run's.
        let overlay = try String(contentsOf: folder.appendingPathComponent("chart-2.svg"), encoding: .utf8)
        #expect(overlay.contains("open") && overlay.contains("current"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("chart-3.svg").path))
    }

    @Test func runsReadFromTheLanguage() throws {
        let harness = Harness()
        harness.session.recordsRun = true
        try harness.run(Self.training)
        let output = try harness.run(
            """
            let run = Run.current
            let stage = run.stage(run.stages[0])
            print(stage.name, stage.steps.count, stage.metric("loss").count)
            print(stage.config["max_steps"] ?? 0, stage.evals.contains("loss"), stage.metrics.contains("lr"))
            let p = stage.parameters[0]
            print(stage.parameter(p).count == stage.parameterSteps.count, stage.parameter(p, kind: "value", statistic: "mean").count)
            """)
        #expect(output.hasPrefix("sft 3 3\n3 true true\ntrue 3\n"), "\(output)")
        try harness.session.finishRun()
        let path = harness.session.runFileURL.path
        let read = try harness.run("let again = Run.open(\"\(path)\")\nprint(again.status, again.recipe.isEmpty, again.error == nil)")
        #expect(read == "complete true true\n")
    }

    @Test func badRunFilesGiveLocatedErrors() throws {
        let harness = Harness()
        let dir = harness.session.outputDirectory
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "not hdf5".write(to: dir.appendingPathComponent("plain.h5"), atomically: true, encoding: .utf8)
        let notHDF5 = harness.error("let r = Run.open(\"\(dir.path)/plain.h5\")")
        #expect(notHDF5.contains("not an HDF5 file") && notHDF5.contains("line 1, column 13"), "\(notHDF5)")
        let missing = harness.error("Run.open(\"\(dir.path)/none.h5\")")
        #expect(missing.contains("no such file"), "\(missing)")
        let outside = harness.error("Run.open(\"/etc/passwd\")")
        #expect(outside.contains("outside"), "\(outside)")
        let none = harness.error("Run.current")
        #expect(none.contains("records no run file"), "\(none)")
        harness.session.recordsRun = true
        #expect(harness.error("Run.current").contains("no run file yet"))
        try harness.run(Self.training)
        let unknown = harness.error("Run.current.stage(\"dpo\")")
        #expect(unknown.contains("no stage \"dpo\"") && unknown.contains("Available: sft"), "\(unknown)")
        let metric = harness.error("Run.current.stage(\"sft\").metric(\"los\")")
        #expect(metric.contains("no metric \"los\""), "\(metric)")
        let kind = harness.error("let s = Run.current.stage(\"sft\")\ns.parameter(s.parameters[0], kind: \"grads\")")
        #expect(kind.contains("no statistics kind `grads`"), "\(kind)")
    }

    @Test func aRunBeingWrittenReadsUpToItsCommittedSteps() throws {
        let dir = try RLHFCommand.temporaryDirectory("partial")
        let file = try RunFile.create(at: dir.appendingPathComponent("run.h5"), attributes: RunAttributes(name: "partial", seed: 3))
        let stage = try file.stage("sft")
        for step in 0..<2 {
            try stage.record(metrics: ["loss": Double(3 - step)])
            try stage.commit(step: step)
        }
        try stage.record(metrics: ["loss": 0.5])  // not committed
        let harness = Harness()
        harness.session.readableRoots = [dir]
        let output = try harness.run("let r = Run.open(\"\(dir.path)\")\nprint(r.status, r.stage(\"sft\").metric(\"loss\"))")
        #expect(output == "running [3.0, 2.0]\n")
        try file.close()
    }
}

/// `rlhf notebook NB.md --set name=value`.
@Suite struct NotebookParameterTests {
    @Test func setReplacesATopLevelLetAndTheResultSaysSo() throws {
        let dir = try RLHFCommand.temporaryDirectory("nb-set")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("notebooks"), withIntermediateDirectories: true)
        let markdown = "```swift\nlet beta = 0.1\nlet name = \"base\"\n```\n\n```swift\nprint(name, beta * 2)\n```\n"
        try markdown.write(to: dir.appendingPathComponent("notebooks/p.md"), atomically: true, encoding: .utf8)
        let result = try RLHFCommand.run(["notebook", "notebooks/p.md", "--set", "beta=0.25", "--set", "name=tuned"], directory: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOf: dir.appendingPathComponent("results/notebooks/p.md"), encoding: .utf8)
        #expect(text.contains("Parameters set with `--set`: `beta = 0.25`, `name = tuned`."), "\(text)")
        #expect(text.contains("tuned 0.5\n"), "\(text)")
        // The cells stay as written.
        #expect(text.contains("let beta = 0.1"))

        let unknown = try RLHFCommand.run(["notebook", "notebooks/p.md", "--set", "bta=1"], directory: dir)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("--set bta: the recipe has no top-level `let bta`; did you mean `beta`?"), "\(unknown.stderr)")
        let notLiteral = try RLHFCommand.run(["notebook", "notebooks/p.md", "--set", "beta=foo(1)"], directory: dir)
        #expect(notLiteral.status != 0)
        #expect(notLiteral.stderr.contains("must be a literal"), "\(notLiteral.stderr)")
    }
}
