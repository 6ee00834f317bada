import Foundation
import Tensors
import Tokenizers

// Synthetic tasks small enough that a 2-layer model with a byte tokenizer learns them in seconds,
// with every data kind the trainers need, generated bit-identically from a seed. Their records
// use OpenRLHF's default keys, so the same loaders read them as they read JSONL files.

/// One problem of a synthetic task: the prompt the model sees and the correct answer.
public struct SyntheticProblem: Sendable, Hashable, Codable {
    /// What the model sees, e.g. "3 1 2=".
    public var prompt: String
    /// The correct response, e.g. "123".
    public var answer: String

    public init(prompt: String, answer: String) {
        self.prompt = prompt
        self.answer = answer
    }
}

/// The records of one split of a synthetic task, in OpenRLHF's formats with its default keys.
public struct SyntheticSplit: Sendable {
    /// "train" or "eval".
    public let name: String
    /// The problems, in generation order.
    public let problems: [SyntheticProblem]
    /// SFT records: `input` (prompt), `output` (correct answer).
    public let demonstrations: [Record]
    /// Preference records: `prompt`, `chosen` (correct), `rejected` (a plausible wrong answer).
    public let preferences: [Record]
    /// Unpaired records: `input`, `output`, `label` (true for a correct answer); alternately
    /// desirable and undesirable.
    public let unpaired: [Record]
    /// Prompt records: `input`, `label` (the answer), `datasource` (the task's name).
    public let prompts: [Record]
    /// Process-reward records: `input` (prompt, then each answer character followed by the
    /// placeholder "#") and `label` ("+" for a step on the way to the answer, "-" from the first
    /// wrong step on); every other answer is wrong.
    public let processRewards: [Record]
}

/// A generated task with a programmatic answer and score: digit sorting or addition.
///
/// ```swift
/// let task = SyntheticTask.sortDigits(count: 4000)
/// task.train.problems[0]                 // prompt "3 1 2=", answer "123"
/// task.score("3 1 2=", "132")            // partial credit: 1/3
/// let sft = try SFTDataset.load(task.demonstrations, tokenizer: task.tokenizer, maxLen: task.maxLen)
/// ```
///
/// Problems, wrong answers and labels come from the stream `rng` forked by split and purpose, so the
/// same arguments give the same records on every run. The eval split is generated first from its
/// own stream, and training problems never repeat an eval prompt, so the eval split stays the
/// same when `count` changes.
public struct SyntheticTask: Sendable {
    /// What is computed.
    public enum Kind: Sendable, Hashable, Codable {
        /// Sort the digits of the prompt ("3 1 2=" → "123"); `digits` is the range of how many.
        case sortDigits(digits: ClosedRange<Int>)
        /// Add two numbers ("12+34=" → "46"), each in `0...maxOperand`.
        case addition(maxOperand: Int)
    }

    /// The task's name, also the prompts' `datasource`: "sort_digits" or "addition".
    public let name: String
    /// The computation and its size.
    public let kind: Kind
    /// The training split.
    public let train: SyntheticSplit
    /// The held-out split: no prompt of it is in `train`.
    public let eval: SyntheticSplit

    /// The placeholder token that ends each step in ``SyntheticSplit/processRewards``.
    public static let placeholderToken = "#"
    /// The reward tokens of the process-reward labels: correct step, wrong step.
    public static let rewardTokens = ["+", "-"]

    /// Digit sorting: `count` training and `evalCount` eval problems of `digits` random digits.
    public static func sortDigits(
        count: Int = 4000, evalCount: Int = 200, digits: ClosedRange<Int> = 3...6,
        rng: RNG = RNG(seed: 0)
    ) -> SyntheticTask {
        precondition(digits.lowerBound >= 1, "sortDigits: needs at least one digit")
        return SyntheticTask(name: "sort_digits", kind: .sortDigits(digits: digits), count: count, evalCount: evalCount, rng: rng)
    }

    /// Addition of two numbers in `0...maxOperand`: `count` training and `evalCount` eval problems.
    public static func addition(count: Int = 4000, evalCount: Int = 200, maxOperand: Int = 99, rng: RNG = RNG(seed: 0)) -> SyntheticTask {
        precondition(maxOperand >= 1, "addition: maxOperand must be at least 1")
        return SyntheticTask(name: "addition", kind: .addition(maxOperand: maxOperand), count: count, evalCount: evalCount, rng: rng)
    }

    /// Why a task of `kind` cannot hold `count` training and `evalCount` eval problems, or nil:
    /// a negative size, or more distinct problems than the task has. Callers that take sizes from
    /// users check it first; the initialiser traps on it.
    public static func sizeProblem(_ kind: Kind, count: Int, evalCount: Int) -> String? {
        if count < 0 || evalCount < 0 { return "count (\(count)) and evalCount (\(evalCount)) must be ≥ 0" }
        let space = kind.problemCount
        guard Double(count) + Double(evalCount) <= space else {
            return "\(count) + \(evalCount) distinct problems asked for, but the task has only \(Int(space)); lower count or widen the task"
        }
        return nil
    }

    init(name: String, kind: Kind, count: Int, evalCount: Int, rng: RNG) {
        if let problem = Self.sizeProblem(kind, count: count, evalCount: evalCount) { preconditionFailure("\(name): \(problem)") }
        self.name = name
        self.kind = kind
        let root = rng.fork("synthetic-\(name)")
        var seen = Set<String>()
        let evalProblems = kind.problems(evalCount, rng: root.fork("eval"), excluding: &seen)
        let trainProblems = kind.problems(count, rng: root.fork("train"), excluding: &seen)
        eval = kind.split("eval", evalProblems, task: name, rng: root.fork("eval-records"))
        train = kind.split("train", trainProblems, task: name, rng: root.fork("train-records"))
    }

    /// Training SFT records (`input`, `output`).
    public var demonstrations: [Record] { train.demonstrations }
    /// Training preference records (`prompt`, `chosen`, `rejected`).
    public var preferences: [Record] { train.preferences }
    /// Training unpaired records (`input`, `output`, `label`).
    public var unpaired: [Record] { train.unpaired }
    /// Training prompt records (`input`, `label`, `datasource`).
    public var prompts: [Record] { train.prompts }
    /// Training process-reward records (`input`, `label`).
    public var processRewards: [Record] { train.processRewards }

    /// The byte tokenizer the task is designed for.
    public var tokenizer: ByteTokenizer { ByteTokenizer() }

    /// A `maxLen` that fits every prompt, answer and EOS of the task with the byte tokenizer.
    public var maxLen: Int {
        let longest = (train.problems + eval.problems).map { $0.prompt.utf8.count + $0.answer.utf8.count }.max() ?? 0
        return longest + 2
    }

    /// The correct answer to `prompt` (the problem is read from the text before its last "=", so a
    /// templated prompt works too), or nil when the prompt holds no problem of this task.
    public func answer(to prompt: String) -> String? { kind.answer(to: prompt) }

    /// The reward of `response` to `prompt`, in [0, 1]: 1 for the exact answer (surrounding
    /// whitespace ignored), else the fraction of answer positions that match (digits aligned left
    /// for sorting, right for sums) over the longer of the two lengths; 0 when the prompt is not
    /// a problem of this task.
    public func score(_ prompt: String, _ response: String) -> Double {
        guard let answer = answer(to: prompt) else { return 0 }
        let r = Array(response.trimmingCharacters(in: .whitespacesAndNewlines)), a = Array(answer)
        if r == a { return 1 }
        let n = max(r.count, a.count)
        guard n > 0 else { return 0 }
        var matches = 0
        switch kind {
        case .sortDigits:
            for i in 0..<min(r.count, a.count) where r[i] == a[i] { matches += 1 }
        case .addition:
            for i in 1...min(r.count, a.count) where r[r.count - i] == a[a.count - i] { matches += 1 }
        }
        return Double(matches) / Double(n)
    }

    /// Writes each split's records as JSONL files in `directory` (`train_sft.jsonl`,
    /// `eval_prompts.jsonl`, …), byte-identical for the same task.
    public func writeJSONL(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for split in [train, eval] {
            for (kind, records) in [
                ("sft", split.demonstrations), ("preference", split.preferences), ("unpaired", split.unpaired),
                ("prompts", split.prompts), ("process_reward", split.processRewards),
            ] {
                try JSONLines.write(records, to: (directory as NSString).appendingPathComponent("\(split.name)_\(kind).jsonl"))
            }
        }
    }
}

extension SyntheticTask.Kind {
    /// The number of distinct problems.
    var problemCount: Double {
        switch self {
        case .sortDigits(let digits): return digits.reduce(0.0) { $0 + pow(10, Double($1)) }
        case .addition(let maxOperand): return Double(maxOperand + 1) * Double(maxOperand + 1)
        }
    }

    /// `count` new problems whose prompts are not in `seen` (which they are added to).
    func problems(_ count: Int, rng: RNG, excluding seen: inout Set<String>) -> [SyntheticProblem] {
        var rng = rng
        var out: [SyntheticProblem] = []
        while out.count < count {
            let problem = random(&rng)
            if seen.insert(problem.prompt).inserted { out.append(problem) }
        }
        return out
    }

    func random(_ rng: inout RNG) -> SyntheticProblem {
        switch self {
        case .sortDigits(let digits):
            let n = digits.lowerBound + rng.int(below: digits.count)
            let values = (0..<n).map { _ in rng.int(below: 10) }
            return SyntheticProblem(
                prompt: values.map(String.init).joined(separator: " ") + "=",
                answer: values.sorted().map(String.init).joined())
        case .addition(let maxOperand):
            let a = rng.int(below: maxOperand + 1), b = rng.int(below: maxOperand + 1)
            return SyntheticProblem(prompt: "\(a)+\(b)=", answer: String(a + b))
        }
    }

    /// A plausible wrong answer: a near miss of the kind a model makes.
    func wrongAnswer(_ problem: SyntheticProblem, rng: inout RNG) -> String {
        var answer = Array(problem.answer)
        let original = answer
        for _ in 0..<16 {
            answer = original
            switch (self, rng.int(below: 3)) {
            case (.sortDigits, 0):  // two neighbours out of order
                if answer.count >= 2 { let i = rng.int(below: answer.count - 1); answer.swapAt(i, i + 1) }
            case (.sortDigits, 1):  // a digit dropped
                answer.remove(at: rng.int(below: answer.count))
            case (.sortDigits, _):  // a digit replaced
                answer[rng.int(below: answer.count)] = Character(String(rng.int(below: 10)))
            case (.addition, 0):  // off by one in the last digit
                let value = Int(String(answer))! + (rng.int(below: 2) == 0 ? 1 : -1)
                answer = Array(String(abs(value)))
            case (.addition, 1):  // off by ten
                let value = Int(String(answer))! + (rng.int(below: 2) == 0 ? 10 : -10)
                answer = Array(String(abs(value)))
            case (.addition, _):  // carries forgotten
                let operands = problem.prompt.dropLast().split(separator: "+").map { Array(String($0).reversed()) }
                var digits: [Character] = []
                for i in 0..<max(operands[0].count, operands[1].count) {
                    let x = i < operands[0].count ? operands[0][i].wholeNumberValue! : 0
                    let y = i < operands[1].count ? operands[1][i].wholeNumberValue! : 0
                    digits.append(Character(String((x + y) % 10)))
                }
                answer = Array(String(String(digits.reversed()).drop(while: { $0 == "0" })))
                if answer.isEmpty { answer = ["0"] }
            }
            if answer != original && !answer.isEmpty { return String(answer) }
        }
        // Every near miss coincided with the answer (e.g. "000"); append a digit instead.
        return String(original) + "1"
    }

    func answer(to prompt: String) -> String? {
        guard let equals = prompt.lastIndex(of: "=") else { return nil }
        let body = Array(prompt[..<equals])
        var start = body.count
        switch self {
        case .sortDigits:
            while start > 0, body[start - 1].isASCII, body[start - 1].isNumber || body[start - 1] == " " { start -= 1 }
            let digits = body[start...].filter { $0 != " " }
            guard !digits.isEmpty else { return nil }
            return String(digits.sorted())
        case .addition:
            while start > 0, body[start - 1].isASCII, body[start - 1].isNumber || body[start - 1] == "+" { start -= 1 }
            let parts = String(body[start...]).split(separator: "+", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else { return nil }
            return String(a + b)
        }
    }

    /// The records of a split.
    func split(_ name: String, _ problems: [SyntheticProblem], task: String, rng: RNG) -> SyntheticSplit {
        let file = "\(task)/\(name)"
        var demonstrations: [Record] = [], preferences: [Record] = [], unpaired: [Record] = []
        var prompts: [Record] = [], processRewards: [Record] = []
        for (i, p) in problems.enumerated() {
            var stream = rng.fork(i)
            let wrong = wrongAnswer(p, rng: &stream)
            let line = i + 1
            demonstrations.append(Record(["input": .string(p.prompt), "output": .string(p.answer)], file: file, line: line))
            preferences.append(
                Record(
                    ["prompt": .string(p.prompt), "chosen": .string(p.answer), "rejected": .string(wrong)],
                    file: file, line: line))
            let desirable = i % 2 == 0
            unpaired.append(
                Record(
                    ["input": .string(p.prompt), "output": .string(desirable ? p.answer : wrong), "label": .bool(desirable)],
                    file: file, line: line))
            prompts.append(Record(["input": .string(p.prompt), "label": .string(p.answer), "datasource": .string(task)], file: file, line: line))
            let response = Array(i % 2 == 0 ? p.answer : wrong), answer = Array(p.answer)
            var text = p.prompt
            var labels: [JSONValue] = []
            for k in 0..<response.count {
                text += String(response[k]) + SyntheticTask.placeholderToken
                let onTrack = k < answer.count && Array(response[...k]) == Array(answer[...k])
                let complete = k < response.count - 1 || response == answer
                labels.append(.string(onTrack && complete ? SyntheticTask.rewardTokens[0] : SyntheticTask.rewardTokens[1]))
            }
            processRewards.append(Record(["input": .string(text), "label": .array(labels)], file: file, line: line))
        }
        return SyntheticSplit(
            name: name, problems: problems, demonstrations: demonstrations, preferences: preferences,
            unpaired: unpaired, prompts: prompts, processRewards: processRewards)
    }
}
