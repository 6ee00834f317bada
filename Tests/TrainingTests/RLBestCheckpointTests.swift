// saveBest: the checkpoint of the best evaluation, and the run file's record of its step.

import Foundation
import Recording
import Testing
import Training

extension RLTrainerTests {
    @Test func saveBestKeepsTheCheckpointOfTheHighestEvalPassAt1() throws {
        let dir = try rlTemporaryDirectory()
        let url = dir.appendingPathComponent("best.h5")
        let run = try rlRunFile(url, seed: 7)
        let checkpoints = dir.appendingPathComponent("ckpt")
        let summary = try learn(.groupNorm, rollouts: 6, runFile: run) { o in
            o.evalSteps = 1
            o.saveBest = "eval_pass1"
            o.ckptPath = checkpoints.path
        }.summary
        try run.close()
        let passAt1 = summary.evaluations.map(\.result.passAt1)
        let best = passAt1.max()!
        let bestRollout = summary.evaluations[passAt1.firstIndex(of: best)!].rollout
        // The run file: every evaluation carries the best so far; the last one the run's best.
        let stage = try RunReader(path: url.path).stage(summary.stage)
        let steps = try stage.eval("best_step"), values = try stage.eval("best_value")
        #expect(steps.last == Double(bestRollout) && values.last == best, "best \(best) at rollout \(bestRollout); recorded \(steps), \(values)")
        #expect(zip(values, passAt1).allSatisfy { $0 >= $1 } && values == values.sorted())
        // The folder: `best` holds that rollout's checkpoint, beside the step_N ones.
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: checkpoints.appendingPathComponent("best/state.json")))
        #expect((state as? [String: Any])?["step"] as? Int == bestRollout)
        #expect(CheckpointFolder(root: checkpoints).steps() == [6])

        #expect(throws: TrainingError.self) {
            _ = try learn(.groupNorm, rollouts: 1) { o in
                o.saveBest = "eval_no_such_metric"
                o.ckptPath = dir.appendingPathComponent("other").path
            }
        }
    }
}
