#!/usr/bin/env python3
"""Replays each defect of the hardening issue (#15) against a built `rlhf` and counts pass / fail.

    python3 tools/probes/hardening.py [--rlhf .build/debug/rlhf] [-k FILTER] [-v]

Every case runs `rlhf` in a fresh temporary folder, as a hostile or careless user would, and
passes when the defect no longer shows: no write outside the sandbox, no signal, a located error,
the run file's status and text as the issue asks. A case that ends in a signal or a timeout fails.
The issue's points are numbered 1–8; a case is named `<point><letter>` after the sub-item it
replays. Needs python3 with h5py and numpy (scripts/setup installs them).
"""

import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

RLHF = None
CASES = []


def case(name, what):
    def register(fn):
        CASES.append((name, what, fn))
        return fn
    return register


class Probe:
    """A temporary folder and the `rlhf` runs made in it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rlhf-probe-")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text, mode="w"):
        os.makedirs(os.path.dirname(self.path(name)) or self.dir, exist_ok=True)
        with open(self.path(name), mode) as f:
            f.write(text)
        return self.path(name)

    def rlhf(self, *args, stdin=None, timeout=300):
        try:
            p = subprocess.run([RLHF, *args], cwd=self.dir, input=stdin, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return Result(None, "", "", timed_out=True)
        return Result(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"), raw=p.stdout)

    def recipe(self, text, *options, timeout=300):
        self.write("r.swift", text)
        return self.rlhf("run", "r.swift", "--out", "out", "--threads", "1", *options, timeout=timeout)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Result:
    def __init__(self, code, out, err, timed_out=False, raw=b""):
        self.code, self.out, self.err, self.timed_out, self.raw = code, out, err, timed_out, raw

    @property
    def signalled(self):
        return self.code is not None and self.code < 0

    def clean_error(self, *needles):
        """Exited non-zero by itself (no signal, no timeout) with every needle in stderr."""
        return (not self.timed_out and self.code is not None and self.code > 0
                and all(n in self.err for n in needles))

    def __str__(self):
        state = "timeout" if self.timed_out else f"exit {self.code}"
        return f"{state}; stderr: {self.err.strip()[-300:]!r}"


def check(condition, detail=""):
    if not condition:
        raise AssertionError(detail)


# MARK: - 1. Writes escape the sandbox through symlinks


@case("1a", "TrainingData.save through a dangling link in the output folder")
def _(p):
    os.makedirs(p.path("out"))
    os.makedirs(p.path("outside"))
    os.symlink("../outside/created.jsonl", p.path("out", "dangle.jsonl"))
    r = p.recipe('SyntheticTask.sortDigits(count: 4, evalCount: 1).demonstrations.save("dangle.jsonl")\n')
    check(r.clean_error("symbolic link"), r)
    check(not os.path.exists(p.path("outside", "created.jsonl")), "the file outside was created")


@case("1b", "run.h5 a link to a file outside (~/.bashrc) is refused, the file untouched")
def _(p):
    os.makedirs(p.path("results", "quickstart"))
    p.write("bashrc", "export PATH\n")
    os.symlink(p.path("bashrc"), p.path("results", "quickstart", "run.h5"))
    p.write("quickstart.swift", 'print("hi")\n')
    r = p.rlhf("run", "quickstart.swift")
    check(r.clean_error("symbolic link"), r)
    check(open(p.path("bashrc")).read() == "export PATH\n", "bashrc overwritten")


@case("1c", "run.h5 a dangling link: nothing created at its target")
def _(p):
    os.makedirs(p.path("out"))
    os.symlink("../gone/run.h5", p.path("out", "run.h5"))
    r = p.recipe('print("hi")\n')
    check(r.clean_error("symbolic link"), r)
    check(not os.path.exists(p.path("gone")), "target created")


@case("1d", "report.md a link to a file outside is refused, the file untouched")
def _(p):
    os.makedirs(p.path("out"))
    p.write("victim.txt", "keep\n")
    os.symlink(p.path("victim.txt"), p.path("out", "report.md"))
    r = p.recipe('print("hi")\n')
    check(r.clean_error("symbolic link"), r)
    check(open(p.path("victim.txt")).read() == "keep\n", "victim overwritten")


@case("1e", "a symlinked folder in the middle of a path is refused (data)")
def _(p):
    os.makedirs(p.path("out"))
    os.makedirs(p.path("outside"))
    os.symlink("../outside", p.path("out", "sub"))
    r = p.recipe('SyntheticTask.sortDigits(count: 4, evalCount: 1).demonstrations.save("sub/x.jsonl")\n')
    check(r.clean_error("line 1"), r)
    check(os.listdir(p.path("outside")) == [], "written outside")


@case("1f", "a saved model through a symlinked folder is refused")
def _(p):
    os.makedirs(p.path("out"))
    os.makedirs(p.path("outside"))
    os.symlink("../outside", p.path("out", "models"))
    r = p.recipe('let m = Model.llama(hidden: 8, layers: 1, heads: 2)\nm.save("models/m")\n')
    check(r.clean_error("line 2"), r)
    check(os.listdir(p.path("outside")) == [], "written outside")


@case("1g", "a read through a link that leaves the allowed roots is refused")
def _(p):
    outside = tempfile.mkdtemp(prefix="rlhf-probe-outside-")
    try:
        with open(os.path.join(outside, "d.jsonl"), "w") as f:
            f.write('{"input": "a", "output": "b"}\n')
        os.symlink(os.path.join(outside, "d.jsonl"), p.path("d.jsonl"))
        r = p.recipe('print(TrainingData.load("d.jsonl", kind: .sft).count)\n')
        check(r.clean_error(), r)
        check("1" not in r.out, "the file outside was read")
    finally:
        shutil.rmtree(outside)


# MARK: - 2. Builtins crash on numbers they do not check

for index, call in enumerate([
    "SyntheticTask.sortDigits(count: -1)", "SyntheticTask.sortDigits(count: 9999999)", "SyntheticTask.addition(count: -3)",
    "SyntheticTask.sortDigits(evalCount: -1)", "Model.llama(intermediate: -1)", "Model.llama(intermediate: 0)",
    "Model.llama(intermediate: Int.max)", "Model.gpt2(maxPositions: -1)", "Model.gpt2(maxPositions: Int.max)",
    "Model.gpt2(maxPositions: Int.min)",
]):
    def run_call(p, call=call):
        r = p.recipe(f"let x = 1\nlet y = {call}\n")
        check(r.clean_error("line 2"), r)
    case(f"2{chr(ord('a') + index)}", f"{call} is a located error")(run_call)


@case("2k", "maxEpochs: 9999999 with a model is refused before training")
def _(p):
    r = p.recipe("let task = SyntheticTask.sortDigits(count: 16, evalCount: 4)\n"
                 "let m = Model.llama(hidden: 8, layers: 1, heads: 2)\n"
                 "sft(m, data: task.demonstrations, maxEpochs: 9999999)\n", timeout=120)
    check(r.clean_error("line 3"), r)


# MARK: - 3. A hostile config.json aborts Model.load


def hostile_model(p, **overrides):
    """A saved tiny model whose config.json is then changed."""
    r = p.recipe('let m = Model.llama(hidden: 8, layers: 1, heads: 2)\nm.save("model")\n')
    check(r.code == 0, r)
    config_path = p.path("out", "model", "config.json")
    config = json.load(open(config_path))
    config.update(overrides)
    json.dump(config, open(config_path, "w"))
    os.rename(p.path("out", "model"), p.path("model"))
    shutil.rmtree(p.path("out"))
    return p.recipe('let m = Model.load("model")\nprint(m.parameterCount)\n', timeout=120)


for letter, key, value in [("a", "vocab_size", 2**40), ("b", "intermediate_size", 2**40), ("c", "head_dim", 2**30),
                           ("d", "num_hidden_layers", 2**30), ("e", "vocab_size", 100_000)]:
    def run_config(p, key=key, value=value):
        r = hostile_model(p, **{key: value})
        check(r.clean_error(), r)
    case(f"3{letter}", f"config.json {key} = {value} is refused before allocation")(run_config)


# MARK: - 4. report / inspect trust `committed`


def crafted_run(p, committed):
    r = p.recipe("let task = SyntheticTask.sortDigits(count: 32, evalCount: 4)\n"
                 "let m = Model.llama(hidden: 8, layers: 1, heads: 2)\n"
                 "sft(m, data: task.demonstrations, microTrainBatchSize: 16, trainBatchSize: 16)\n")
    check(r.code == 0, r)
    with h5py.File(p.path("out", "run.h5"), "r+") as f:
        for table in ["metrics", "tensors", "activations", "timing"]:
            if f"sft/{table}" in f:
                f[f"sft/{table}"].attrs["committed"] = np.int64(committed)
    return p.path("out", "run.h5")


for letter, committed in [("a", 10**12), ("b", 10**9), ("c", -5)]:
    def run_committed(p, committed=committed):
        path = crafted_run(p, committed)
        for args in [["report", path, "--out", "rep"], ["inspect", path]]:
            start = time.time()
            r = p.rlhf(*args, timeout=60)
            check(not r.signalled and not r.timed_out, f"{args[0]}: {r}")
            check(time.time() - start < 20, f"{args[0]} took {time.time() - start:.0f} s")
    case(f"4{letter}", f"committed = {committed}: report and inspect stay bounded")(run_committed)


# MARK: - 5. Memory is bounded per collection, not in total


@case("5a", "Array(repeating: String(repeating:…9_000_000), count: 9_000_000).joined() is a located error")
def _(p):
    r = p.recipe('let s = Array(repeating: String(repeating: "x", count: 9_000_000), count: 9_000_000).joined()\n', timeout=120)
    check(r.clean_error("line 1"), r)


@case("5b", "many strings each under the limit stop at the total budget")
def _(p):
    r = p.recipe('var xs: [String] = []\nfor i in 0..<100000 { xs.append(String(repeating: "x", count: 4_000_000) + "\\(i)") }\n',
                 "--memory-limit", "600M", timeout=120)
    check(r.clean_error("memory budget", "line 2"), r)


@case("5c", "Model.llama(hidden: 16384, layers: 64) is refused before allocating")
def _(p):
    r = p.recipe("let m = Model.llama(hidden: 16384, layers: 64)\n", timeout=60)
    check(r.clean_error("line 1"), r)


@case("5d", "GRPO's policy + reference + optimizer + rollout batch beyond the budget is refused")
def _(p):
    r = p.recipe("let task = SyntheticTask.sortDigits(count: 4000, evalCount: 8)\n"
                 "let m = Model.llama(hidden: 64, layers: 2, heads: 4)\n"
                 "grpo(m, reference: m.frozen(), prompts: task.prompts, reward: { p, r in task.score(p, r) },\n"
                 "     nSamplesPerPrompt: 64, rolloutBatchSize: 4000, generateMaxLen: 512)\n",
                 "--memory-limit", "256M", timeout=120)
    check(r.clean_error("memory budget", "rollout batch"), r)


# MARK: - 6. --threads has no upper bound


for letter, n in [("a", "1000000"), ("b", "100000000")]:
    def run_threads(p, n=n):
        r = p.recipe('print(1)\n', "--threads", n)
        check(r.clean_error("--threads must be between 1 and 256"), r)
    case(f"6{letter}", f"--threads {n} is refused")(run_threads)


# MARK: - 7. Exit codes and messages


@case("7a", "notebook --check exits non-zero when a cell fails")
def _(p):
    p.write("nb.md", "# A\n\n```swift\nprint(undefinedName)\n```\n")
    p.rlhf("notebook", "nb.md", "--results", "results")
    r = p.rlhf("notebook", "nb.md", "--results", "results", "--check")
    check(r.clean_error(), r)


@case("7b", "--out \"\" is refused, not written to the current folder as /run.h5")
def _(p):
    p.write("r.swift", "print(1)\n")
    r = p.rlhf("run", "r.swift", "--out", "")
    check(r.clean_error("--out"), r)
    check(not os.path.exists(p.path("run.h5")), "run.h5 written in the current folder")


@case("7c", 'print("a\\u{0}b") writes the whole string')
def _(p):
    r = p.recipe('print("a\\u{0}b")\n')
    check(r.code == 0 and r.raw == b"a\x00b\n", f"{r}; stdout {r.raw!r}")


@case("7d", "over-long SFT rows are counted, not 'the training data is empty'")
def _(p):
    long = "x" * 300
    p.write("sft.jsonl", "".join(json.dumps({"input": long, "output": "y"}) + "\n" for _ in range(3)))
    r = p.recipe('let m = Model.llama(hidden: 8, layers: 1, heads: 2)\n'
                 'sft(m, data: TrainingData.load("sft.jsonl", kind: .sft), microTrainBatchSize: 1, trainBatchSize: 1, maxLen: 64)\n')
    check(r.clean_error("left out"), r)
    check("the training data is empty" not in r.err, r)


@case("7e", "a null field is reported as null, not as missing")
def _(p):
    p.write("d.jsonl", '{"input": null, "output": "y"}\n')
    r = p.recipe('let m = Model.llama(hidden: 8, layers: 1, heads: 2)\n'
                 'sft(m, data: TrainingData.load("d.jsonl", kind: .sft), microTrainBatchSize: 1, trainBatchSize: 1)\n')
    check(r.clean_error("null"), r)
    check("missing (found keys" not in r.err, r)


@case("7f", "--seed -1 is refused, not 2^64-1")
def _(p):
    p.write("r.swift", "print(1)\n")
    r = p.rlhf("run", "r.swift", "--out", "out", "--seed=-1")
    check(r.clean_error("--seed"), r)


def signalled_run(p, sig):
    p.write("r.swift", "let task = SyntheticTask.sortDigits(count: 4000, evalCount: 8)\n"
                       "let m = Model.llama(hidden: 32, layers: 2, heads: 4)\n"
                       "sft(m, data: task.demonstrations, maxEpochs: 50, microTrainBatchSize: 8, trainBatchSize: 8, saveSteps: 3)\n")
    proc = subprocess.Popen([RLHF, "run", "r.swift", "--out", "out", "--threads", "1"], cwd=p.dir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = p.path("out", "checkpoints", "sft", "step_3")
    deadline = time.time() + 120
    while not os.path.exists(checkpoint) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(sig)
    try:
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("did not stop within 120 s of the signal")
    with h5py.File(p.path("out", "run.h5"), "r") as f:
        status = f.attrs["status"]
        committed = int(f["sft/metrics"].attrs["committed"])
    check(code > 0, f"exit {code}")
    check(status == "interrupted", f"status {status!r}")
    check(committed >= 3, f"{committed} committed steps")


for letter, sig in [("g", signal.SIGTERM), ("h", signal.SIGHUP), ("i", signal.SIGINT)]:
    case(f"7{letter}", f"{sig.name} records status 'interrupted' and keeps completed steps")(
        lambda p, sig=sig: signalled_run(p, sig))


def gguf_with_template(path, template):
    """A one-layer Llama GGUF (F32) whose tokenizer carries `template`."""
    hidden, inter, vocab = 8, 16, 4
    tokens = ["a", "b", "ab", "<|end|>"]
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    kv = []
    def add(key, type_id, payload):
        kv.append(s(key) + struct.pack("<I", type_id) + payload)
    add("general.architecture", 8, s("llama"))
    for key, value in [("llama.block_count", 1), ("llama.embedding_length", hidden), ("llama.feed_forward_length", inter),
                       ("llama.attention.head_count", 2), ("llama.context_length", 64)]:
        add(key, 4, struct.pack("<I", value))
    add("tokenizer.ggml.model", 8, s("gpt2"))
    add("tokenizer.ggml.pre", 8, s("gpt-2"))
    add("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(tokens)) + b"".join(s(t) for t in tokens))
    add("tokenizer.ggml.merges", 9, struct.pack("<IQ", 8, 1) + s("a b"))
    add("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 3))
    add("tokenizer.chat_template", 8, s(template))
    shapes = {"token_embd.weight": (hidden, vocab), "output_norm.weight": (hidden,),
              "blk.0.attn_norm.weight": (hidden,), "blk.0.ffn_norm.weight": (hidden,),
              "blk.0.attn_q.weight": (hidden, hidden), "blk.0.attn_k.weight": (hidden, hidden),
              "blk.0.attn_v.weight": (hidden, hidden), "blk.0.attn_output.weight": (hidden, hidden),
              "blk.0.ffn_gate.weight": (hidden, inter), "blk.0.ffn_up.weight": (hidden, inter),
              "blk.0.ffn_down.weight": (inter, hidden)}
    infos, data, offset = [], b"", 0
    for name, dims in shapes.items():
        count = int(np.prod(dims))
        infos.append(s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
                     + struct.pack("<IQ", 0, offset))
        blob = (np.arange(count, dtype=np.float32) % 7 * 0.01).tobytes()
        blob += b"\0" * ((-len(blob)) % 32)
        data += blob
        offset += len(blob)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(shapes), len(kv)) + b"".join(kv) + b"".join(infos)
    head += b"\0" * ((-len(head)) % 32)
    with open(path, "wb") as f:
        f.write(head + data)


@case("7j", "an unrecognised GGUF chat template is reported as such, with a hint a recipe can follow")
def _(p):
    gguf_with_template(p.path("chat.gguf"),
                       "{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>{% endfor %}")
    p.write("p.jsonl", '{"prompt": "ab"}\n' * 4)
    r = p.recipe('let m = Model.load("chat.gguf")\n'
                 'let data = TrainingData.load("p.jsonl", kind: .prompts, applyChatTemplate: true)\n'
                 'grpo(m, prompts: data, reward: { p, r in 0.0 }, nSamplesPerPrompt: 2, rolloutBatchSize: 2, generateMaxLen: 2, initKLCoef: 0)\n')
    check(r.clean_error("not ChatML", "inputTemplate"), r)
    check("no chat template" not in r.err, r)


@case("7k", "{\"messages\": …} SFT rows train as docs/recipes.md says")
def _(p):
    row = json.dumps({"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]})
    p.write("chat.jsonl", (row + "\n") * 4)
    r = p.recipe('let m = Model.llama(hidden: 8, layers: 1, heads: 2)\n'
                 'let data = TrainingData.load("chat.jsonl", kind: .sft, inputKey: "messages", outputKey: nil, applyChatTemplate: true)\n'
                 'sft(m, data: data, microTrainBatchSize: 2, trainBatchSize: 2, maxLen: 64)\nprint("trained")\n')
    check(r.code == 0 and "trained" in r.out, r)


# MARK: - 8. The run file loses text


def undo(stored):
    raw = stored.encode("utf-8", "surrogateescape") if isinstance(stored, str) else stored
    return raw.decode("utf-8", "surrogatepass").replace("\udc00", "\0")


@case("8a", "a rollout response holding byte 0 is stored whole (the NULs the ids hold)")
def _(p):
    r = p.recipe("let task = SyntheticTask.sortDigits(count: 64, evalCount: 4)\n"
                 "let m = Model.llama(hidden: 16, layers: 1, heads: 2)\n"
                 "grpo(m, prompts: task.prompts, reward: { p, r in Double(r.count % 3) }, nSamplesPerPrompt: 4, rolloutBatchSize: 16,\n"
                 "     generateMaxLen: 16, initKLCoef: 0, maxSteps: 2, rolloutSamplesPerStep: 64)\n", "--seed", "3", timeout=300)
    check(r.code == 0, r)
    with h5py.File(p.path("out", "run.h5"), "r") as f:
        roll = f["grpo/rollouts"]
        n = int(roll.attrs["committed"])
        ids, offsets, lengths = roll["response_ids"][:], roll["response_offset"][:n], roll["response_length"][:n]
        texts = [undo(t) for t in roll["response_text"][:n]]
    with_zero = [i for i in range(n) if 0 in ids[offsets[i]:offsets[i] + lengths[i]]]
    check(with_zero, "no response sampled byte 0 at this seed")
    for i in with_zero:
        zeros = int((ids[offsets[i]:offsets[i] + lengths[i]] == 0).sum())
        check(texts[i].count("\0") == zeros, f"sample {i}: {zeros} zero ids, stored {texts[i]!r}")


@case("8b", "recipe text with a NUL byte and a config string with NUL round-trip")
def _(p):
    source = b'// a\x00b\nlet task = SyntheticTask.sortDigits(count: 32, evalCount: 4)\nlet m = Model.llama(hidden: 8, layers: 1, heads: 2)\n' \
             b'sft(m, data: task.demonstrations, microTrainBatchSize: 16, trainBatchSize: 16)\n'
    p.write("r.swift", source, mode="wb")
    r = p.rlhf("run", "r.swift", "--out", "out", "--threads", "1")
    check(r.code == 0, r)
    with h5py.File(p.path("out", "run.h5"), "r") as f:
        recipe = undo(f.attrs["recipe"])
    check(recipe.encode() == source, f"stored {recipe[:40]!r}")
    shown = p.rlhf("inspect", p.path("out", "run.h5"), "--recipe")
    check(shown.code == 0 and b"a\x00b" in shown.raw, shown)


def main():
    global RLHF
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rlhf", default=os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "rlhf"))
    parser.add_argument("-k", default="", help="run only cases whose name starts with this")
    parser.add_argument("-v", action="store_true", help="print each failure's detail")
    args = parser.parse_args()
    RLHF = os.path.abspath(args.rlhf)
    if not os.access(RLHF, os.X_OK):
        sys.exit(f"no rlhf binary at {RLHF}; build it with `swift build --product rlhf` or pass --rlhf")
    passed, failed = [], []
    for name, what, fn in CASES:
        if not name.startswith(args.k):
            continue
        p = Probe()
        start = time.time()
        try:
            fn(p)
            passed.append(name)
            print(f"pass  {name}  {what}  ({time.time() - start:.1f} s)", flush=True)
        except Exception as error:  # a probe's own failure counts against the case
            failed.append(name)
            print(f"FAIL  {name}  {what}  ({time.time() - start:.1f} s)" + (f"\n      {error}" if args.v else ""), flush=True)
        finally:
            p.cleanup()
    print(f"\n{len(passed)} passed, {len(failed)} failed of {len(passed) + len(failed)} probes"
          + (f": {' '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
