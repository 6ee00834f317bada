// GRPO on SmolLM2-135M-Instruct with LoRA adapters: questions about capitals through the model's
// chat template, rewarded when the answer names the city and is short. Two passes over 48 prompts,
// 8 prompts × 4 samples per rollout; only the adapters train, against the frozen base as the KL
// reference. The training reward rises over the 12 rollouts (seed 5: 0.17 → 0.47); the held-out
// countries barely move in so short a run.
//
//     scripts/setup && rlhf run recipes/smollm2_grpo.swift        (about 3 minutes on 2 cores)
import Recipes

seed(5)
let prompts = TrainingData.load("recipes/data/capitals_train.jsonl", kind: .prompts, evalPath: "recipes/data/capitals_eval.jsonl",
                                applyChatTemplate: true)
let capitals = [
    "France": "Paris", "Germany": "Berlin", "Italy": "Rome", "Spain": "Madrid", "Portugal": "Lisbon", "Japan": "Tokyo",
    "China": "Beijing", "Russia": "Moscow", "Egypt": "Cairo", "Greece": "Athens", "Austria": "Vienna", "Ireland": "Dublin",
    "Norway": "Oslo", "Sweden": "Stockholm", "Finland": "Helsinki", "Denmark": "Copenhagen", "Poland": "Warsaw",
    "Hungary": "Budapest", "Canada": "Ottawa", "Mexico": "Mexico City", "Peru": "Lima", "Chile": "Santiago",
    "Argentina": "Buenos Aires", "Kenya": "Nairobi", "Thailand": "Bangkok", "Vietnam": "Hanoi", "India": "New Delhi",
    "Iran": "Tehran", "Iraq": "Baghdad", "Cuba": "Havana", "Belgium": "Brussels", "Netherlands": "Amsterdam",
    "Czech Republic": "Prague", "Turkey": "Ankara", "Australia": "Canberra", "Brazil": "Brasilia", "South Korea": "Seoul",
    "Indonesia": "Jakarta", "Philippines": "Manila", "Colombia": "Bogota", "Venezuela": "Caracas", "Morocco": "Rabat",
    "Switzerland": "Bern", "Scotland": "Edinburgh", "England": "London", "Ukraine": "Kyiv", "Romania": "Bucharest",
    "Bulgaria": "Sofia", "Serbia": "Belgrade", "Croatia": "Zagreb", "Iceland": "Reykjavik", "New Zealand": "Wellington",
    "Pakistan": "Islamabad", "Nigeria": "Abuja", "Ethiopia": "Addis Ababa", "Saudi Arabia": "Riyadh",
    "Qatar": "Doha", "Lebanon": "Beirut", "Syria": "Damascus", "Jordan": "Amman", "Afghanistan": "Kabul",
    "Nepal": "Kathmandu", "Bangladesh": "Dhaka", "Malaysia": "Kuala Lumpur",
]

// 1 for naming the capital of the country asked about, halved when the answer runs past 20 characters.
let reward = { (prompt: String, response: String) -> Double in
    var named = 0.0
    for (country, city) in capitals where prompt.contains("of \(country)?") && response.lowercased().contains(city.lowercased()) {
        named = 1
    }
    return response.count <= 20 ? named : named / 2
}

let base = Model.smolLM2()
let policy = base.copy()
policy.lora(rank: 8, alpha: 16, targets: ["q_proj", "k_proj", "v_proj", "o_proj"])
let run = grpo(policy, reference: base.frozen(), prompts: prompts, reward: reward, nSamplesPerPrompt: 4, rolloutBatchSize: 8,
               numEpisodes: 2, learningRate: 1e-3, microTrainBatchSize: 8, trainBatchSize: 32, generateMaxLen: 24, initKLCoef: 0.01,
               evalSteps: 4, evalNSamplesPerPrompt: 2, evalTemperature: 0.7)
print(run)
print(policy.generate("What is the capital of Portugal? Answer with the name only.", maxNewTokens: 24, chat: true))
