#!/usr/bin/env python3
"""Writes the prompt files of the SmolLM2 RL recipes into recipes/data/ (stdlib only, seeded).

    python3 tools/make_smollm2_rl_data.py [--seed 17] [--out recipes/data]

Five task families, each a short question whose answer is one word or one number, so a reward can
ask the response to BE the label (after normalising case, whitespace and trailing punctuation):

    multiplication  "What is 7 times 8? Answer with the number only."          56
    addition        "What is 23 plus 45? Answer with the number only."         68
    successor       "What number comes after 41? Answer with the number only." 42
    capitals        "What is the capital of France? Answer with the city only." Paris
    antonyms        "What is the opposite of hot? Answer with one word only."  cold|cool

A label may list several accepted answers separated by "|". Every family's pool is split into
training and held-out questions with no question (and, for multiplication, no unordered pair of
factors) in both; the script checks that and fails otherwise.

Files written:
    smollm2_probe.jsonl      24 held-out questions of every family (recipes/smollm2_probe.swift)
    smollm2_rl_train.jsonl   training prompts of the families recipes/smollm2_grpo.swift trains on
    smollm2_rl_eval.jsonl    their held-out prompts (never in the training file)
"""

import argparse
import json
import os
import random
import sys

# The families recipes/smollm2_grpo.swift trains on (chosen from the probe's figures).
TRAINED = ["multiplication", "antonyms", "capitals"]
# Held-out questions per family in the probe file and in the eval file.
PROBE_PER_FAMILY = 24
EVAL_PER_FAMILY = 24
# Training questions per family in the training file.
TRAIN_PER_FAMILY = 64

CAPITALS = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"),
    ("Portugal", "Lisbon"), ("Japan", "Tokyo"), ("China", "Beijing"), ("Russia", "Moscow"),
    ("Egypt", "Cairo"), ("Greece", "Athens"), ("Austria", "Vienna"), ("Ireland", "Dublin"),
    ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Finland", "Helsinki"), ("Denmark", "Copenhagen"),
    ("Poland", "Warsaw"), ("Hungary", "Budapest"), ("Canada", "Ottawa"), ("Mexico", "Mexico City"),
    ("Peru", "Lima"), ("Chile", "Santiago"), ("Argentina", "Buenos Aires"), ("Kenya", "Nairobi"),
    ("Thailand", "Bangkok"), ("Vietnam", "Hanoi"), ("India", "New Delhi"), ("Iran", "Tehran"),
    ("Iraq", "Baghdad"), ("Cuba", "Havana"), ("Belgium", "Brussels"), ("the Netherlands", "Amsterdam"),
    ("the Czech Republic", "Prague"), ("Turkey", "Ankara"), ("Australia", "Canberra"), ("Brazil", "Brasilia|Brasília"),
    ("South Korea", "Seoul"), ("Indonesia", "Jakarta"), ("the Philippines", "Manila"), ("Colombia", "Bogota|Bogotá"),
    ("Venezuela", "Caracas"), ("Morocco", "Rabat"), ("Switzerland", "Bern|Berne"), ("Ukraine", "Kyiv|Kiev"),
    ("Romania", "Bucharest"), ("Bulgaria", "Sofia"), ("Serbia", "Belgrade"), ("Croatia", "Zagreb"),
    ("Iceland", "Reykjavik|Reykjavík"), ("New Zealand", "Wellington"), ("Pakistan", "Islamabad"), ("Nigeria", "Abuja"),
    ("Ethiopia", "Addis Ababa"), ("Saudi Arabia", "Riyadh"), ("Qatar", "Doha"), ("Lebanon", "Beirut"),
    ("Syria", "Damascus"), ("Jordan", "Amman"), ("Afghanistan", "Kabul"), ("Nepal", "Kathmandu"),
    ("Bangladesh", "Dhaka"), ("Malaysia", "Kuala Lumpur"), ("Israel", "Jerusalem"), ("Ghana", "Accra"),
    ("Uganda", "Kampala"), ("Tunisia", "Tunis"), ("Algeria", "Algiers"), ("Libya", "Tripoli"),
    ("Sudan", "Khartoum"), ("Senegal", "Dakar"), ("Zimbabwe", "Harare"), ("Zambia", "Lusaka"),
    ("Ecuador", "Quito"), ("Uruguay", "Montevideo"), ("Paraguay", "Asuncion|Asunción"), ("Bolivia", "La Paz|Sucre"),
    ("Jamaica", "Kingston"), ("Slovakia", "Bratislava"), ("Slovenia", "Ljubljana"), ("Estonia", "Tallinn"),
    ("Latvia", "Riga"), ("Lithuania", "Vilnius"), ("Belarus", "Minsk"), ("Georgia", "Tbilisi"),
    ("Armenia", "Yerevan"), ("Mongolia", "Ulaanbaatar|Ulan Bator"), ("Cambodia", "Phnom Penh"), ("Singapore", "Singapore"),
    ("Taiwan", "Taipei"), ("North Korea", "Pyongyang"), ("Sri Lanka", "Colombo|Sri Jayawardenepura Kotte"), ("Luxembourg", "Luxembourg"),
]

ANTONYMS = [
    ("hot", "cold|cool"), ("big", "small|little"), ("tall", "short"), ("fast", "slow"), ("happy", "sad|unhappy"),
    ("light", "dark|heavy"), ("up", "down"), ("open", "closed|close|shut"), ("old", "new|young"), ("good", "bad|evil"),
    ("rich", "poor"), ("hard", "soft|easy"), ("early", "late"), ("wet", "dry"), ("full", "empty"),
    ("thick", "thin"), ("strong", "weak"), ("loud", "quiet|soft|silent"), ("clean", "dirty"), ("high", "low"),
    ("long", "short"), ("wide", "narrow"), ("deep", "shallow"), ("heavy", "light"), ("true", "false"),
    ("win", "lose"), ("push", "pull"), ("buy", "sell"), ("love", "hate"), ("begin", "end|finish"),
    ("first", "last"), ("inside", "outside"), ("above", "below|beneath|under"), ("before", "after"), ("left", "right"),
    ("day", "night"), ("black", "white"), ("north", "south"), ("east", "west"), ("friend", "enemy|foe"),
    ("question", "answer"), ("arrive", "depart|leave"), ("accept", "reject|refuse|decline"), ("add", "subtract|remove"),
    ("alive", "dead"), ("asleep", "awake"), ("brave", "cowardly|afraid|scared"), ("cheap", "expensive"), ("safe", "dangerous|unsafe"),
    ("smooth", "rough"), ("sweet", "sour|bitter"), ("near", "far"), ("present", "absent|past"), ("remember", "forget"),
    ("always", "never"), ("increase", "decrease"), ("maximum", "minimum"), ("major", "minor"), ("male", "female"),
    ("polite", "rude|impolite"), ("quick", "slow"), ("sharp", "dull|blunt"), ("simple", "complex|complicated|difficult"), ("visible", "invisible"),
    ("wise", "foolish|unwise|stupid"), ("young", "old"), ("give", "take|receive"), ("laugh", "cry"), ("enter", "exit|leave"),
]


def multiplication(rng):
    """Split the unordered factor pairs {a, b} ⊂ 2…9, so neither 7×8 nor 8×7 of a held-out pair trains."""
    pairs = [(a, b) for a in range(2, 10) for b in range(a, 10)]
    rng.shuffle(pairs)
    held = pairs[: len(pairs) // 3]
    train = pairs[len(pairs) // 3 :]

    def questions(ps):
        out = []
        for a, b in ps:
            orders = [(a, b)] if a == b else [(a, b), (b, a)]
            out += [(f"What is {x} times {y}? Answer with the number only.", str(x * y)) for x, y in orders]
        rng.shuffle(out)
        return out

    return questions(train), questions(held)


def addition(rng):
    pairs = [(a, b) for a in range(10, 100) for b in range(10, 100)]
    rng.shuffle(pairs)
    qs = [(f"What is {a} plus {b}? Answer with the number only.", str(a + b)) for a, b in pairs[:400]]
    return qs[100:], qs[:100]


def successor(rng):
    ns = list(range(1, 1000))
    rng.shuffle(ns)
    qs = [(f"What number comes after {n}? Answer with the number only.", str(n + 1)) for n in ns[:400]]
    return qs[100:], qs[:100]


def capitals(rng):
    items = list(CAPITALS)
    rng.shuffle(items)
    qs = [(f"What is the capital of {c}? Answer with the city only.", label) for c, label in items]
    cut = len(qs) // 3
    return qs[cut:], qs[:cut]


def antonyms(rng):
    items = list(ANTONYMS)
    rng.shuffle(items)
    qs = [(f"What is the opposite of {w}? Answer with one word only.", label) for w, label in items]
    cut = len(qs) // 3
    return qs[cut:], qs[:cut]


FAMILIES = {
    "multiplication": multiplication,
    "addition": addition,
    "successor": successor,
    "capitals": capitals,
    "antonyms": antonyms,
}


def record(question, label, family):
    return {"input": question, "label": label, "datasource": family}


def write(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", default="recipes/data")
    args = parser.parse_args()

    splits = {}
    for name, make in FAMILIES.items():
        train, held = make(random.Random(f"{args.seed}/{name}"))
        shared = {q for q, _ in train} & {q for q, _ in held}
        if shared:
            sys.exit(f"{name}: {len(shared)} questions in both splits, e.g. {sorted(shared)[0]!r}")
        splits[name] = (train, held)

    probe = [record(q, a, name) for name, (_, held) in splits.items() for q, a in held[:PROBE_PER_FAMILY]]
    train = []
    for name in TRAINED:
        train += [record(q, a, name) for q, a in splits[name][0][:TRAIN_PER_FAMILY]]
    # Interleave the families so every rollout batch mixes them.
    random.Random(f"{args.seed}/order").shuffle(train)
    held = [record(q, a, name) for name in TRAINED for q, a in splits[name][1][:EVAL_PER_FAMILY]]

    if {r["input"] for r in train} & {r["input"] for r in held}:
        sys.exit("a held-out prompt is also a training prompt")
    os.makedirs(args.out, exist_ok=True)
    write(os.path.join(args.out, "smollm2_probe.jsonl"), probe)
    write(os.path.join(args.out, "smollm2_rl_train.jsonl"), train)
    write(os.path.join(args.out, "smollm2_rl_eval.jsonl"), held)
    print(f"{len(probe)} probe, {len(train)} training and {len(held)} held-out prompts in {args.out}")


if __name__ == "__main__":
    main()
