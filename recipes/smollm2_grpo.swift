// GRPO on SmolLM2-135M-Instruct with LoRA adapters: short questions through the model's chat
// template — products of single digits, antonyms, capitals (recipes/data/smollm2_rl_*.jsonl, made by
// tools/make_smollm2_rl_data.py; 150 training and 69 held-out questions, none in both) — rewarded 1
// when the response ENDS in the answer and 0 otherwise. Length cannot win: a short wrong answer and a
// sentence cut off at 16 tokens both score 0, and only the last words count, so naming several
// candidates gains nothing over naming one. recipes/smollm2_probe.swift shows
// why not the stricter "the response IS the answer": the base model never answers bare (0 of 117
// greedy, about 1 in 1000 sampled), so that reward gives RL nothing to learn from.
//
// Held-out greedy pass@1 (evalSteps, recorded in the run file; 23 antonyms, 24 capitals,
// 22 products), before training and after 2, 4, 6 rollouts of 8 prompts × 4 samples:
//
//   seed 5   0.48 → 0.74 → 0.80 → 0.74     products 0.14 → 0.64, antonyms 0.61 → 0.87, capitals 0.67 → 0.71
//   seed 1   0.48 → 0.72 → 0.77 → 0.70     products 0.14 → 0.73, antonyms 0.61 → 0.70, capitals 0.67 → 0.67
//   seed 2   0.48 → 0.75 → 0.74 → 0.80     products 0.14 → 0.91, antonyms 0.61 → 0.83, capitals 0.67 → 0.67
//
// The policy learns to state the result ("5 times 9 is 45.") instead of starting a derivation it
// cannot finish in 16 tokens ("To find 7 times 8, we can use the formula for…"); responses shorten
// from 10.9 to about 9 tokens but stay sentences (exactAnswer is still 0 at the end). Run longer
// at this learning rate and the held-out score drifts back (seed 5, 12 rollouts: 0.62); the reports
// of the three runs are in results/smollm2_grpo/.
//
//     scripts/fetch-smollm2 && rlhf run recipes/smollm2_grpo.swift [--seed 1]
//
// About 2.7 minutes wall (release build, 2 cores, nothing else running).
import Recipes

seed(5)
let prompts = TrainingData.load("recipes/data/smollm2_rl_train.jsonl", kind: .prompts, evalPath: "recipes/data/smollm2_rl_eval.jsonl",
                                applyChatTemplate: true)

// Lower case, single spaces, no emphasis marks, no trailing punctuation.
func normalised(_ text: String) -> String {
    let spaced = text.lowercased().replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
    var answer = spaced.replacingOccurrences(of: "*", with: " ").split(separator: " ").joined(separator: " ")
    while answer.hasSuffix(".") || answer.hasSuffix("!") || answer.hasSuffix(",") || answer.hasSuffix(";") || answer.hasSuffix(":") {
        answer = String(answer.dropLast())
    }
    return answer.trimmingCharacters(in: .whitespaces)
}
// 1 when the response's last words are one of the label's accepted answers ("|"-separated), else 0.
func finalAnswer(_ prompt: String, _ response: String, _ label: String) -> Double {
    let words = normalised(response).split(separator: " ")
    for accepted in label.split(separator: "|") {
        let answer = normalised(String(accepted))
        if words.suffix(answer.split(separator: " ").count).joined(separator: " ") == answer {
            return 1.0
        }
    }
    return 0.0
}
// 1 when the whole response is one of the accepted answers: the stricter score, for comparison.
func exactAnswer(_ prompt: String, _ response: String, _ label: String) -> Double {
    let answer = normalised(response)
    for accepted in label.split(separator: "|") where normalised(String(accepted)) == answer {
        return 1.0
    }
    return 0.0
}

let learningRate = 2e-3
let rollouts = 6
let base = Model.smolLM2()
let policy = base.copy()
policy.lora(rank: 8, alpha: 16, targets: ["q_proj", "k_proj", "v_proj", "o_proj"])
let run = grpo(policy, reference: base.frozen(), prompts: prompts, labeledReward: finalAnswer, nSamplesPerPrompt: 4, rolloutBatchSize: 8,
               numEpisodes: 2, learningRate: learningRate, microTrainBatchSize: 8, trainBatchSize: 32, generateMaxLen: 16, temperature: 0.7,
               initKLCoef: 0.01, evalSteps: 2, evalNSamplesPerPrompt: 1, evalTemperature: 0, maxSteps: rollouts)
print(run)
print("exact:", evaluate(policy, on: prompts, labeledReward: exactAnswer, maxNewTokens: 16))
