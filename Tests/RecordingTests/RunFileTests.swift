import Foundation
import Recording
import Testing

/// The h5py check of a synthetic run: argv = path, minimum committed steps, statsEvery.
/// Prints the committed step count. Reads only up to each table's `committed` count.
let h5pySyntheticCheck =
    numpySyntheticBuffer + "\n" + """
        import sys, h5py
        path, least, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        sizes = [1, 17, 64, 300, 1000, 4099]
        columns = ["mean", "std", "min", "max", "absmax", "l2", "nonfinite"]
        f = h5py.File(path, "r")
        assert f.attrs["format"] == "swift-rlhf/run/1", f.attrs["format"]
        assert f.attrs["seed"] == 42 and f.attrs["threads"] == 2
        assert f.attrs["recipe"].startswith("seed(42)")
        assert f["config"].attrs["packing"] == True and f["config"].attrs["epochs"] == 2
        assert list(f["config"].attrs["betas"]) == [0.9, 0.95]
        s = f["sft"]
        m = s["metrics"]; n = int(m.attrs["committed"])
        assert n >= least, (n, least)
        assert list(m["step"][:n]) == list(range(n))
        assert close(m["loss"][:n], 1.0 / (np.arange(n) + 1.0), rtol=0, atol=0)
        t = s["tensors"]; tn = int(t.attrs["committed"]); tsteps = list(t["step"][:tn])
        assert tsteps == [k for k in range(n) if k % every == 0], tsteps
        checked = 0
        for i, size in enumerate(sizes):
            g = t["model.layers.%d.weight" % i]
            for kind, offset in [("value", 0), ("grad", 100), ("update", 200)]:
                d = g[kind]
                assert [str(c) for c in d.attrs["columns"]] == columns
                rows = d[:tn]
                for r, step in enumerate(tsteps):
                    x = synthetic(i + offset, step, size)
                    if kind == "grad" and i == 2 and step == 3:
                        x[0] = np.nan; x[5] = np.inf
                    assert close(rows[r], stats(x)), (i, kind, step, list(rows[r]), stats(x))
                    checked += 1
        a = s["activations"]; an = int(a.attrs["committed"])
        for l in range(2):
            rows = a["model.layers.%d" % l][:an]
            for r, step in enumerate(a["step"][:an]):
                assert close(rows[r], stats(synthetic(300 + l, int(step), 256 + l)))
        ro = s["rollouts"]; k = int(ro.attrs["committed"])
        for i in range(k):
            o, ln = ro["response_offset"][i], ro["response_length"][i]
            step = int(ro["step"][i])
            ids = ro["response_ids"][o:o + ln]
            kk = i % 2
            assert list(ids) == [1000 + step + j * 7 + kk for j in range(ln)], (i, list(ids))
        assert checked == len(sizes) * 3 * len(tsteps)
        print(n)
        """

@Suite("Run file")
struct RunFileTests {
    @Test func readerFindsEveryStatisticAtEveryStep() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try SyntheticRun.write(to: path, steps: 7)
        let run = try RunReader(path: path)
        #expect(run.stageNames == ["sft", "dpo"])
        #expect(run.status == "complete")
        #expect(run.error == nil)
        #expect(run.name == "synthetic")
        #expect(run.attributes["seed"] == .uint(42))
        #expect(run.attributes["threads"] == .int(2))
        #expect(run.attributes["recipe"]?.stringValue == SyntheticRun.attributes.recipe)
        #expect(run.attributes["host"] == .string("test"))
        #expect(run.config["packing"] == .bool(true))
        #expect(run.config["betas"] == .doubles([0.9, 0.95]))
        #expect(run.config["optimizer"] == .string("adamw"))
        let sft = try run.stage("sft")
        #expect(sft.config["beta"] == .double(0.1))
        let problems = try SyntheticRun.check(sft, steps: 7)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        let grad = try sft.tensorStatistics(SyntheticRun.tensorName(2), kind: .grad)
        #expect(grad[3].nonfinite == 2)
        let dpo = try run.stage("dpo")
        #expect(dpo.metricNames == ["loss", "reward_margin"])
        #expect(try dpo.metric("reward_margin") == [0, 1])
        #expect(dpo.tensorNames.isEmpty && dpo.rolloutCount == 0)
    }

    @Test func h5pyFindsEveryStatisticAtEveryStep() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try SyntheticRun.write(to: path, steps: 7)
        let output = try runPython(h5pySyntheticCheck, [path, "7", "1"])
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "7")
    }

    @Test func theDocumentedH5pyRecipeWorks() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try SyntheticRun.write(to: path, steps: 4)
        // docs/run-file.md, with print in place of plt.plot.
        let script = """
            import sys, h5py
            t = h5py.File(sys.argv[1], "r")["sft/tensors"]; n = t.attrs["committed"]
            print(t["step"][:n].tolist(), t["model.layers.3.weight/grad"][:n, 5].tolist())
            f = h5py.File(sys.argv[1], "r"); i = 1
            r = f["sft/rollouts"]; o, l = r["response_offset"][i], r["response_length"][i]
            ids, adv = r["response_ids"][o:o + l], r["advantages"][o:o + l]
            print(ids.tolist(), r["response_text"][0].decode())
            """
        let output = try runPython(script, [path])
        let l2 = try RunReader(path: path).stage("sft").tensorStatistics("model.layers.3.weight", kind: .grad).map(\.l2)
        let sample = SyntheticRun.rollouts(step: 0)
        #expect(output == "[0, 1, 2, 3] \(l2)\n\(sample[1].responseIDs.map(Int.init)) \(sample[0].responseText!)\n")
    }

    @Test func statsEveryThinsTensorStatisticsButNotMetrics() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try SyntheticRun.write(to: path, steps: 8, statsEvery: 3)
        let sft = try RunReader(path: path).stage("sft")
        #expect(sft.statsEvery == 3)
        #expect(sft.steps.count == 8)
        #expect(sft.tensorSteps == [0, 3, 6])
        #expect(sft.activationSteps == [0, 3, 6])
        let problems = try SyntheticRun.check(sft, steps: 8, statsEvery: 3)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        try runPython(h5pySyntheticCheck, [path, "8", "3"])
    }

    @Test func timingsLiveApartFromTheMetrics() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("timing.h5").path
        let run = try RunFile.create(at: path, attributes: RunAttributes(name: "timing", created: "test"))
        let sft = try run.stage("sft")
        for step in 1...3 {
            try sft.record(metrics: ["loss": Double(step)])
            if step != 2 { try sft.record(timing: ["time_step_s": 0.5 * Double(step)]) }
            if step == 3 { try sft.record(timing: ["time_rollout_s": 7]) }
            try sft.commit(step: step)
        }
        try sft.record(timing: ["time_step_s": 9])  // never committed: dropped
        #expect(throws: RunFileError.self) { try sft.record(timing: ["step": 1]) }
        try run.close()

        let stage = try RunReader(path: path).stage("sft")
        #expect(stage.metricNames == ["loss"])
        #expect(stage.timingNames == ["time_step_s", "time_rollout_s"])
        #expect(stage.timingSteps == [1, 3])
        #expect(try stage.timing("time_step_s") == [0.5, 1.5])
        let late = try stage.timing("time_rollout_s")
        #expect(late.count == 2 && late[0].isNaN && late[1] == 7, "a timing that starts late is NaN before: \(late)")
        #expect(throws: RunFileError.self) { _ = try stage.timing("loss") }
    }

    @Test func twoRecordingsOfTheSameDataHaveIdenticalDatasets() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.h5").path
        let b = dir.appendingPathComponent("b.h5").path
        try SyntheticRun.write(to: a, steps: 5)
        try SyntheticRun.write(to: b, steps: 5)
        // Every dataset and attribute, compared by h5py, except the root `created` time.
        let script = """
            import sys, h5py, numpy as np
            def walk(f):
                out = {}
                def visit(name, obj):
                    attrs = {k: repr(v.tolist() if hasattr(v, "tolist") else v) for k, v in obj.attrs.items()}
                    data = repr(obj[()].tolist()) if isinstance(obj, h5py.Dataset) else None
                    out[name] = (attrs, data)
                f.visititems(visit)
                out["/"] = ({k: repr(v) for k, v in f.attrs.items() if k != "created"}, None)
                return out
            a, b = walk(h5py.File(sys.argv[1], "r")), walk(h5py.File(sys.argv[2], "r"))
            assert a.keys() == b.keys()
            for k in a:
                assert a[k] == b[k], k
            print(len(a))
            """
        let count = try runPython(script, [a, b])
        #expect((Int(count.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 40)
        // With the same `created` attribute the files are equal byte for byte.
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
    }

    @Test func aFailedRunRecordsItsErrorAndStaysReadable() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        let run = try RunFile.create(at: path, attributes: SyntheticRun.attributes)
        let stage = try run.stage("sft")
        for step in 0..<3 { try SyntheticRun.record(step: step, into: stage) }
        try stage.record(metrics: ["loss": .nan])  // the failing step, never committed
        try run.recordError("loss is NaN at step 3", stage: "sft", step: 3)
        try run.close()
        #expect(throws: RunFileError.closed(path: path)) { try stage.commit(step: 3) }

        let reader = try RunReader(path: path)
        #expect(reader.status == "failed")
        #expect(reader.error == RecordedError(message: "loss is NaN at step 3", stage: "sft", step: 3))
        let sft = try reader.stage("sft")
        #expect(sft.steps == [0, 1, 2])
        #expect(try SyntheticRun.check(sft, steps: 3).isEmpty)
        let output = try runPython(
            "import sys, h5py; f = h5py.File(sys.argv[1], 'r'); print(f.attrs['error'], f.attrs['status'], f['sft/metrics/loss'].shape)",
            [path])
        #expect(output == "loss is NaN at step 3 failed (3,)\n")
    }

    @Test func aRunClosedWithoutCommitsIsEmptyButValid() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        let run = try RunFile.create(at: path, attributes: RunAttributes(name: "empty"))
        _ = try run.stage("sft")
        try run.close()
        try run.close()
        let sft = try RunReader(path: path).stage("sft")
        #expect(sft.steps.isEmpty && sft.metricNames.isEmpty)
    }

    @Test func namesThatCannotBeHDF5NamesAreRejected() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        let run = try RunFile.create(at: path, attributes: RunAttributes(name: "names"))
        defer { try? run.close() }
        #expect(throws: RunFileError.self) { try run.stage("a/b") }
        #expect(throws: RunFileError.self) { try run.stage("config") }
        let stage = try run.stage("sft")
        #expect(throws: RunFileError.self) { try stage.record(metrics: ["step": 1]) }
        #expect(throws: RunFileError.self) { try stage.record(metrics: ["": 1]) }
        #expect(throws: RunFileError.self) {
            try stage.record(tensor: "a/b", kind: .grad, stats: TensorStatistics([1, 2]))
        }
        #expect(throws: RunFileError.self) {
            try stage.record(rollouts: [RolloutSample(promptIDs: [1], responseIDs: [2, 3], reward: 0, advantages: [1])])
        }
        try stage.commit(step: 5)
        do {
            try stage.commit(step: 5)
            Issue.record("a repeated step was accepted")
        } catch let error as RunFileError {
            #expect(error.description.contains("steps must increase"))
        }
    }

    @Test func missingTruncatedAndForeignFilesGiveClearErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("missing.h5").path
        #expect(throws: RunFileError.fileNotFound(path: missing)) { try RunReader(path: missing) }

        let text = dir.appendingPathComponent("notes.h5").path
        try "not hdf5\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: RunFileError.notHDF5(path: text)) { try RunReader(path: text) }

        let good = dir.appendingPathComponent("good.h5").path
        try SyntheticRun.write(to: good, steps: 3)
        let data = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = dir.appendingPathComponent("truncated.h5").path
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        do {
            _ = try RunReader(path: truncated)
            Issue.record("a truncated file opened")
        } catch let error as RunFileError {
            guard case .unreadable = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(error.description.contains("truncated"))
            #expect(error.description.contains(truncated))
        }

        let foreign = dir.appendingPathComponent("foreign.h5").path
        try runPython("import sys, h5py, numpy as np; h5py.File(sys.argv[1], 'w')['weights'] = np.zeros(3)", [foreign])
        do {
            _ = try RunReader(path: foreign)
            Issue.record("a foreign file opened")
        } catch let error as RunFileError {
            #expect(error == .notARunFile(path: foreign, found: "no \"format\" attribute; root holds weights"))
            #expect(error.description.contains("not a swift-rlhf run file"))
        }
    }

    @Test func unknownNamesListWhatTheFileHolds() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try SyntheticRun.write(to: path, steps: 2)
        let run = try RunReader(path: path)
        #expect(throws: RunFileError.notFound(path: path, object: "stage \"ppo\"", available: ["sft", "dpo"])) {
            try run.stage("ppo")
        }
        let sft = try run.stage("sft")
        do {
            _ = try sft.metric("reward")
            Issue.record("an unknown metric was read")
        } catch let error as RunFileError {
            #expect(error.description.contains("Available: loss, lr"))
        }
    }

    @Test func objectsListEveryGroupAndDataset() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try SyntheticRun.write(to: path, steps: 3)
        let objects = try RunReader(path: path).objects()
        let byPath = Dictionary(objects.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byPath["/sft/metrics/loss"]?.shape == [3])
        #expect(byPath["/sft/metrics/loss"]?.type == "float64")
        #expect(byPath["/sft/tensors/model.layers.0.weight/grad"]?.shape == [3, 7])
        #expect(byPath["/sft/rollouts/response_ids"]?.type == "int32")
        #expect(byPath["/config"]?.kind == .group)
    }
}
