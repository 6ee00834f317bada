import Foundation
import Models
import Tensors
import WeightFiles

/// A training checkpoint: everything needed to resume bit for bit.
///
/// A checkpoint is a folder:
/// ```
/// model.safetensors       every parameter, by its HuggingFace name
/// optimizer.safetensors   AdamW moments: "<name>.exp_avg", "<name>.exp_avg_sq"
/// state.json              step, AdamW step counts, random streams, sampler cursor, schedule, trainer extras
/// ```
/// It is written into `<folder>.partial` and renamed, so a crash leaves the previous checkpoint whole.
public enum Checkpoint {
    /// Writes `parameters`, the optimizer's moments and `state` into `directory`.
    public static func save<State: Codable>(to directory: URL, parameters: [(name: String, tensor: Tensor)],
                                              optimizer: AdamW, state: State) throws {
        let fm = FileManager.default
        let partial = directory.deletingLastPathComponent()
            .appendingPathComponent(directory.lastPathComponent + ".partial")
        try? fm.removeItem(at: partial)
        try fm.createDirectory(at: partial, withIntermediateDirectories: true)

        var weights: [String: SafetensorsTensor] = [:]
        for (name, t) in parameters { weights[name] = SafetensorsTensor(shape: t.shape, values: t.data) }
        try SafetensorsFile.write(weights, to: partial.appendingPathComponent("model.safetensors"))

        var moments: [String: SafetensorsTensor] = [:]
        var steps: [String: Int] = [:]
        for (index, m) in optimizer.state.parameters.enumerated() {
            let name = parameters[index].name
            steps[name] = m.step
            guard !m.expAvg.isEmpty else { continue }
            moments[name + ".exp_avg"] = SafetensorsTensor(shape: [m.count], values: m.expAvg)
            moments[name + ".exp_avg_sq"] = SafetensorsTensor(shape: [m.count], values: m.expAvgSq)
        }
        try SafetensorsFile.write(moments, to: partial.appendingPathComponent("optimizer.safetensors"))

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let envelope = Envelope(optimizerSteps: steps, state: state)
        try encoder.encode(envelope).write(to: partial.appendingPathComponent("state.json"))

        if fm.fileExists(atPath: directory.path) { try fm.removeItem(at: directory) }
        try fm.moveItem(at: partial, to: directory)
    }

    /// Restores `parameters` and the optimizer from `directory` and returns the saved state.
    public static func load<State: Codable>(from directory: URL, parameters: [(name: String, tensor: Tensor)],
                                              optimizer: AdamW, as: State.Type) throws -> State {
        let stateURL = directory.appendingPathComponent("state.json")
        guard FileManager.default.fileExists(atPath: stateURL.path) else {
            throw TrainingError.checkpoint("\(directory.path) is not a checkpoint (no state.json)")
        }
        let envelope: Envelope<State>
        do {
            envelope = try JSONDecoder().decode(Envelope<State>.self, from: Data(contentsOf: stateURL))
        } catch {
            throw TrainingError.checkpoint("\(stateURL.path): cannot read the saved state (\(error))")
        }
        let weights = try SafetensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        for (name, t) in parameters {
            guard weights.tensors[name] != nil else {
                throw TrainingError.checkpoint("\(directory.path) has no weights for \(name); was it written by another model?")
            }
            let values = try weights.floats(name)
            guard values.count == t.count else {
                throw TrainingError.checkpoint("\(name) has \(values.count) values in the checkpoint, the model has \(t.count)")
            }
            t.data = values
        }
        let moments = try SafetensorsFile(url: directory.appendingPathComponent("optimizer.safetensors"))
        var state = optimizer.state
        for (index, (name, t)) in parameters.enumerated() {
            state.parameters[index].step = envelope.optimizerSteps[name] ?? 0
            if moments.tensors[name + ".exp_avg"] != nil {
                state.parameters[index].expAvg = try moments.floats(name + ".exp_avg")
                state.parameters[index].expAvgSq = try moments.floats(name + ".exp_avg_sq")
            } else {
                state.parameters[index].expAvg = []
                state.parameters[index].expAvgSq = []
            }
            _ = t
        }
        try optimizer.restore(state)
        return envelope.state
    }

    private struct Envelope<State>: Codable where State: Codable {
        var optimizerSteps: [String: Int]
        var state: State
    }
}

