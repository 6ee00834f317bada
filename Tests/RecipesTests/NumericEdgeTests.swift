import Foundation
import Testing
@testable import Recipes

/// Numbers a builtin cannot use give a located error, never a crash: each case below used to
/// trap (SIGILL/SIGABRT) or start an unbounded allocation.
@Suite struct NumericEdgeTests {
    @Test(arguments: [
        "SyntheticTask.sortDigits(count: -1)", "SyntheticTask.sortDigits(count: 9999999)", "SyntheticTask.addition(count: -3)",
        "SyntheticTask.sortDigits(evalCount: -1)", "SyntheticTask.addition(count: 20000)", "SyntheticTask.sortDigits(digits: 3...40)",
        "Model.llama(intermediate: -1)", "Model.llama(intermediate: 0)", "Model.llama(intermediate: Int.max)",
        "Model.gpt2(maxPositions: -1)", "Model.gpt2(maxPositions: Int.max)", "Model.gpt2(maxPositions: Int.min)",
        "Model.llama(hidden: Int.max)", "Model.llama(layers: 100000)", "Model.llama(heads: 0)", "Model.llama(kvHeads: -2)",
        "Model.llama(hidden: 16384, layers: 64)",
    ])
    func badNumbersAreLocatedErrors(call: String) {
        let error = failure("let x = 1\nlet y = \(call)\n")
        #expect(error != "no error", "\(call)")
        #expect(error.contains("line 2"), "\(call): \(error)")
    }

    @Test func theRangeIsInTheReference() {
        let help = Registry.recipes.staticMembers("llama", of: "Model").first!.parameters.first { $0.name == "hidden" }!
        #expect(help.documentation == "Hidden size. 1…65_536.")
    }

    @Test(arguments: [
        "maxEpochs: 9999999", "maxEpochs: Int.max", "microTrainBatchSize: 1099511627776", "maxLen: Int.max", "saveSteps: -2", "evalSteps: -5",
    ])
    func trainerOptionsOutOfRangeAreRefused(option: String) {
        let error = failure(
            """
            let task = SyntheticTask.sortDigits(count: 16, evalCount: 4)
            let policy = Model.llama(hidden: 8, layers: 1, heads: 2)
            sft(policy, data: task.demonstrations, \(option))
            """)
        #expect(error.contains("must be between") || error.contains("at most"), "\(option): \(error)")
        #expect(error.contains("line 3"), "\(option): \(error)")
    }
}
