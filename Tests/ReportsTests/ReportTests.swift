import Foundation
import Plots
import Recording
import Testing

@testable import Reports

#if canImport(FoundationXML)
    import FoundationXML
#endif

func temporaryDirectory(_ label: String = #function) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("swift-rlhf-reports-\(label.filter { $0.isLetter })-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("Report")
struct ReportTests {
    @Test func twoRegenerationsAreByteIdentical() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try ReportFixture.write(to: path)
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        let namesA = try Report.write(RunReader(path: path), to: a)
        let namesB = try Report.write(RunReader(path: path), to: b)
        #expect(namesA == namesB)
        for name in namesA {
            let x = try Data(contentsOf: a.appendingPathComponent(name))
            let y = try Data(contentsOf: b.appendingPathComponent(name))
            #expect(x == y, "\(name) differs between regenerations")
        }
    }

    @Test func reportsOfTwoRecordingsOfTheSameDataAreIdentical() throws {
        // Only `created` differs between the files; it never reaches a report.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a/run.h5").path, b = dir.appendingPathComponent("b/run.h5").path
        try FileManager.default.createDirectory(atPath: (a as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: (b as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try ReportFixture.write(to: a, created: "2025-01-01T00:00:00Z")
        try ReportFixture.write(to: b, created: "2031-06-30T12:34:56Z")
        #expect(try Report.render(RunReader(path: a)) == Report.render(RunReader(path: b)))
    }

    @Test func reportHasEverySectionAndChart() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try ReportFixture.write(to: path)
        let files = try Report.render(RunReader(path: path))
        let names = files.map(\.name)
        #expect(names.first == "report.md")
        for chart in [
            "sft-losses.svg", "sft-lr.svg", "sft-metric-grad_norm.svg", "sft-grad-norm.svg", "sft-eval.svg",
            "grpo-losses.svg", "grpo-rewards.svg", "grpo-kl.svg", "grpo-rollout-rewards.svg", "grpo-grad-norm.svg",
        ] {
            #expect(names.contains(chart), "missing \(chart)")
        }
        let md = files[0].contents
        for needle in [
            "# fixture run", "status **complete**", "## Configuration", "## Stage `sft`", "### Metrics",
            "### Gradient norms", "### Parameter values", "### Gradients", "### Updates", "### Activations",
            "## Stage `grpo`", "### Rollouts", "### Evaluation", "## Recipe", "![sft losses per step](sft-losses.svg)",
            "Sort: 3 1 2", "````text\n1 2 3 ```\n````", "token ids: 10 11 12 13",
        ] {
            #expect(md.contains(needle), "report.md lacks \(needle)")
        }
        #expect(!md.contains("2025-01-01"), "the creation time reached the report")
        // Every chart referenced by the markdown exists, and every chart is referenced.
        for file in files.dropFirst() { #expect(md.contains("(\(file.name))")) }
    }

    @Test func statisticsTablesShowFirstAndLastStepValues() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try ReportFixture.write(to: path)
        let md = try Report.render(RunReader(path: path))[0].contents
        let last = TensorStatistics(ReportFixture.buffer(5, .grad, 11))
        let row =
            "| `model.norm.weight` | 11 | "
            + [last.mean, last.std, last.min, last.max, last.absmax, last.l2].map { Format.g($0) }.joined(separator: " | ") + " | 0 |"
        #expect(md.contains(row), "missing \(row)")
    }

    @Test func everyChartIsWellFormedSVGWithAxesAndLabels() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try ReportFixture.write(to: path)
        for file in try Report.render(RunReader(path: path)).dropFirst() {
            let parser = XMLParser(data: Data(file.contents.utf8))
            #expect(parser.parse(), "\(file.name) is not well-formed XML: \(String(describing: parser.parserError))")
            #expect(file.contents.contains(">step</text>"), "\(file.name) has no step axis title")
            #expect(file.contents.contains("<title>"), "\(file.name) has no title")
        }
        let losses = try Report.render(RunReader(path: path)).first { $0.name == "grpo-losses.svg" }!.contents
        #expect(losses.contains("<polyline"))
        let heat = try Report.render(RunReader(path: path)).first { $0.name == "sft-grad-norm.svg" }!.contents
        #expect(heat.contains("L2 norm (log)") && heat.contains("model.norm.weight"))
    }

    @Test func aFailedRunSaysSoAtTheTop() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try ReportFixture.write(to: path, failAt: 5)
        let md = try Report.render(RunReader(path: path))[0].contents
        #expect(md.contains("> **The run failed in stage `sft` at step 5:** loss is NaN (step 5)"))
        #expect(md.contains("5 committed steps (steps 0–4)"))
    }

    @Test func badFilesGiveClearErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.h5").path
        do {
            _ = try Report.render(RunReader(path: missing))
            Issue.record("a missing file made a report")
        } catch let error as RunFileError {
            #expect(error.description.contains("\(missing): no such file"))
        }
        let good = dir.appendingPathComponent("good.h5").path
        try ReportFixture.write(to: good)
        let data = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = dir.appendingPathComponent("truncated.h5")
        try data.prefix(4096).write(to: truncated)
        do {
            _ = try Report.render(RunReader(path: truncated.path))
            Issue.record("a truncated file made a report")
        } catch let error as RunFileError {
            #expect(error.description.contains("truncated or damaged"))
        }
    }
}

@Suite("Inspect")
struct InspectTests {
    @Test func describeListsStagesStepsDatasetsAndSparklines() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try ReportFixture.write(to: path)
        let text = try Inspector.describe(RunReader(path: path))
        for needle in [
            "status  complete", "recipe  3 lines", "stage sft: 12 committed steps (0–11)",
            "stage grpo: 6 committed steps (0–5), tensor statistics every 2 steps",
            "tensors: 6 parameters × value, grad, update at 12 steps", "rollouts: 24 samples", "eval: accuracy, loss at 3 steps",
            "/sft/metrics/loss", "float64 [12]", "/sft/tensors/model.norm.weight/grad", "float64 [12, 7]",
        ] {
            #expect(text.contains(needle), "inspect output lacks \(needle)\n\(text)")
        }
        #expect(text.contains("loss              ") || text.contains("loss "))
        #expect(text.contains("▁"))
        let chosen = try Inspector.describe(RunReader(path: path), columns: ["model.norm.weight/grad/l2"], stage: "sft")
        #expect(chosen.contains("model.norm.weight/grad/l2 "))
        #expect(!chosen.contains("stage grpo"))
    }

    @Test func csvJoinsColumnsOnTheStep() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try ReportFixture.write(to: path)
        let run = try RunReader(path: path)
        let csv = try Inspector.csv(run, columns: ["loss", "eval/accuracy"], stage: "sft")
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines[0] == "stage,step,loss,eval/accuracy")
        #expect(lines.count == 13)
        let loss = try run.stage("sft").metric("loss")
        #expect(lines[1] == "sft,0,\(loss[0]),")
        #expect(lines[4] == "sft,3,\(loss[3]),0.15")
        // Exact round trip of every value.
        #expect(lines.dropFirst().map { Double($0.split(separator: ",")[2])! } == loss)
        let both = try Inspector.csv(run, columns: ["loss", "policy_loss"])
        #expect(both.contains("\ngrpo,5,,-0.05\n"))
    }

    @Test func unknownColumnsListWhatExists() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try ReportFixture.write(to: path)
        do {
            _ = try Inspector.csv(RunReader(path: path), columns: ["los"])
            Issue.record("an unknown column was exported")
        } catch let error as RunFileError {
            #expect(error.description.contains("no column \"los\""))
            #expect(error.description.contains("loss, lr"))
        }
    }
}
