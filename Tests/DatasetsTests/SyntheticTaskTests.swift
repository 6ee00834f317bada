// The synthetic tasks: deterministic, with a held-out split, and readable by every loader.

import Tensors
import Datasets
import Foundation
import Testing
import Tokenizers

@Suite struct SyntheticTaskTests {
    static let tasks: [SyntheticTask] = [
        .sortDigits(count: 300, evalCount: 50, rng: RNG(seed: 1)), .addition(count: 300, evalCount: 50, rng: RNG(seed: 1)),
    ]

    @Test(arguments: [0, 1])
    func generationIsDeterministic(_ index: Int) throws {
        let a = Self.tasks[index]
        let b =
            index == 0
            ? SyntheticTask.sortDigits(count: 300, evalCount: 50, rng: RNG(seed: 1)) : .addition(count: 300, evalCount: 50, rng: RNG(seed: 1))
        for (x, y) in [(a.train, b.train), (a.eval, b.eval)] {
            #expect(x.problems == y.problems)
            #expect(x.demonstrations == y.demonstrations && x.preferences == y.preferences && x.unpaired == y.unpaired)
            #expect(x.prompts == y.prompts && x.processRewards == y.processRewards)
        }
        let other =
            index == 0
            ? SyntheticTask.sortDigits(count: 300, evalCount: 50, rng: RNG(seed: 2)) : .addition(count: 300, evalCount: 50, rng: RNG(seed: 2))
        #expect(other.train.problems != a.train.problems)
        let bigger =
            index == 0
            ? SyntheticTask.sortDigits(count: 600, evalCount: 50, rng: RNG(seed: 1)) : .addition(count: 600, evalCount: 50, rng: RNG(seed: 1))
        #expect(bigger.eval.problems == a.eval.problems, "the eval split does not depend on the training size")
    }

    @Test func pinnedFirstProblems() {
        // Changing a generator changes every recipe's data: these pin it.
        let sort = SyntheticTask.sortDigits(count: 3, evalCount: 1, rng: RNG(seed: 0))
        for p in sort.train.problems + sort.eval.problems {
            #expect(p.answer == String(p.prompt.dropLast().split(separator: " ").joined().sorted()))
        }
        let add = SyntheticTask.addition(count: 3, evalCount: 1, rng: RNG(seed: 0))
        for p in add.train.problems {
            let parts = p.prompt.dropLast().split(separator: "+").map { Int($0)! }
            #expect(p.answer == String(parts[0] + parts[1]))
        }
    }

    @Test(arguments: [0, 1])
    func evalIsDisjointFromTrain(_ index: Int) {
        let task = Self.tasks[index]
        let train = Set(task.train.problems.map(\.prompt)), eval = Set(task.eval.problems.map(\.prompt))
        #expect(train.count == 300 && eval.count == 50)
        #expect(train.isDisjoint(with: eval))
    }

    @Test(arguments: [0, 1])
    func recordsLoadAndScoresAreConsistent(_ index: Int) throws {
        let task = Self.tasks[index]
        let tokenizer = task.tokenizer
        let sft = try SFTDataset.load(task.demonstrations, tokenizer: tokenizer, maxLen: task.maxLen)
        #expect(sft.count == 300 && sft.skipped.isEmpty)
        #expect(sft[0].ids.last == tokenizer.eosTokenID && sft[0].lossMask.last == 1)
        let prefs = try PreferenceDataset.load(task.preferences, tokenizer: tokenizer, maxLen: task.maxLen)
        #expect(prefs.count == 300 && prefs.allSatisfy { $0.chosenIDs != $0.rejectedIDs })
        let unpaired = try UnpairedDataset.load(task.unpaired, tokenizer: tokenizer, maxLen: task.maxLen)
        #expect(unpaired.filter(\.label).count == 150)
        let prompts = try PromptDataset.load(task.eval.prompts, tokenizer: tokenizer)
        #expect(prompts.allSatisfy { $0.datasource == task.name })
        let prm = try ProcessRewardDataset.load(
            task.processRewards, tokenizer: tokenizer, placeholderToken: SyntheticTask.placeholderToken,
            rewardTokens: SyntheticTask.rewardTokens, maxLen: 64)
        #expect(prm.count == 300)

        for (p, record) in zip(task.train.problems, task.preferences) {
            #expect(task.answer(to: p.prompt) == p.answer)
            #expect(task.score(p.prompt, p.answer) == 1)
            #expect(task.score(p.prompt, " \(p.answer)\n") == 1)
            let wrong = try record.string("rejected")
            let s = task.score(p.prompt, wrong)
            #expect(s >= 0 && s < 1)
        }
        for (p, record) in zip(task.train.problems, task.processRewards) {
            let labels = try record.value("label")
            let isCorrect = (try record.string("input")).filter { $0 != "#" } == p.prompt + p.answer
            #expect((labels == .array(Array(repeating: "+", count: p.answer.count))) == isCorrect)
        }
    }

    @Test func scoresGivePartialCredit() {
        let sort = Self.tasks[0], add = Self.tasks[1]
        #expect(sort.score("3 1 2=", "123") == 1)
        #expect(sort.score("3 1 2=", "132") == 1.0 / 3)
        #expect(sort.score("3 1 2=", "12") == 2.0 / 3)
        #expect(sort.score("Sort: 3 1 2=", "123") == 1, "a templated prompt is read from its end")
        #expect(sort.score("no problem here", "123") == 0)
        #expect(add.score("12+34=", "46") == 1)
        #expect(add.score("12+34=", "36") == 0.5)
        #expect(add.score("Q: 95+7=", "102") == 1)
        #expect(add.answer(to: "1+=") == nil)
    }

    @Test func jsonlExportIsByteStable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synthetic-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let task = SyntheticTask.sortDigits(count: 20, evalCount: 5, rng: RNG(seed: 3))
        try task.writeJSONL(to: dir)
        let first = try String(contentsOfFile: dir + "/train_preference.jsonl", encoding: .utf8)
        try SyntheticTask.sortDigits(count: 20, evalCount: 5, rng: RNG(seed: 3)).writeJSONL(to: dir)
        #expect(try String(contentsOfFile: dir + "/train_preference.jsonl", encoding: .utf8) == first)
        let back = try JSONLines.read(dir + "/eval_prompts.jsonl")
        #expect(back.map(\.fields) == task.eval.prompts.map(\.fields))
    }
}
