import Foundation
import Recording

/// A small two-stage run (SFT, then GRPO with rollouts) whose values follow from the step.
enum ReportFixture {
    static let parameters = [
        ("model.embed_tokens.weight", 256), ("model.layers.0.self_attn.q_proj.weight", 64),
        ("model.layers.0.mlp.down_proj.weight", 96), ("model.layers.1.self_attn.q_proj.weight", 64),
        ("model.layers.1.mlp.down_proj.weight", 96), ("model.norm.weight", 8),
    ]

    static func buffer(_ p: Int, _ kind: TensorKind, _ step: Int) -> [Float] {
        let n = parameters[p].1
        let scale = kind == .value ? 0.05 : kind == .grad ? 0.01 / Double(step + 1) * Double(p + 1) : 1e-4
        return (0..<n).map { Float(scale * sin(Double($0 * 13 + p * 7 + step * 3 + kind.hashValueStable))) }
    }

    static func write(to path: String, created: String = "2025-01-01T00:00:00Z", steps: Int = 12, failAt: Int? = nil) throws {
        let run = try RunFile.create(
            at: path,
            attributes: RunAttributes(
                name: "fixture run", recipe: "seed(7)\nsft(policy, data: task.demonstrations)\ngrpo(policy, prompts: task.prompts)\n",
                seed: 7, threads: 2, version: "0.1.0", created: created))
        try run.setConfig(["learningRate": 3e-3, "packing": true, "model": "llama-tiny"])
        let sft = try run.stage("sft")
        try sft.setConfig(["epochs": 2])
        for step in 0..<steps {
            let loss = 2.5 * exp(-Double(step) / 5) + 0.1
            try sft.record(metrics: [
                "loss": loss, "lr": 3e-3 * min(1, Double(step + 1) / 4), "grad_norm": 1 / Double(step + 1), "tokens_per_second": 1000 + Double(step),
            ])
            for (p, (name, _)) in parameters.enumerated() {
                for kind in TensorKind.allCases {
                    try buffer(p, kind, step).withUnsafeBufferPointer { try sft.record(tensor: name, kind: kind, values: $0) }
                }
            }
            try sft.record(activation: "model.layers.0", stats: TensorStatistics(buffer(0, .value, step)))
            if let failAt, step == failAt {
                try run.recordError("loss is NaN (step \(step))", stage: "sft", step: step)
                try run.close()
                return
            }
            try sft.commit(step: step)
            if step % 4 == 3 { try sft.record(eval: ["loss": loss * 1.1, "accuracy": Double(step) / 20], at: step) }
        }
        let grpo = try run.stage("grpo", statsEvery: 2)
        for step in 0..<6 {
            try grpo.record(metrics: ["policy_loss": -0.01 * Double(step), "reward": Double(step) / 6, "kl": 0.001 * Double(step * step)])
            if grpo.recordsStatistics(atStep: step) {
                try buffer(1, .grad, step).withUnsafeBufferPointer {
                    try grpo.record(tensor: parameters[1].0, kind: .grad, values: $0)
                }
            }
            try grpo.record(
                rollouts: (0..<4).map { k in
                    RolloutSample(
                        promptIDs: [1, 2, Int32(step)], responseIDs: (0..<(3 + k)).map { Int32(10 * k + $0) },
                        reward: Double(k) / 3 + Double(step) / 10, advantages: [Double](repeating: Double(k) - 1.5, count: 3 + k),
                        promptText: k == 0 ? "Sort: 3 1 2" : nil, responseText: k == 0 ? "1 2 3 ```" : nil)
                })
            try grpo.commit(step: step)
        }
        try grpo.record(eval: ["pass@1": 0.5, "pass@4": 0.75], at: 5)
        try run.close()
    }
}

extension TensorKind {
    /// A fixed number per kind (`hashValue` changes between processes).
    var hashValueStable: Int { TensorKind.allCases.firstIndex(of: self)! * 101 }
}
