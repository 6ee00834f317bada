import Foundation
import Recording

/// A small run whose every value follows from the step number, so a test (or a numpy script)
/// can say what a file must hold without having seen it being written.
enum SyntheticRun {
    /// Element counts of the synthetic parameters; odd sizes exercise the 16-lane tail.
    static let sizes = [1, 17, 64, 300, 1000, 4099]
    static let layers = 2

    static func tensorName(_ t: Int) -> String { "model.layers.\(t).weight" }
    static func layerName(_ l: Int) -> String { "model.layers.\(l)" }

    /// Buffer of kind `kind` of tensor `t` at `step`; the grad of tensor 2 at step 3 holds a NaN
    /// (element 0) and +inf (element 5 when present).
    static func buffer(_ t: Int, _ kind: TensorKind, step: Int) -> [Float] {
        let offset = ["value": 0, "grad": 100, "update": 200][kind.rawValue]!
        var x = syntheticBuffer(tensor: t + offset, step: step, count: sizes[t])
        if kind == .grad && t == 2 && step == 3 {
            x[0] = .nan
            if x.count > 5 { x[5] = .infinity }
        }
        return x
    }

    static func activation(_ l: Int, step: Int) -> [Float] { syntheticBuffer(tensor: 300 + l, step: step, count: 256 + l) }

    static func metrics(step: Int) -> [String: Double] {
        var m = ["loss": 1.0 / Double(step + 1), "lr": 1e-3 * Double(step + 1)]
        if step >= 2 { m["kl"] = 0.01 * Double(step) }  // appears mid-stage
        return m
    }

    /// Two rollout samples at even steps, none at odd steps.
    static func rollouts(step: Int) -> [RolloutSample] {
        guard step % 2 == 0 else { return [] }
        return (0..<2).map { k in
            let n = 3 + k + step % 5
            return RolloutSample(
                promptIDs: (0..<(2 + k)).map { Int32(step * 10 + $0) },
                responseIDs: (0..<n).map { Int32(1000 + step + $0 * 7 + k) },
                reward: Double(step) - 0.5 * Double(k),
                advantages: k == 0 ? (0..<n).map { Double($0) * 0.25 - Double(step) } : [],
                logprobs: (0..<n).map { -Double($0 + 1) * 0.1 },
                promptText: k == 0 ? "prompt \(step)" : nil,
                responseText: k == 0 ? "réponse ✓ \(step)" : nil)
        }
    }

    static func eval(step: Int) -> [String: Double] { ["accuracy": Double(step) / 10, "pass@1": 0.5] }

    static let attributes = RunAttributes(
        name: "synthetic", recipe: "seed(42)\nsft(policy, data: task.demonstrations)\n", seed: 42, threads: 2,
        version: "0.1.0", created: "2025-01-01T00:00:00Z", extra: ["host": "test"])

    /// Records one step of every kind into `stage` and commits it.
    static func record(step: Int, into stage: StageRecorder) throws {
        try stage.record(metrics: metrics(step: step))
        if stage.recordsStatistics(atStep: step) {
            for t in sizes.indices {
                for kind in TensorKind.allCases {
                    try buffer(t, kind, step: step).withUnsafeBufferPointer {
                        try stage.record(tensor: tensorName(t), kind: kind, values: $0)
                    }
                }
            }
            for l in 0..<layers {
                try activation(l, step: step).withUnsafeBufferPointer { try stage.record(activation: layerName(l), values: $0) }
            }
        }
        let samples = rollouts(step: step)
        if !samples.isEmpty { try stage.record(rollouts: samples) }
        try stage.commit(step: step)
        if step % 3 == 2 { try stage.record(eval: eval(step: step), at: step) }
    }

    /// Writes a complete run of `steps` steps in stage "sft" (and 2 steps of "dpo") to `path`.
    static func write(to path: String, steps: Int, statsEvery: Int = 1) throws {
        let run = try RunFile.create(at: path, attributes: attributes)
        try run.setConfig(["learningRate": 3e-3, "packing": true, "epochs": 2, "optimizer": "adamw", "betas": .doubles([0.9, 0.95])])
        let sft = try run.stage("sft", statsEvery: statsEvery)
        try sft.setConfig(["beta": 0.1])
        for step in 0..<steps { try record(step: step, into: sft) }
        let dpo = try run.stage("dpo")
        for step in 0..<2 {
            try dpo.record(metrics: ["loss": 0.7 - Double(step) * 0.1, "reward_margin": Double(step)])
            try dpo.commit(step: step)
        }
        try run.close()
    }

    /// Checks everything the reader returns for stage "sft" against the generator.
    /// For a killed run (`killed`), the evaluation after the last committed step may be missing.
    static func check(_ stage: StageReader, steps expected: Int, statsEvery: Int = 1, killed: Bool = false) throws -> [String] {
        var problems: [String] = []
        func expect(_ ok: Bool, _ message: @autoclosure () -> String) { if !ok { problems.append(message()) } }
        expect(stage.steps == Array(0..<expected), "steps \(stage.steps)")
        expect(stage.metricNames == ["loss", "lr", "kl"], "metric names \(stage.metricNames)")
        let loss = try stage.metric("loss")
        expect(loss == (0..<expected).map { 1.0 / Double($0 + 1) }, "loss \(loss)")
        let kl = try stage.metric("kl")
        for step in 0..<expected {
            expect(step < 2 ? kl[step].isNaN : kl[step] == 0.01 * Double(step), "kl[\(step)] = \(kl[step])")
        }
        let statSteps = (0..<expected).filter { $0 % statsEvery == 0 }
        expect(stage.tensorSteps == statSteps, "tensor steps \(stage.tensorSteps)")
        expect(stage.tensorNames == sizes.indices.map(tensorName), "tensor names \(stage.tensorNames)")
        for t in sizes.indices {
            expect(stage.tensorKinds(tensorName(t)) == TensorKind.allCases, "kinds of \(tensorName(t))")
            for kind in TensorKind.allCases {
                let rows = try stage.tensorStatistics(tensorName(t), kind: kind)
                expect(rows.count == statSteps.count, "\(tensorName(t)) \(kind) has \(rows.count) rows")
                for (row, step) in zip(rows, statSteps) {
                    let reference = referenceStatistics(buffer(t, kind, step: step))
                    expect(
                        approximatelyEqual(row, reference),
                        "\(tensorName(t)) \(kind) step \(step): \(row) != \(reference)")
                }
            }
        }
        expect(stage.activationNames == (0..<layers).map(layerName), "activation names \(stage.activationNames)")
        for l in 0..<layers {
            let rows = try stage.activationStatistics(layerName(l))
            for (row, step) in zip(rows, statSteps) {
                expect(approximatelyEqual(row, referenceStatistics(activation(l, step: step))), "activation \(l) step \(step)")
            }
        }
        let evalSteps = (0..<expected).filter { $0 % 3 == 2 }
        expect(stage.evalNames == ["accuracy", "pass@1"], "eval names \(stage.evalNames)")
        let lastMayBeMissing = killed && evalSteps.last == expected - 1
        expect(
            stage.evalSteps == evalSteps || (lastMayBeMissing && stage.evalSteps == Array(evalSteps.dropLast())),
            "eval steps \(stage.evalSteps)")
        expect(try stage.eval("accuracy") == stage.evalSteps.map { Double($0) / 10 }, "eval accuracy")
        let expectedRollouts = (0..<expected).flatMap { step in rollouts(step: step).map { RecordedRollout(step: step, sample: $0) } }
        let recorded = try stage.rollouts()
        expect(recorded == expectedRollouts, "rollouts differ: \(recorded.count) read, \(expectedRollouts.count) expected")
        return problems
    }
}
