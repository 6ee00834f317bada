// Probe: how often the base SmolLM2-135M-Instruct answers short questions right, greedy, through its
// chat template, on 117 held-out questions of five families (recipes/data/smollm2_probe.jsonl, made
// by tools/make_smollm2_rl_data.py), under two rewards that length alone cannot win:
//
//   exactAnswer  the whole response IS the label (case, white space, trailing punctuation aside)
//   finalAnswer  the response ENDS in the label: "7 * 8 = 56" and "The capital of Peru is Lima."
//                score 1; a sentence cut off before the answer scores 0, and only the last words
//                count, so naming several candidates gains nothing over naming one
//
// Measured (seed 1, Q4_1 weights, 16 new tokens), greedy pass@1 per family:
//
//   family          exactAnswer  finalAnswer   finalAnswer sampled (4 per question, temperature 1;
//                                               per family from the samples the run file keeps)
//   multiplication     0.00         0.14          0.08
//   addition           0.00         0.08          0.00
//   successor          0.00         0.08          0.00
//   capitals           0.00         0.67          0.06
//   antonyms           0.00         0.61          0.12
//
// The model never gives the bare answer: it wraps it in a sentence ("The opposite of wet is dry.",
// "2 * 8 = 16") or starts working it out and is cut off ("To find 7 times 8, we can use the formula
// for…"). Sampled at temperature 1 (8 per question, 12 new tokens), 1 response in 936 was exact:
// too rare for RL to learn from in minutes. So recipes/smollm2_grpo.swift uses
// finalAnswer on the three families with room to grow and enough sampled successes: products of
// single digits (greedy 0.14), antonyms and capitals. Two-digit sums and successors are rarely right
// even sampled.
//
//     scripts/fetch-smollm2 && rlhf run recipes/smollm2_probe.swift        (about 3.5 minutes on 2 cores)
import Recipes

seed(1)
let probe = TrainingData.load("recipes/data/smollm2_probe.jsonl", kind: .prompts, evalPath: "recipes/data/smollm2_probe.jsonl",
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
// 1 when the whole response is one of the label's accepted answers ("|"-separated), else 0.
func exactAnswer(_ prompt: String, _ response: String, _ label: String) -> Double {
    let answer = normalised(response)
    for accepted in label.split(separator: "|") where normalised(String(accepted)) == answer {
        return 1.0
    }
    return 0.0
}
// 1 when the response's last words are one of the accepted answers, else 0.
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

let base = Model.smolLM2()
print("exact:", evaluate(base, on: probe, labeledReward: exactAnswer, maxNewTokens: 16))
print("final:", evaluate(base, on: probe, labeledReward: finalAnswer, maxNewTokens: 16))
print("final, sampled:", evaluateSamples(base, on: probe, n: 4, temperature: 1.0, maxNewTokens: 16, labeledReward: finalAnswer))
for question in ["What is 7 times 8? Answer with the number only.", "What is 23 plus 45? Answer with the number only.",
                 "What number comes after 41? Answer with the number only.", "What is the capital of Peru? Answer with the city only.",
                 "What is the opposite of wet? Answer with one word only."] {
    print(question, "→", base.generate(question, maxNewTokens: 16, chat: true))
}
