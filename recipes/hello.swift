// A first recipe: the recipe language and its core builtins, no training.
//
//   rlhf run recipes/hello.swift
//   rlhf run recipes/hello.swift --set steps=20 --set decay=0.5
import Recipes

seed(42)
let steps = 10
let decay = 0.8

/// A pretend loss curve: exponential decay towards a floor.
func loss(at step: Int, floor: Double = 0.1) -> Double {
    floor + (1.0 - floor) * pow(decay, Double(step))
}

var losses: [Double] = []
for step in 0..<steps {
    losses.append(loss(at: step))
}

let best = losses.min() ?? 0
let halved = losses.firstIndex { $0 < 0.55 }
print("final loss \(formatted(losses[losses.count - 1], digits: 3)), best \(formatted(best, digits: 3))")
if let halved {
    print("below 0.55 from step \(halved)")
} else {
    print("never below 0.55")
}
table(columns: ["step", "loss"], rows: losses.enumerated().map { [$0.offset, formatted($0.element, digits: 3)] })
