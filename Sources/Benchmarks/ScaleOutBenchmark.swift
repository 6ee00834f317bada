import Datasets
import Distributed
import Foundation
import Models
import Tensors
import Training

/// Data-parallel training steps: 2 ranks × 1 thread (through `mpirun`) against 1 rank × 2
/// threads, on the tiny-Llama bench shape (8 × 256 tokens) and the SmolLM2-135M shape (4 × 128,
/// random weights), one micro-batch per sequence, with the share of a step spent in collectives.
enum ScaleOutBenchmark {
    struct Shape {
        var name: String
        var config: ModelConfig
        var batch: Int
        var length: Int
        var steps: Int
    }

    static let shapes = [
        Shape(name: "tiny_llama", config: ModelBenchmarks.tinyLlama().config, batch: 8, length: 256, steps: 6),
        Shape(
            name: "smollm2_135m",
            config: .llama(
                vocabSize: 49_152, hiddenSize: 576, intermediateSize: 1536, layers: 30, heads: 9, kvHeads: 3, maxPositions: 2048,
                normEps: 1e-5, ropeTheta: 100_000, tieWordEmbeddings: true),
            batch: 4, length: 128, steps: 3),
    ]

    static func run() throws -> [String: Any] {
        let world = World.shared
        guard world.size == 1 else { return try measureAll(world) }
        Parallel.threads = 2
        let here = try measureAll(world)
        let spread = try twoRanks()
        var results: [String: Any] = ["one_rank_two_threads": here, "two_ranks_one_thread": spread]
        for shape in shapes {
            if let one = (here[shape.name] as? [String: Any])?["step_s"] as? Double,
                let two = ((spread[shape.name] as? [String: Any])?["step_s"] as? Double)
            {
                results["\(shape.name)_speedup_two_ranks"] = one / two
            }
        }
        return results
    }

    /// Median step time and collective time per step, on this process's world.
    static func measureAll(_ world: World) throws -> [String: Any] {
        var results: [String: Any] = ["ranks": world.size, "threads": Parallel.threads]
        for shape in shapes { results[shape.name] = try measure(shape, world: world) }
        return results
    }

    static func measure(_ shape: Shape, world: World) throws -> [String: Any] {
        let model = CausalLM(config: shape.config, rng: RNG(seed: 1))
        var rng = RNG(seed: 2)
        let data = (0..<shape.batch).map { _ in
            SFTExample(
                ids: (0..<shape.length).map { _ in rng.int(below: shape.config.vocabSize) },
                lossMask: [Float](repeating: 1, count: shape.length))
        }
        var options = TrainingOptions()
        options.trainBatchSize = shape.batch
        options.microTrainBatchSize = 1
        options.maxLen = shape.length
        options.maxEpochs = shape.steps + 1
        options.learningRate = 1e-5
        let context = RunContext(seed: 3)
        context.world = world
        var stepTimes: [Double] = [], collectiveTimes: [Double] = []
        var last = DispatchTime.now().uptimeNanoseconds
        context.onProgress = { progress in
            guard case .step = progress else { return .continue }
            let now = DispatchTime.now().uptimeNanoseconds
            stepTimes.append(Double(now - last) / 1e9)
            collectiveTimes.append(world.takeCollectiveSeconds())
            last = now
            return .continue
        }
        _ = try trainSFT(model, data: data, options: options, context: context)
        // The first step warms up buffers.
        let steps = Array(stepTimes.dropFirst()).sorted(), collectives = Array(collectiveTimes.dropFirst()).sorted()
        let step = steps[steps.count / 2], collective = collectives[collectives.count / 2]
        return [
            "batch": shape.batch, "sequence": shape.length, "parameters": shape.config.parameterCount, "step_s": step,
            "train_tokens_per_s": Double(shape.batch * shape.length) / step, "collectives_s": collective,
            "collectives_share": collective / step,
        ]
    }

    /// Runs this section again under `mpirun -np 2 … --threads 1` and reads rank 0's JSON.
    static func twoRanks() throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = World.mpirun(ranks: 2, program: [CommandLine.arguments[0], "bench", "--only", "ranks", "--threads", "1"])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let section = json["ranks"] as? [String: Any]
        else {
            return ["skipped": "mpirun -np 2 failed (exit \(process.terminationStatus)); scripts/setup installs Open MPI"]
        }
        return section
    }
}
