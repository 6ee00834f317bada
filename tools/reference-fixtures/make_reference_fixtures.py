#!/usr/bin/env python3
"""Writes the reference fixtures (Tests/Fixtures/reference/*.json, tiny_*.safetensors/.config.json).

Each fixture is one function below, registered with @fixture("<file>.json", seed): it draws its
inputs from a torch.Generator seeded with `seed` (recorded as params.fixture_seed), runs the
trusted code (PyTorch, transformers, OpenRLHF v0.7.0 and, for what came after it, OpenRLHF v0.11.0,
both imported unmodified) on CPU in float32, and returns the file's dict. See README.md beside this file.

    python make_reference_fixtures.py --out DIR [--openrlhf SRC] [--openrlhf-latest SRC] [NAME ...]
"""

import argparse
import ast
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import types
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
import transformers

OPENRLHF_VERSION = "0.7.0"
OPENRLHF_COMMIT = "a4c7764e"
TORCH = f"torch {torch.__version__}, CPU, float32"
TRANSFORMERS = f"transformers {transformers.__version__}"
OPENRLHF = f"openrlhf v{OPENRLHF_VERSION} (commit {OPENRLHF_COMMIT})"
# The newest release when the DAPO / dual-clip / GSPO / TIS fixtures were made: tag v0.11.0.
LATEST_VERSION = "0.11.0"
LATEST_COMMIT = "3c3be6234e0cb353e76bb8019947db9dfe99fca7"
LATEST = f"openrlhf v{LATEST_VERSION} (commit {LATEST_COMMIT[:8]})"
GRAD_NOTE = ("grad_* are d/d(input) of sum(output * grad_weight) where grad_weight (in inputs, same shape as "
             "output) is a fixed random weighting")

FIXTURES = {}


def fixture(name, seed):
    """Registers a fixture function: it gets a seeded generator and returns the file's dict."""
    def register(function):
        FIXTURES[name] = (seed, function)
        return function
    return register


# ---------------------------------------------------------------- inputs and JSON

def randn(g, *shape, scale=1.0):
    return torch.randn(*shape, generator=g) * scale


def masks(g, rows, cols):
    """0/1 action masks: row 0 full, the others a random length in [2, cols-1]."""
    lengths = [cols] + torch.randint(2, cols, (rows - 1,), generator=g).tolist()
    return torch.tensor([[1.0 if t < n else 0.0 for t in range(cols)] for n in lengths])


def js(value):
    """Tensors as nested lists of exact float32 values (masks and ids as integers)."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
        return value.tolist() if value.dtype.is_floating_point else value.long().tolist()
    if isinstance(value, dict):
        return {k: js(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [js(v) for v in value]
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def mask_json(m):
    return m.long().tolist()


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def weighted_grads(output, weight, *inputs):
    (output * weight).sum().backward()
    return [x.grad for x in inputs]


def doc(source, inputs, params, expected, notes):
    return {"source": source, "inputs": js(inputs), "params": params, "expected": js(expected), "notes": notes}


# ---------------------------------------------------------------- OpenRLHF v0.7.0, unmodified

class OpenRLHF:
    """The five OpenRLHF v0.7.0 modules the fixtures use, loaded from its source without its heavy
    dependencies (ray, deepspeed, vLLM): those imports get empty stand-ins, nothing else changes."""

    FILES = {
        "openrlhf.models.utils": "openrlhf/models/utils.py",
        "openrlhf.models.loss": "openrlhf/models/loss.py",
        "openrlhf.trainer.ppo_utils.kl_controller": "openrlhf/trainer/ppo_utils/kl_controller.py",
        "openrlhf.trainer.ppo_utils.experience_maker": "openrlhf/trainer/ppo_utils/experience_maker.py",
        "openrlhf.trainer.ppo_utils.replay_buffer": "openrlhf/trainer/ppo_utils/replay_buffer.py",
    }

    def __init__(self, root):
        root = Path(root)
        for package in ["openrlhf", "openrlhf.models", "openrlhf.trainer", "openrlhf.trainer.ppo_utils", "openrlhf.utils"]:
            module = types.ModuleType(package)
            module.__path__ = [str(root / package.replace(".", "/"))]
            sys.modules[package] = module
        install_stubs()
        for name, path in self.FILES.items():
            load_module(name, root / path)
        self.utils = sys.modules["openrlhf.models.utils"]
        self.loss = sys.modules["openrlhf.models.loss"]
        self.kl_controller = sys.modules["openrlhf.trainer.ppo_utils.kl_controller"]
        self.experience_maker = sys.modules["openrlhf.trainer.ppo_utils.experience_maker"]
        self.replay_buffer = sys.modules["openrlhf.trainer.ppo_utils.replay_buffer"]

    @staticmethod
    def source_from_pypi(cache, version=OPENRLHF_VERSION):
        """Unpacks the openrlhf==<version> wheel (fetched with `pip download --no-deps`) into `cache`."""
        cache = Path(cache)
        target = cache / f"openrlhf-{version}"
        if not target.exists() or not any(target.rglob("openrlhf/models/loss.py")):
            cache.mkdir(parents=True, exist_ok=True)
            # The wheels are tagged cp311 manylinux1; their Python files are what any interpreter needs.
            subprocess.run([sys.executable, "-m", "pip", "download", f"openrlhf=={version}", "--no-deps",
                            "--only-binary=:all:", "--python-version", "3.11", "--platform", "manylinux1_x86_64",
                            "-d", str(cache)], check=True)
            wheel = next(cache.glob(f"openrlhf-{version}-*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(target)
        # The wheel keeps the package under openrlhf-<version>.data/purelib/.
        return next(p.parents[2] for p in target.rglob("openrlhf/models/loss.py"))


class OpenRLHFLatest:
    """Four OpenRLHF v0.11.0 modules (models/utils.py, models/loss.py,
    trainer/ppo_utils/length_penalty.py, trainer/ppo_utils/samples_generator.py), loaded unmodified
    beside v0.7.0's under the package name `openrlhf_latest` (their relative imports resolve inside
    it; their absolute imports of OpenRLHF's logging, its Experience and vLLM-engine modules, of
    deepspeed, ray and vllm get stand-ins: ray runs in process, see install_stubs)."""

    PACKAGE = "openrlhf_latest"
    FILES = {
        "models.utils": "openrlhf/models/utils.py",
        "models.loss": "openrlhf/models/loss.py",
        "trainer.ppo_utils.length_penalty": "openrlhf/trainer/ppo_utils/length_penalty.py",
        "trainer.ppo_utils.samples_generator": "openrlhf/trainer/ppo_utils/samples_generator.py",
    }

    def __init__(self, root):
        root = Path(root)
        for package in ["", ".models", ".trainer", ".trainer.ppo_utils"]:
            module = types.ModuleType(self.PACKAGE + package)
            module.__path__ = [str(root / ("openrlhf" + package.replace(".", "/")))]
            sys.modules[self.PACKAGE + package] = module
        install_stubs()
        for name, path in self.FILES.items():
            load_module(f"{self.PACKAGE}.{name}", root / path)
        self.loss = sys.modules[f"{self.PACKAGE}.models.loss"]
        self.length_penalty = sys.modules[f"{self.PACKAGE}.trainer.ppo_utils.length_penalty"]
        self.samples_generator = sys.modules[f"{self.PACKAGE}.trainer.ppo_utils.samples_generator"]


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def install_stubs():
    """Empty stand-ins for the heavy imports of OpenRLHF's modules (nothing the fixtures call)."""
    stubs = {
        "deepspeed": {"utils": types.SimpleNamespace(set_z3_leaf_modules=None)},
        # In-process ray for SamplesGenerator: a ref is its value, ray.wait hands refs back in
        # submission order (first in, first out), ray.cancel drops nothing that matters here.
        "ray": {"remote": lambda f: f, "get": lambda ref: ref, "cancel": lambda ref: None,
                "wait": lambda refs, num_returns=1, timeout=None: (refs[:num_returns], refs[num_returns:])},
        "vllm": {"SamplingParams": dict},
        "openrlhf.trainer.ppo_utils.experience": {"Experience": type("Experience", (), {})},
        "openrlhf.trainer.ray": {},
        "openrlhf.trainer.ray.vllm_engine": {"batch_vllm_engine_call": lambda engines, method: None},
        "openrlhf.models.actor": {"Actor": type("Actor", (), {})},
        "openrlhf.utils.distributed_util": {"torch_dist_barrier_and_cuda_sync": lambda: None},
        "openrlhf.utils.logging_utils": {"init_logger": lambda name: __import__("logging").getLogger(name)},
        "openrlhf.utils.remote_rm_utils": {"remote_rm_fn_ray": None},
    }
    for name, attributes in stubs.items():
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__dict__.update(attributes)
            sys.modules[name] = module


class CudaIsCPU:
    """OpenRLHF's experience code moves tensors to "cuda"; here that device is the CPU."""

    def __enter__(self):
        self.original = torch.Tensor.to

        def to(tensor, *args, **kwargs):
            args = tuple("cpu" if a == "cuda" else a for a in args)
            if kwargs.get("device") == "cuda":
                kwargs["device"] = "cpu"
            return self.original(tensor, *args, **kwargs)

        torch.Tensor.to = to
        return self

    def __exit__(self, *exc):
        torch.Tensor.to = self.original


def single_process_group():
    """A real one-process gloo group, so dist.all_reduce is the identity as with world_size=1."""
    if not dist.is_initialized():
        store = tempfile.NamedTemporaryFile(prefix="rlhf-fixtures-", delete=False).name
        os.remove(store)
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=0, world_size=1)


class Strategy:
    """The slice of OpenRLHF's strategy the replay buffer uses, over the one-process group."""

    def __init__(self, **args):
        self.args = types.SimpleNamespace(**args)

    def all_reduce(self, tensor, op="mean"):
        assert op == "sum"
        tensor = tensor.clone()
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor


def buffer_normalize(orl, rows, row_masks, divide_by_std=True):
    """NaiveReplayBuffer.normalize over one item per row; returns the rows afterwards."""
    buffer = object.__new__(orl.replay_buffer.NaiveReplayBuffer)
    buffer.items = [types.SimpleNamespace(advantages=a.clone(), action_mask=m.clone()) for a, m in zip(rows, row_masks)]
    buffer.normalize(Strategy(), "advantages", divide_by_std=divide_by_std)
    return torch.stack([item.advantages for item in buffer.items])


# ---------------------------------------------------------------- PyTorch kernels

def pointwise(g, op, fixed, seed, name, notes, cases=None):
    x = torch.cat([randn(g, 28, scale=2.5), torch.tensor(fixed)])
    w = randn(g, 33)
    expected = {}
    for case, kwargs in (cases or {None: {}}).items():
        xl = leaf(x)
        y = op(xl, **kwargs)
        (gx,) = weighted_grads(y, w, xl)
        result = {"output": y, "grad_x": gx}
        if case is None:
            expected = result
        else:
            expected[case] = result
    params = dict(cases or {})
    params["fixture_seed"] = seed
    return doc(name, {"x": x, "grad_weight": w}, params, expected, notes)


@fixture("silu.json", 191484)
def silu(g, seed):
    return pointwise(g, F.silu, [-20.0, -6.0, 0.0, 6.0, 20.0], seed, f"torch.nn.functional.silu; {TORCH}",
                     f"x*sigmoid(x). {GRAD_NOTE}")


@fixture("gelu_tanh.json", 156829)
def gelu(g, seed):
    return pointwise(g, F.gelu, [-6.0, -3.0, 0.0, 3.0, 6.0], seed,
                     f"torch.nn.functional.gelu(approximate='tanh' / 'none'); {TORCH}",
                     f"tanh: 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))) (GPT-2's gelu_new). {GRAD_NOTE}",
                     cases={"tanh": {"approximate": "tanh"}, "exact_erf": {"approximate": "none"}})


def softmax_like(g, seed, op, name):
    x = randn(g, 4, 7, 13, scale=3.0)
    x[0, 0] += 80
    w = randn(g, 4, 7, 13)
    xl = leaf(x)
    y = op(xl, dim=-1)
    (gx,) = weighted_grads(y, w, xl)
    return doc(f"torch.nn.functional.{name}(dim=-1); {TORCH}", {"x": x, "grad_weight": w},
               {"dim": -1, "fixture_seed": seed}, {"output": y, "grad_x": gx},
               f"row [0,0] is offset by +80 to require a numerically stable implementation. {GRAD_NOTE}")


@fixture("softmax.json", 161085)
def softmax(g, seed):
    return softmax_like(g, seed, F.softmax, "softmax")


@fixture("log_softmax.json", 127696)
def log_softmax(g, seed):
    return softmax_like(g, seed, F.log_softmax, "log_softmax")


@fixture("layer_norm.json", 167133)
def layer_norm(g, seed):
    x, weight, bias = randn(g, 4, 7, 16, scale=2.0), 1 + randn(g, 16, scale=0.2), randn(g, 16, scale=0.1)
    w = randn(g, 4, 7, 16)
    xl, wl, bl = leaf(x), leaf(weight), leaf(bias)
    y = F.layer_norm(xl, [16], wl, bl, eps=1e-5)
    gx, gw, gb = weighted_grads(y, w, xl, wl, bl)
    return doc(f"torch.nn.functional.layer_norm; {TORCH}", {"x": x, "weight": weight, "bias": bias, "grad_weight": w},
               {"normalized_shape": [16], "eps": 1e-5, "fixture_seed": seed},
               {"output": y, "grad_x": gx, "grad_weight": gw, "grad_bias": gb},
               f"biased variance over the last axis; y=(x-mean)/sqrt(var+eps)*weight+bias. {GRAD_NOTE}")


@fixture("rms_norm.json", 170411)
def rms_norm(g, seed):
    from transformers.models.llama.modeling_llama import LlamaRMSNorm
    x, weight, w = randn(g, 4, 7, 16, scale=2.0), 1 + randn(g, 16, scale=0.2), randn(g, 4, 7, 16)
    norm = LlamaRMSNorm(16, eps=1e-5)
    with torch.no_grad():
        norm.weight.copy_(weight)
    xl = leaf(x)
    y = norm(xl)
    gx, gw = weighted_grads(y, w, xl, norm.weight)
    return doc(f"{TRANSFORMERS} LlamaRMSNorm(eps=1e-5); {TORCH}", {"x": x, "weight": weight, "grad_weight": w},
               {"eps": 1e-5, "fixture_seed": seed}, {"output": y, "grad_x": gx, "grad_weight_param": gw},
               "y = weight * (x * rsqrt(mean(x^2, -1) + eps)) (no mean subtraction, no bias). grad_x and "
               f"grad_weight_param (gradient for the RMSNorm weight parameter): {GRAD_NOTE}")


@fixture("cross_entropy.json", 184680)
def cross_entropy(g, seed):
    logits = randn(g, 28, 13, scale=2.0)
    target = torch.randint(0, 13, (28,), generator=g)
    target[::3] = -100
    cases = {"mean": {"reduction": "mean"}, "sum": {"reduction": "sum"}, "none": {"reduction": "none"},
             "mean_label_smoothing0.1": {"reduction": "mean", "label_smoothing": 0.1}}
    expected = {}
    for case, kwargs in cases.items():
        x = leaf(logits)
        loss = F.cross_entropy(x, target, ignore_index=-100, **kwargs)
        loss.sum().backward()
        expected[case] = {"loss": loss, "grad_logits": x.grad}
    return doc(f"torch.nn.functional.cross_entropy(ignore_index=-100); {TORCH}", {"logits": logits, "target": target},
               {"ignore_index": -100, **cases, "fixture_seed": seed}, expected,
               "mean divides by the number of non-ignored targets; 'none' gives 0 at ignored rows. grad_logits is "
               "the gradient of loss.sum() (for 'mean'/'sum' that is the scalar loss itself).")


@fixture("rope.json", 188410)
def rope(g, seed):
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb
    q, k = randn(g, 2, 4, 6, 8), randn(g, 2, 2, 6, 8)
    wq, wk = randn(g, 2, 4, 6, 8), randn(g, 2, 2, 6, 8)
    position_ids = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 1, 0, 1, 2, 3]])
    config = LlamaConfig(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                         rope_parameters={"rope_theta": 10000.0, "rope_type": "default"})
    rotary = LlamaRotaryEmbedding(config)
    ql, kl = leaf(q), leaf(k)
    cos, sin = rotary(ql, position_ids)
    q_embed, k_embed = apply_rotary_pos_emb(ql, kl, cos, sin)
    ((q_embed * wq).sum() + (k_embed * wk).sum()).backward()
    return doc(f"{TRANSFORMERS} LlamaRotaryEmbedding + apply_rotary_pos_emb (rotate_half); {TORCH}",
               {"q": q, "k": k, "position_ids": position_ids, "grad_weight_q": wq, "grad_weight_k": wk},
               {"rope_theta": 10000.0, "head_dim": 8, "layout": "q,k: (batch, heads, seq, head_dim)", "fixture_seed": seed},
               {"inv_freq": rotary.inv_freq, "cos": cos, "sin": sin, "q_embed": q_embed, "k_embed": k_embed,
                "grad_q": ql.grad, "grad_k": kl.grad},
               "inv_freq_i = 1/theta^(2i/D), i<D/2; freqs = pos*inv_freq; emb = cat(freqs, freqs); x_embed = "
               "x*cos + rotate_half(x)*sin, rotate_half(x) = cat(-x[D/2:], x[:D/2]) (half-split / NeoX layout, NOT "
               "interleaved pairs). cos/sin: (batch, seq, D). grads are of sum(q_embed*grad_weight_q) + "
               "sum(k_embed*grad_weight_k).")


@fixture("causal_attention.json", 174106)
def causal_attention(g, seed):
    inputs, expected = {}, {}
    for case, kv_heads in [("mha", 4), ("gqa", 2)]:
        q, k, v = randn(g, 2, 4, 6, 8), randn(g, 2, kv_heads, 6, 8), randn(g, 2, kv_heads, 6, 8)
        w = randn(g, 2, 4, 6, 8)
        ql, kl, vl = leaf(q), leaf(k), leaf(v)
        out = F.scaled_dot_product_attention(ql, kl, vl, is_causal=True, enable_gqa=kv_heads != 4)
        gq, gk, gv = weighted_grads(out, w, ql, kl, vl)
        inputs[case] = {"q": q, "k": k, "v": v, "grad_weight": w}
        expected[case] = {"output": out, "grad_q": gq, "grad_k": gk, "grad_v": gv}
    return doc(f"torch.nn.functional.scaled_dot_product_attention(is_causal=True[, enable_gqa=True]); {TORCH}", inputs,
               {"layout": "(batch, heads, seq, head_dim)", "scale": "1/sqrt(head_dim)",
                "mha": {"q_heads": 4, "kv_heads": 4}, "gqa": {"q_heads": 4, "kv_heads": 2}, "fixture_seed": seed},
               expected, "softmax(q k^T / sqrt(D) + causal mask) v. GQA: query head h uses kv head h // (Hq/Hkv) "
               f"(repeat_interleave, same as HF repeat_kv). {GRAD_NOTE}")


@fixture("adamw.json", 145433)
def adamw(g, seed):
    shapes, steps = [(4, 3), (3,)], 3
    initial = [randn(g, *s) for s in shapes]
    grads = [[randn(g, *s) for s in shapes] for _ in range(steps)]
    params = [torch.nn.Parameter(p.clone()) for p in initial]
    hyper = {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False}
    optimizer = torch.optim.AdamW(params, foreach=False, **hyper)
    after = []
    for step_grads in grads:
        for p, grad in zip(params, step_grads):
            p.grad = grad.clone()
        optimizer.step()
        state = [optimizer.state[p] for p in params]
        after.append({"params": [p.detach().clone() for p in params], "exp_avg": [s["exp_avg"].clone() for s in state],
                      "exp_avg_sq": [s["exp_avg_sq"].clone() for s in state]})
    return doc(f"torch.optim.AdamW (foreach=False, single-tensor implementation); {TORCH}",
               {"initial_params": initial, "grads_per_step": grads},
               {**hyper, "betas": list(hyper["betas"]), "steps": steps, "fixture_seed": seed}, {"after_step": after},
               "Two parameters in one param group. Per step t: p *= 1-lr*wd; m = b1*m+(1-b1)g; v = b2*v+(1-b2)g^2; "
               "p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). after_step[i] is the state after step i+1.")


@fixture("clip_grad_norm.json", 126023)
def clip_grad_norm(g, seed):
    inputs, expected = {}, {}
    for case, scale in [("clipped", 1.0), ("not_clipped", 0.1)]:
        grads = [randn(g, 4, 4, scale=scale), randn(g, 4, 4, scale=scale)]
        params = [torch.nn.Parameter(torch.zeros_like(x)) for x in grads]
        for p, x in zip(params, grads):
            p.grad = x.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm=1.0, norm_type=2)
        inputs[case] = {"grads": grads}
        expected[case] = {"total_norm": total, "grads_after": [p.grad for p in params]}
    return doc(f"torch.nn.utils.clip_grad_norm_(max_norm=1.0, norm_type=2); {TORCH}", inputs,
               {"max_norm": 1.0, "norm_type": 2.0, "fixture_seed": seed}, expected,
               "total_norm = L2 norm over all gradients (before clipping); grads *= min(1, max_norm/(total_norm+1e-6)).")


# ---------------------------------------------------------------- OpenRLHF

def orl_source(file, what):
    return f"{OPENRLHF} {file} {what}; run with {TORCH}"


@fixture("log_probs_from_logits.json", 174550)
def log_probs_from_logits(g, seed, orl):
    logits, labels, w = randn(g, 4, 7, 13, scale=2.0), torch.randint(0, 13, (4, 7), generator=g), randn(g, 4, 7)
    cases = {"temperature1.0": {"temperature": 1.0}, "temperature0.7": {"temperature": 0.7}}
    expected = {}
    for case, kwargs in cases.items():
        x = leaf(logits)
        out = orl.utils.log_probs_from_logits(x * 1, labels, **kwargs)  # x * 1: the function divides in place
        (gx,) = weighted_grads(out, w, x)
        expected[case] = {"log_probs": out, "grad_logits": gx}
    return doc(orl_source("openrlhf/models/utils.py", "log_probs_from_logits (flash_attn absent -> gather - logsumexp path)"),
               {"logits": logits, "labels": labels, "grad_weight": w}, {**cases, "fixture_seed": seed}, expected,
               "log_probs[b,t] = log_softmax(logits[b,t]/temperature)[labels[b,t]] (no shift inside this function; "
               "Actor passes labels = sequences rolled left by one and drops the last position). With temperature != 1 "
               "the function mutates the caller's logits tensor in place (logits.div_). grad_* are d/d(input) of "
               "sum(log_probs * grad_weight) where grad_weight (in inputs, same shape as log_probs) is a fixed random weighting")


@fixture("masked_ops.json", 146787)
def masked_ops(g, seed, orl):
    x, mask = randn(g, 4, 7, scale=2.0), masks(g, 4, 7)
    x_masked = x * mask
    u = orl.utils
    params = {"masked_normalize_all": {"dim": None, "eps": 1e-8}, "masked_normalize_all_eps10": {"dim": None, "eps": 10.0},
              "buffer_normalize_realistic": {"input": "x_masked", "divide_by_std": True},
              "buffer_normalize_raw": {"input": "x", "divide_by_std": True},
              "buffer_normalize_realistic_no_std": {"input": "x_masked", "divide_by_std": False}}
    expected = {"masked_mean_all": u.masked_mean(x, mask), "masked_mean_rows": u.masked_mean(x, mask, -1),
                "mean_no_mask_rows": u.masked_mean(x, None, -1), "mean_no_mask_all": u.masked_mean(x, None)}
    for case in ["masked_normalize_all", "masked_normalize_all_eps10"]:
        expected[case] = u.masked_normalize(x, mask, dim=None, eps=params[case]["eps"])
    single_process_group()
    for case in ["buffer_normalize_realistic", "buffer_normalize_raw", "buffer_normalize_realistic_no_std"]:
        source = x_masked if params[case]["input"] == "x_masked" else x
        expected[case] = buffer_normalize(orl, source, mask, params[case]["divide_by_std"])
    return doc(orl_source("openrlhf/models/utils.py", "masked_mean, masked_normalize")
               + "; openrlhf/trainer/ppo_utils/replay_buffer.py NaiveReplayBuffer.normalize (world_size=1 gloo all_reduce)",
               {"x": x, "mask": mask_json(mask), "x_masked": x_masked}, {**params, "fixture_seed": seed}, expected,
               "masked_mean(t,m,dim)=sum(t*m,dim)/sum(m,dim); with m=None a plain mean. masked_normalize(t,m,dim,eps): "
               "t*=m; mean=masked_mean(t,m,dim); c=t-mean; var=masked_mean(c^2,m,dim); c*rsqrt(max(var,eps)) - returned "
               "at ALL positions (padding becomes -mean*rsqrt(var)). masked_normalize is unused in v0.7.0 and its default "
               "dim=1 is broken for 2-D input (the (B,) mean broadcasts against the last axis: error if B != T, silently "
               "wrong if B == T), so only dim=None is recorded. buffer_normalize_*: NaiveReplayBuffer.normalize over rows "
               "of the given input with the rows' masks: mean = sum(ALL entries, padding included)/sum(mask); var = "
               "sum((a-mean)^2*mask)/sum(mask); out=(a-mean)*rsqrt(max(var,1e-8)) (or a-mean). 'realistic' has zeros at "
               "padding (as GAE/REINFORCE advantages do), 'raw' shows the padding values leaking into the mean.")


@fixture("sft_loss.json", 197536)
def sft_loss(g, seed, orl):
    logps, mask = -torch.rand(4, 7, generator=g) * 4, masks(g, 4, 7)
    expected = {}
    for case, token_level in [("token_level", True), ("sequence_level", False)]:
        x = leaf(logps)
        loss = orl.loss.SFTLoss(token_level_loss=token_level)(x, mask)
        loss.backward()
        expected[case] = {"loss": loss, "grad_per_token_logps": x.grad}
    return doc(orl_source("openrlhf/models/loss.py", "SFTLoss"), {"per_token_logps": logps, "loss_mask": mask_json(mask)},
               {"token_level_loss": {"token_level": True, "sequence_level": False}, "fixture_seed": seed}, expected,
               "token_level: masked mean of -logp over the batch; sequence_level: per-row masked mean, then mean.")


@fixture("gpt_lm_loss.json", 169449)
def gpt_lm_loss(g, seed, orl):
    logits = randn(g, 4, 8, 13, scale=2.0)
    labels = torch.randint(0, 13, (4, 8), generator=g)
    labels[:, :2] = -100  # the prompt
    for row, n in enumerate(masks(g, 4, 8).sum(-1).long().tolist()):
        labels[row, max(n, 3):] = -100  # the padding
    x = leaf(logits)
    loss = orl.loss.GPTLMLoss()(x, labels)
    loss.backward()
    return doc(orl_source("openrlhf/models/loss.py", "GPTLMLoss (ring_attn_group=None)"), {"logits": logits, "labels": labels},
               {"IGNORE_INDEX": -100, "fixture_seed": seed}, {"loss": loss, "grad_logits": x.grad},
               "shift: logits[:, :-1] predict labels[:, 1:]; CrossEntropyLoss(ignore_index=-100), mean over non-ignored "
               "targets. grad_logits[:, -1] is zero.")


@fixture("pairwise_loss.json", 169800)
def pairwise_loss(g, seed, orl):
    chosen, reject, margin = randn(g, 6, scale=1.5), randn(g, 6, scale=1.5), torch.rand(6, generator=g)
    expected = {}
    for case, module, use_margin in [("pairwise", orl.loss.PairWiseLoss(), False),
                                     ("pairwise_margin", orl.loss.PairWiseLoss(), True),
                                     ("logexp", orl.loss.LogExpLoss(), False)]:
        c, r = leaf(chosen), leaf(reject)
        loss = module(c, r, margin if use_margin else None)
        loss.backward()
        expected[case] = {"loss": loss, "grad_chosen_reward": c.grad, "grad_reject_reward": r.grad}
    return doc(orl_source("openrlhf/models/loss.py", "PairWiseLoss, LogExpLoss"),
               {"chosen_reward": chosen, "reject_reward": reject, "margin": margin},
               {"pairwise": {"margin": False}, "pairwise_margin": {"margin": True}, "logexp": {"margin": False},
                "fixture_seed": seed}, expected,
               "pairwise: mean(-logsigmoid(c - r [- margin])); logexp: mean(log(1+exp(r - c))) (ignores margin).")


def logps(g, n):
    return -torch.rand(n, generator=g) * 25 - 5


@fixture("dpo_loss.json", 199910)
def dpo_loss(g, seed, orl):
    names = ["policy_chosen_logps", "policy_rejected_logps", "reference_chosen_logps", "reference_rejected_logps"]
    inputs = {name: logps(g, 6) for name in names}
    cases = {"dpo": {"beta": 0.1, "label_smoothing": 0.0, "ipo": False},
             "cdpo": {"beta": 0.1, "label_smoothing": 0.1, "ipo": False},
             "ipo": {"beta": 0.1, "label_smoothing": 0.0, "ipo": True}}
    expected = {}
    for case, kwargs in cases.items():
        pc, pr = leaf(inputs[names[0]]), leaf(inputs[names[1]])
        loss, chosen, rejected = orl.loss.DPOLoss(**kwargs)(pc, pr, inputs[names[2]], inputs[names[3]])
        loss.backward()
        expected[case] = {"loss": loss, "chosen_rewards": chosen, "rejected_rewards": rejected,
                          "grad_policy_chosen_logps": pc.grad, "grad_policy_rejected_logps": pr.grad}
    return doc(orl_source("openrlhf/models/loss.py", "DPOLoss"), inputs, {**cases, "fixture_seed": seed}, expected,
               "logits=(pc-pr)-(rc-rr); dpo/cdpo: -logsigmoid(b*logits)*(1-ls) - logsigmoid(-b*logits)*ls; ipo: "
               "(logits - 1/(2b))^2; loss=mean. rewards = beta*(policy-reference), detached.")


@fixture("kto_loss.json", 116607)
def kto_loss(g, seed, orl):
    single_process_group()
    inputs, expected = {}, {}
    names = ["policy_chosen_logps", "policy_rejected_logps", "reference_chosen_logps", "reference_rejected_logps"]
    vanilla = {name: logps(g, 6) for name in names}
    pc, pr = leaf(vanilla[names[0]]), leaf(vanilla[names[1]])
    loss, chosen, rejected = orl.loss.VanillaKTOLoss(beta=0.1)(pc, pr, vanilla[names[2]], vanilla[names[3]])
    loss.backward()
    inputs["vanilla"] = vanilla
    expected["vanilla"] = {"loss": loss, "chosen_rewards": chosen, "rejected_rewards": rejected,
                           "grad_policy_chosen_logps": pc.grad, "grad_policy_rejected_logps": pr.grad}
    kto = {"beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.5, "world_size": 1}
    for case, kl_shift in [("kto_kl_positive", 0.5), ("kto_kl_clamped", -0.5)]:
        case_inputs = {"policy_chosen_logps": logps(g, 6), "policy_rejected_logps": logps(g, 4)}
        reference_kl = logps(g, 7)
        case_inputs["policy_KL_logps"] = reference_kl + kl_shift
        case_inputs["reference_chosen_logps"] = logps(g, 6)
        case_inputs["reference_rejected_logps"] = logps(g, 4)
        case_inputs["reference_KL_logps"] = reference_kl
        pc, pr, pk = (leaf(case_inputs[k]) for k in ["policy_chosen_logps", "policy_rejected_logps", "policy_KL_logps"])
        module = orl.loss.KTOLoss(device=torch.device("cpu"), **kto)
        loss, chosen, rejected, kl = module(pc, pr, pk, case_inputs["reference_chosen_logps"],
                                            case_inputs["reference_rejected_logps"], case_inputs["reference_KL_logps"])
        loss.backward()
        inputs[case] = case_inputs
        expected[case] = {"loss": loss, "chosen_rewards": chosen, "rejected_rewards": rejected, "KL": kl,
                          "grad_policy_chosen_logps": pc.grad, "grad_policy_rejected_logps": pr.grad,
                          "grad_policy_KL_logps": pk.grad if pk.grad is not None else torch.zeros(7)}
    return doc(orl_source("openrlhf/models/loss.py", "VanillaKTOLoss, KTOLoss")
               + "; KTOLoss ran in a real world_size=1 gloo process group (dist.all_reduce is the identity)", inputs,
               {"vanilla": {"beta": 0.1}, "kto_kl_positive": kto, "kto_kl_clamped": kto, "fixture_seed": seed}, expected,
               "vanilla: chosen_KL=mean(pc-rc).clamp(min=0), rejected_KL=mean(pr-rr).clamp(min=0) are NOT detached "
               "(gradient flows through the batch means, except where the clamp is active); losses=cat(1-sigmoid(b*("
               "chosen_logratios-rejected_KL)), 1-sigmoid(b*(chosen_KL-rejected_logratios))).mean(). KTOLoss: KL=mean("
               "policy_KL-reference_KL) detached, /world_size, clamp(min=0); loss=cat(dw*(1-sigmoid(b*(clr-KL))), uw*(1-"
               "sigmoid(b*(KL-rlr)))).mean() over n_chosen+n_rejected items. grad_policy_KL_logps is all zeros because KL "
               "is detached.")


@fixture("kd_loss.json", 141797)
def kd_loss(g, seed, orl):
    logits, teacher = randn(g, 4, 7, 13, scale=2.0), randn(g, 4, 7, 13, scale=2.0)
    label = torch.randint(0, 13, (4, 7), generator=g)
    label[:, :2] = -100
    for row, n in enumerate(masks(g, 4, 7).sum(-1).long().tolist()):
        label[row, max(n, 3):] = -100
    x = leaf(logits)
    loss = orl.loss.KDLoss()(x, teacher, label)
    loss.backward()
    return doc(orl_source("openrlhf/models/loss.py", "KDLoss"), {"logits": logits, "teacher_logits": teacher, "label": label},
               {"IGNORE_INDEX": -100, "fixture_seed": seed}, {"loss": loss, "grad_logits": x.grad},
               "x_t = sum_v softmax(teacher)_v * log_softmax(student)_v; loss = -sum(x_t*mask)/sum(mask), mask = label != "
               "-100. No shift between logits and labels (unlike GPTLMLoss). The label values themselves are unused "
               "except for the mask. (-inf student logits would be masked to 0 in the product; not exercised here.)")


@fixture("prm_loss.json", 147603)
def prm_loss(g, seed, orl):
    placeholder, reward_tokens = 12, [3, 5]
    input_ids = torch.randint(0, 12, (4, 7), generator=g)
    input_ids[:, 2] = placeholder
    input_ids[torch.rand(4, 7, generator=g) < 0.4] = placeholder
    input_ids[:, :2] = torch.randint(0, 12, (4, 2), generator=g)
    logits = randn(g, 4, 7, 13, scale=2.0)
    at = input_ids == placeholder
    hard = torch.full((4, 7), -100)
    hard[at] = torch.tensor(reward_tokens)[torch.randint(0, 2, (int(at.sum()),), generator=g)]
    full = torch.full((4, 7), -100)
    full[at] = torch.randint(0, 12, (int(at.sum()),), generator=g)
    soft = torch.full((4, 7), -100.0)
    soft[at] = torch.rand(int(at.sum()), generator=g)
    labels = {"hard_reward_tokens": hard, "hard_full_vocab": full, "soft": soft}
    cases = {"hard_reward_tokens": {"reward_token_ids": reward_tokens}, "hard_full_vocab": {"reward_token_ids": None},
             "soft": {"reward_token_ids": reward_tokens}}
    expected = {}
    for case, kwargs in cases.items():
        x = leaf(logits)
        loss, acc = orl.loss.PRMLoss(placeholder, **kwargs)(input_ids, x, labels[case], return_acc=True)
        loss.backward()
        expected[case] = {"loss": loss, "acc": acc, "grad_logits": x.grad}
    return doc(orl_source("openrlhf/models/loss.py", "PRMLoss"),
               {"input_ids": input_ids, "logits": logits, **{f"labels_{k}": v for k, v in labels.items()}},
               {"placeholder_token_id": placeholder, **cases, "fixture_seed": seed}, expected,
               "Only positions where input_ids == placeholder_token_id count. hard_reward_tokens: logits restricted to "
               "reward_token_ids columns, labels remapped token->index, CE mean. hard_full_vocab: CE over the whole vocab. "
               "soft: float labels p -> target [p, 1-p] over the two reward tokens, CE with probability targets. acc = "
               "mean(argmax(logits) == label) over placeholder positions. Loss computed with return_acc=True.")


@fixture("policy_loss.json", 190047)
def policy_loss(g, seed, orl):
    log_probs = -torch.rand(4, 7, generator=g) * 3
    old = log_probs + randn(g, 4, 7, scale=0.3)
    advantages, mask = randn(g, 4, 7), masks(g, 4, 7)
    expected = {}
    for case, token_level in [("token_level", True), ("sequence_level", False)]:
        x = leaf(log_probs)
        loss = orl.loss.PolicyLoss(clip_eps=0.2, token_level_loss=token_level)(x, old, advantages, mask.bool())
        loss.backward()
        expected[case] = {"loss": loss, "grad_log_probs": x.grad}
    return doc(orl_source("openrlhf/models/loss.py", "PolicyLoss"),
               {"log_probs": log_probs, "old_log_probs": old, "advantages": advantages, "action_mask": mask_json(mask)},
               {"clip_eps": 0.2, "token_level_loss": {"token_level": True, "sequence_level": False}, "fixture_seed": seed},
               expected, "ratio=exp(log_probs-old_log_probs); loss_t=-min(ratio*adv, clamp(ratio,1-eps,1+eps)*adv). "
               "token_level: sum(loss*mask)/sum(mask) over the whole batch (default, used by PPOTrainer); sequence_level: "
               "per-row masked mean, then mean over rows. Inputs are random also at masked positions. action_mask is "
               "bool in OpenRLHF (written as 0/1).")


@fixture("value_loss.json", 108275)
def value_loss(g, seed, orl):
    values = randn(g, 4, 7)
    old = values + randn(g, 4, 7, scale=0.3)
    returns, mask = randn(g, 4, 7), masks(g, 4, 7)
    cases = {"clipped": {"clip_eps": 0.2, "token_level_loss": True}, "unclipped": {"clip_eps": None, "token_level_loss": True},
             "clipped_sequence_level": {"clip_eps": 0.2, "token_level_loss": False}}
    expected = {}
    for case, kwargs in cases.items():
        x = leaf(values)
        loss = orl.loss.ValueLoss(**kwargs)(x, old, returns, mask)
        loss.backward()
        expected[case] = {"loss": loss, "grad_values": x.grad}
    return doc(orl_source("openrlhf/models/loss.py", "ValueLoss"),
               {"values": values, "old_values": old, "returns": returns, "action_mask": mask_json(mask)},
               {**cases, "fixture_seed": seed}, expected,
               "clipped: v_clip=old+clamp(v-old,-eps,eps); loss_t=max((v_clip-ret)^2,(v-ret)^2); final = "
               "0.5*masked_mean(loss_t). The 0.5 factor is applied after the mean.")


@fixture("approx_kl.json", 143080)
def approx_kl(g, seed, orl):
    mask = masks(g, 4, 7)
    log_probs = -torch.rand(4, 7, generator=g) * 3 * mask
    base = (log_probs + randn(g, 4, 7, scale=0.2)) * mask
    u = orl.utils
    expected = {}
    for estimator in ["k1", "k2", "k3"]:
        x = leaf(log_probs)
        kl = u.compute_approx_kl(x, base, kl_estimator=estimator)
        seq = u.masked_mean(kl, mask, dim=-1)
        loss = seq.mean()
        loss.backward()
        expected[estimator] = {"kl": kl, "kl_info_mean_unmasked": u.masked_mean(kl, None, dim=-1),
                               "kl_seq_mean_masked": seq, "kl_loss": loss, "grad_log_probs_of_kl_loss": x.grad}
    return doc(orl_source("openrlhf/models/utils.py", "compute_approx_kl, masked_mean")
               + " (reductions as in experience_maker.py make_experience and ppo_actor.py training_step)",
               {"log_probs": log_probs, "log_probs_base": base, "action_mask": mask_json(mask)},
               {"kl_estimator": ["k1", "k2", "k3"], "fixture_seed": seed}, expected,
               "compute_approx_kl in v0.7.0 takes NO mask: kl is elementwise (k1: d, k2: d^2/2, k3: exp(-d)-1+d, "
               "d=log_probs-log_probs_base). Masking happens because Actor multiplies action log probs by action_mask, so "
               "d=0 at padding (inputs here are zero there too). kl_info_mean_unmasked = masked_mean(kl, None, -1) = "
               "plain mean over all A positions (experience_maker info['kl'], which feeds the AdaptiveKLController). "
               "kl_seq_mean_masked = masked_mean(kl, action_mask, -1); kl_loss = its batch mean (use_kl_loss path); grad "
               "is d kl_loss / d log_probs.")


@fixture("compute_reward.json", 150370)
def compute_reward(g, seed, orl):
    r = torch.cat([torch.tensor([12.5, -13.0]), randn(g, 2)])
    kl, mask = randn(g, 4, 7, scale=0.2), masks(g, 4, 7)
    cases = {"kl0.05_clip10": {"kl_coef": 0.05, "reward_clip_range": [-10.0, 10.0]},
             "kl0.1_noclip": {"kl_coef": 0.1, "reward_clip_range": None},
             "negative_kl_coef": {"kl_coef": -0.2, "reward_clip_range": [-10.0, 10.0]}}
    expected = {case: {"reward": orl.utils.compute_reward(r, kwargs["kl_coef"], kl, action_mask=mask,
                                                          reward_clip_range=kwargs["reward_clip_range"])}
                for case, kwargs in cases.items()}
    return doc(orl_source("openrlhf/models/utils.py", "compute_reward"), {"r": r, "kl": kl, "action_mask": mask_json(mask)},
               {**cases, "fixture_seed": seed}, expected,
               "r is clamped to reward_clip_range (if given); kl_coef<=0 is treated as 0; reward = -kl_coef*kl everywhere "
               "(NOT masked: padded positions keep -kl_coef*kl) plus r scattered at the LAST position where action_mask "
               "is 1 (index A-1-argmax(fliplr(mask))). Training default reward_clip_range is (-10, 10).")


def experience_maker(orl, estimator, **args):
    maker = object.__new__(orl.experience_maker.RemoteExperienceMaker)
    maker.strategy = Strategy(advantage_estimator=estimator, **args)
    maker.advantage_estimator = estimator
    maker.kl_ctl = orl.kl_controller.FixedKLController(args.get("kl_coef", 0.0))
    return maker


@fixture("gae.json", 154409)
def gae(g, seed, orl):
    values, rewards, mask = randn(g, 4, 7), randn(g, 4, 7, scale=0.5), masks(g, 4, 7)
    cases = {"gamma1.0_lambd0.95": {"gamma": 1.0, "lambd": 0.95}, "gamma0.95_lambd0.95": {"gamma": 0.95, "lambd": 0.95},
             "gamma1.0_lambd1.0": {"gamma": 1.0, "lambd": 1.0}}
    maker = experience_maker(orl, "gae")
    expected = {}
    for case, kwargs in cases.items():
        advantages, returns = maker.get_advantages_and_returns(values, rewards, mask, kwargs["gamma"], kwargs["lambd"])
        expected[case] = {"advantages": advantages, "returns": returns}
    return doc(orl_source("openrlhf/trainer/ppo_utils/experience_maker.py", "RemoteExperienceMaker.get_advantages_and_returns"),
               {"values": values, "rewards": rewards, "action_mask": mask_json(mask)}, {**cases, "fixture_seed": seed}, expected,
               "values and rewards are first multiplied by action_mask; then backward recursion over ALL positions with "
               "next value 0 after the last column: delta_t=r_t+gamma*V_{t+1}-V_t, A_t=delta_t+gamma*lambd*A_{t+1}; returns "
               "= advantages + masked values. Inputs are random at masked positions.")


@fixture("cumulative_returns.json", 169400)
def cumulative_returns(g, seed, orl):
    rewards, mask = randn(g, 4, 7, scale=0.5), masks(g, 4, 7)
    cases = {"gamma1.0": {"gamma": 1.0}, "gamma0.9": {"gamma": 0.9}}
    maker = experience_maker(orl, "reinforce")
    expected = {case: {"returns": maker.get_cumulative_returns(rewards, mask, kwargs["gamma"])} for case, kwargs in cases.items()}
    return doc(orl_source("openrlhf/trainer/ppo_utils/experience_maker.py", "RemoteExperienceMaker.get_cumulative_returns"),
               {"rewards": rewards, "action_mask": mask_json(mask)}, {**cases, "fixture_seed": seed}, expected,
               "rewards*=action_mask; G_t = r_t + gamma*G_{t+1}, G_A = 0. Used as advantages for reinforce/rloo/"
               "reinforce_baseline/group_norm/dr_grpo.")


@fixture("group_advantages.json", 129225)
def group_advantages(g, seed, orl):
    n, micro = 4, 4
    rewards = torch.cat([torch.tensor([12.0]), randn(g, 3, scale=1.5), torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5])])
    mask = masks(g, 12, 7)
    kl, values = randn(g, 12, 7, scale=0.2) * mask, randn(g, 12, 7)
    params = {"n_samples_per_prompt": n, "micro_rollout_batch_size": micro, "kl_coef": 0.05, "reward_clip_range": [-10.0, 10.0],
              "gamma": 1.0, "lambd": 0.95, "divide_by_std": True,
              "estimators": ["gae", "reinforce", "rloo", "reinforce_baseline", "group_norm", "dr_grpo"]}
    Experience = orl.experience_maker.Experience
    single_process_group()
    expected = {}
    for estimator in params["estimators"]:
        maker = experience_maker(orl, estimator, n_samples_per_prompt=n, kl_coef=params["kl_coef"],
                                 reward_clip_range=tuple(params["reward_clip_range"]))
        experiences = [Experience(sequences=None, action_log_probs=None, base_action_log_probs=None,
                                  values=values[i:i + micro].clone(), returns=None, advantages=None, attention_mask=None,
                                  action_mask=mask[i:i + micro].bool(), info={"reward": rewards[i:i + micro].clone()},
                                  kl=kl[i:i + micro].clone())
                       for i in range(0, 12, micro)]
        # The shaped scalar rewards, exactly as compute_advantages_and_returns computes them first.
        shaped = rewards.clone()
        with CudaIsCPU():
            experiences = maker.compute_advantages_and_returns(experiences, gamma=params["gamma"], lambd=params["lambd"])
        advantages = torch.cat([e.advantages for e in experiences])
        returns = torch.cat([e.returns for e in experiences])
        info_return = torch.cat([e.info["return"] for e in experiences])
        grouped = rewards.reshape(-1, n)
        if estimator == "rloo":
            shaped = (grouped - (grouped.sum(-1, keepdim=True) - grouped) / (n - 1)).flatten()
        elif estimator in ["reinforce_baseline", "dr_grpo"]:
            shaped = (grouped - grouped.mean(-1, keepdim=True)).flatten()
        elif estimator == "group_norm":
            shaped = ((grouped - grouped.mean(-1, keepdim=True)) / (grouped.std(-1, keepdim=True) + 1e-9)).flatten()
        token_rewards = orl.utils.compute_reward(shaped, params["kl_coef"], kl, action_mask=mask,
                                                 reward_clip_range=tuple(params["reward_clip_range"]))
        normalized = estimator not in ["group_norm", "dr_grpo"]
        after = buffer_normalize(orl, advantages, mask, params["divide_by_std"]) if normalized else advantages
        expected[estimator] = {"shaped_rewards": shaped, "token_rewards": token_rewards, "returns": returns,
                               "advantages": advantages, "advantages_after_buffer_normalize": after,
                               "buffer_normalized": normalized, "info_return": info_return}
    return doc(orl_source("openrlhf/trainer/ppo_utils/experience_maker.py",
                          "RemoteExperienceMaker.compute_advantages_and_returns (+ compute_reward, get_cumulative_returns, "
                          "get_advantages_and_returns) and replay_buffer.py NaiveReplayBuffer.normalize"),
               {"rewards": rewards, "kl": kl, "values": values, "action_mask": mask_json(mask)},
               {**params, "fixture_seed": seed}, expected,
               "Samples are grouped by consecutive runs of n_samples_per_prompt. Reward shaping on the scalar rewards: rloo "
               "r-(sum(group)-r)/(n-1); reinforce_baseline and dr_grpo r-mean(group); group_norm (r-mean)/(std+1e-9) with "
               "torch's UNBIASED std (n-1), so a constant group gives 0; gae/reinforce unchanged. Then compute_reward("
               "shaped, kl_coef, kl, action_mask, reward_clip_range) -> token_rewards (clip AFTER shaping); gae: "
               "get_advantages_and_returns(values, token_rewards, mask, gamma, lambd); others: returns=get_cumulative_"
               "returns(token_rewards, mask, gamma) and advantages=returns. info_return = token_rewards.sum(-1) "
               "(unmasked). Finally the replay buffer normalizes advantages (all estimators except group_norm/dr_grpo): "
               "mean = sum(ALL entries)/sum(mask), var = sum((a-mean)^2*mask)/sum(mask), a' = (a-mean)*rsqrt(max(var,"
               "1e-8)) at every position incl. padding. 'values' is only used by gae. Groups here: continuous, binary "
               "{1,0,0,1}, constant 0.5 (group_norm std = 0).")


@fixture("adaptive_kl.json", 194354)
def adaptive_kl(g, seed, orl):
    current = torch.cat([torch.rand(5, generator=g) * 8, torch.tensor([30.0, 0.0])])
    n_steps = [512, 512, 512, 512, 1024, 1024, 1024]
    params = {"init_kl_coef": 0.05, "target": 6.0, "horizon": 10000}
    adaptive = orl.kl_controller.AdaptiveKLController(params["init_kl_coef"], params["target"], params["horizon"])
    fixed = orl.kl_controller.FixedKLController(params["init_kl_coef"])
    values = []
    for kl, steps in zip(current.tolist(), n_steps):
        adaptive.update(kl, steps)
        fixed.update(kl, steps)
        values.append(float(adaptive.value))
    return doc(f"{OPENRLHF} openrlhf/trainer/ppo_utils/kl_controller.py AdaptiveKLController, FixedKLController; numpy "
               "float64 arithmetic", {"current_kl": current, "n_steps": n_steps}, {**params, "fixture_seed": seed},
               {"value_after_each_update": values, "fixed_value_after_update": fixed.value},
               "err = clip(current/target - 1, -0.2, 0.2); value *= 1 + err*n_steps/horizon (float64). In training, "
               "current is status['kl'] and n_steps = rollout_batch_size*n_samples_per_prompt.")


# ---------------------------------------------------------------- tiny transformers models

MODEL_NOTES = ("model(input_ids, labels=input_ids): loss = mean CE of logits[:, :-1] vs input_ids[:, 1:] over all B*(T-1) "
               "targets; no attention mask / padding; position ids 0..T-1. grad_norms: L2 norm of each parameter's .grad "
               "after loss.backward(), keyed by named_parameters() names. hidden_states_seq0: HF output_hidden_states for "
               "batch row 0 only: [embeddings, after layer 1, after final layer + final norm] (HF applies the final norm "
               "to the last entry). Weights: HF init with initializer_range=0.2, then norm weights 1+0.1*N(0,1), "
               "norm/linear biases 0.05*N(0,1). ")


def tiny_model(g, seed, out, stem, model_class, config, notes):
    from safetensors.torch import save_file
    torch.manual_seed(seed)  # transformers' own initialisation draws from the global generator
    config.architectures = [model_class.__name__]
    model = model_class(config).float()
    model.config._attn_implementation = "eager"
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or ".ln_" in name:
                p.copy_(1 + randn(g, *p.shape, scale=0.1) if name.endswith("weight") else randn(g, *p.shape, scale=0.05))
            elif name.endswith("bias"):
                p.copy_(randn(g, *p.shape, scale=0.05))
    ids = torch.randint(0, config.vocab_size, (2, 7), generator=g)
    result = model(input_ids=ids, labels=ids, output_hidden_states=True)
    result.loss.backward()
    grad_norms = {name: p.grad.norm().item() for name, p in model.named_parameters()}
    hidden = torch.stack([result.hidden_states[i][0] for i in (0, 1, -1)])
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        tensors.pop("lm_head.weight", None)
    save_file(tensors, str(out / f"{stem}.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(str(out / "config-tmp"))
    (out / "config-tmp" / "config.json").rename(out / f"{stem}.config.json")
    (out / "config-tmp").rmdir()
    return doc(f"{TRANSFORMERS} {model_class.__name__} (attn_implementation='eager'), weights in {stem}.safetensors, "
               f"config {stem}.config.json; {TORCH}", {"input_ids": ids},
               {"weights_file": f"{stem}.safetensors", "config_file": f"{stem}.config.json",
                "safetensors_keys": sorted(tensors), "tie_word_embeddings": config.tie_word_embeddings, "dtype": "float32",
                "labels": "input_ids (HF shifts internally)", "fixture_seed": seed},
               {"logits": result.logits, "loss": result.loss, "grad_norms": grad_norms, "hidden_states_seq0": hidden},
               MODEL_NOTES + notes)


@fixture("tiny_llama.json", 185596)
def tiny_llama(g, seed, out):
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, head_dim=8, max_position_embeddings=64, rms_norm_eps=1e-5,
                         initializer_range=0.2, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                         rope_parameters={"rope_theta": 10000.0, "rope_type": "default"}, dtype="float32")
    return tiny_model(g, seed, out, "tiny_llama", LlamaForCausalLM, config,
                      "Llama: q/k/v/o and MLP (gate, up, down) have no bias; SwiGLU MLP down(silu(gate x) * up x); RoPE "
                      "half-split; 2 kv heads shared by 4 query heads.")


@fixture("tiny_gpt2.json", 198471)
def tiny_gpt2(g, seed, out):
    from transformers import GPT2Config, GPT2LMHeadModel
    config = GPT2Config(vocab_size=50, n_embd=32, n_layer=2, n_head=4, n_positions=64, initializer_range=0.2,
                        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        layer_norm_epsilon=1e-5, bos_token_id=49, eos_token_id=49, dtype="float32")
    return tiny_model(g, seed, out, "tiny_gpt2", GPT2LMHeadModel, config,
                      "GPT-2: lm_head.weight is tied to transformer.wte.weight and is not stored separately; its gradient "
                      "is included in transformer.wte.weight's norm. GPT-2 uses Conv1D: weights are stored (in, out), y = x "
                      "W + b; c_attn packs q|k|v along the output axis; wpe adds learned positions; gelu_new activation.")


# ---------------------------------------------------------------- OpenRLHF v0.11.0 (after v0.7.0)

def latest_source(file, what):
    return f"{LATEST} {file} {what}; run with {TORCH}"


def latest_policy_loss(latest, inputs, cases, kwargs_of):
    """Runs v0.11.0's PolicyLoss for every case on the same inputs; loss, clip_ratio and the
    gradient of the loss with respect to log_probs."""
    expected = {}
    for case, params in cases.items():
        x = leaf(inputs["log_probs"])
        loss, clip_ratio, _, _ = latest.loss.PolicyLoss(**kwargs_of(params))(
            x, inputs["old_log_probs"], inputs["advantages"], inputs["action_mask"].bool(),
            rollout_log_probs=inputs.get("rollout_log_probs"))
        loss.backward()
        expected[case] = {"loss": loss, "clip_ratio": clip_ratio, "grad_log_probs": x.grad}
    return expected


def policy_inputs(g, spread, rows=4, cols=7):
    log_probs = -torch.rand(rows, cols, generator=g) * 3
    old = log_probs + randn(g, rows, cols, scale=spread)
    return {"log_probs": log_probs, "old_log_probs": old, "advantages": randn(g, rows, cols), "action_mask": masks(g, rows, cols)}


def policy_doc(latest_what, inputs, cases, seed, expected, notes):
    shown = {k: mask_json(v) if k == "action_mask" else v for k, v in inputs.items()}
    return doc(latest_source("openrlhf/models/loss.py", latest_what), shown, {**cases, "fixture_seed": seed}, expected,
               notes + " clip_ratio = masked_mean(surr2 < surr1). Inputs are random also at masked positions; action_mask "
               "is bool in OpenRLHF (written as 0/1). grad_log_probs is d loss / d log_probs.")


@fixture("policy_loss_clip_higher.json", 171203)
def policy_loss_clip_higher(g, seed, latest):
    inputs = policy_inputs(g, 0.4)
    cases = {"clip_higher_token_level": {"clip_eps_low": 0.2, "clip_eps_high": 0.28, "token_level_loss": True},
             "clip_higher_sequence_level": {"clip_eps_low": 0.2, "clip_eps_high": 0.28, "token_level_loss": False},
             "asymmetric_low": {"clip_eps_low": 0.1, "clip_eps_high": 0.3, "token_level_loss": True}}
    expected = latest_policy_loss(latest, inputs, cases, lambda p: p)
    return policy_doc("PolicyLoss (policy_loss_type='ppo', clip_eps_low != clip_eps_high: DAPO clip-higher)", inputs, cases,
                      seed, expected, "ratio = exp(clamp(log_probs - old_log_probs, -20, 20)); loss_t = -min(ratio*adv, "
                      "clamp(ratio, 1-clip_eps_low, 1+clip_eps_high)*adv); token level: masked mean over the batch; "
                      "sequence level: mean over rows of each row's masked mean.")


@fixture("policy_loss_dual_clip.json", 128807)
def policy_loss_dual_clip(g, seed, latest):
    inputs = policy_inputs(g, 0.9)
    cases = {"dual_clip2": {"clip_eps_low": 0.2, "clip_eps_high": 0.2, "dual_clip": 2.0},
             "dual_clip1.5_clip_higher": {"clip_eps_low": 0.2, "clip_eps_high": 0.28, "dual_clip": 1.5}}
    expected = latest_policy_loss(latest, inputs, cases, lambda p: p)
    return policy_doc("PolicyLoss (dual_clip)", inputs, cases, seed, expected,
                      "clip1 = min(ratio*adv, clamp(ratio, 1-low, 1+high)*adv); clip2 = max(clip1, dual_clip*adv); loss_t = "
                      "-(adv < 0 ? clip2 : clip1); token-level masked mean. The log-ratio spread (0.9) makes some negative-"
                      "advantage ratios exceed dual_clip.")


@fixture("gspo_loss.json", 160731)
def gspo_loss(g, seed, latest):
    inputs = policy_inputs(g, 0.3)
    cases = {"gspo_eps0.2": {"clip_eps_low": 0.2, "clip_eps_high": 0.2},
             "gspo_paper_eps": {"clip_eps_low": 0.0003, "clip_eps_high": 0.0004}}
    expected = latest_policy_loss(latest, inputs, cases, lambda p: {**p, "policy_loss_type": "gspo"})
    return policy_doc("PolicyLoss (policy_loss_type='gspo')", inputs, cases, seed, expected,
                      "s_i = exp(sum_t(log_ratio*mask) / clamp(sum_t mask, min=1)); ratio = s_i * mask (per token, 0 at "
                      "padding); loss_t = -min(ratio*adv, clamp(ratio, 1-low, 1+high)*adv); GSPO forces token_level_loss="
                      "False: mean over rows of each row's masked mean. gspo_paper_eps uses the GSPO paper's 3e-4 / 4e-4.")


@fixture("tis_policy_loss.json", 119833)
def tis_policy_loss(g, seed, latest):
    inputs = policy_inputs(g, 0.3)
    inputs["rollout_log_probs"] = inputs["old_log_probs"] + randn(g, 4, 7, scale=0.6)
    cases = {"tis_cap1.5": {"tis_cap": 1.5}, "tis_cap1.2_clip_higher": {"tis_cap": 1.2, "clip_eps_high": 0.28}}

    def kwargs_of(p):
        return {"clip_eps_low": 0.2, "clip_eps_high": p.get("clip_eps_high", 0.2), "enable_vllm_is_correction": True,
                "vllm_is_truncated_threshold": [0.0, p["tis_cap"]], "vllm_is_correction_type": "tis"}

    expected = latest_policy_loss(latest, inputs, cases, kwargs_of)
    return policy_doc("PolicyLoss (enable_vllm_is_correction, vllm_is_correction_type='tis', "
                      "vllm_is_truncated_threshold=[0, cap])", inputs, cases, seed, expected,
                      "The PPO loss_t times w_t = clamp(exp(old_log_probs - rollout_log_probs), 0, cap), detached; token-"
                      "level masked mean. With low bound 0 this is OpenRLHF v0.8.9's TIS "
                      "(exp(old - rollout).clamp(max=vllm_is_truncated_threshold)).")


@fixture("seq_mask_tis_policy_loss.json", 162241)
def seq_mask_tis_policy_loss(g, seed, latest):
    inputs = policy_inputs(g, 0.3, rows=6)
    # Per-row offsets move some sequences' geometric-mean weight outside the thresholds.
    offsets = torch.tensor([0.0, 0.9, -0.9, 0.3, -0.3, 1.6])[:, None]
    inputs["rollout_log_probs"] = inputs["old_log_probs"] - offsets + randn(g, 6, 7, scale=0.2)
    cases = {"seq_mask_0.5_2": {"low": 0.5, "high": 2.0},
             "seq_mask_0.8_1.25_clip_higher": {"low": 0.8, "high": 1.25, "clip_eps_high": 0.28}}

    def kwargs_of(p):
        return {"clip_eps_low": 0.2, "clip_eps_high": p.get("clip_eps_high", 0.2), "enable_vllm_is_correction": True,
                "vllm_is_truncated_threshold": [p["low"], p["high"]], "vllm_is_correction_type": "seq-mask-tis"}

    expected = latest_policy_loss(latest, inputs, cases, kwargs_of)
    return policy_doc("PolicyLoss (enable_vllm_is_correction, vllm_is_correction_type='seq-mask-tis', "
                      "vllm_is_truncated_threshold=[low, high])", inputs, cases, seed, expected,
                      "Sequence-level masking: r_t = old_log_probs - rollout_log_probs; a row is kept when exp(masked_mean_t "
                      "r_t) is in [low, high]; the PPO loss_t of a kept row is weighted by exp(r_t) (not clamped), detached; "
                      "a row outside is masked out of the numerator but still counts in the token-level masked mean's "
                      "denominator.")


@fixture("overlong_penalty.json", 133319)
def overlong_penalty(g, seed, latest):
    max_new_tokens = 16
    lengths = torch.cat([torch.tensor([1, 11, 12, 13, 15, 16]), torch.randint(1, 17, (10,), generator=g)])
    rewards = randn(g, 16)
    cases = {"buffer4_factor1": {"overlong_buffer_len": 4.0, "overlong_penalty_factor": 1.0},
             "buffer6_factor0.5": {"overlong_buffer_len": 6.0, "overlong_penalty_factor": 0.5},
             "buffer16_factor2": {"overlong_buffer_len": 16.0, "overlong_penalty_factor": 2.0}}
    expected = {}
    for case, kwargs in cases.items():
        experiences = [types.SimpleNamespace(response_length=lengths[:8].clone(), rewards=rewards[:8].clone()),
                       types.SimpleNamespace(response_length=lengths[8:].clone(), rewards=rewards[8:].clone())]
        penalized = latest.length_penalty.apply_overlong_penalty(experiences, max_new_tokens, **kwargs)
        shaped = torch.cat([e.rewards for e in experiences])
        expected[case] = {"rewards": shaped, "penalty": shaped - rewards, "num_penalized": penalized}
    return doc(latest_source("openrlhf/trainer/ppo_utils/length_penalty.py", "apply_overlong_penalty"),
               {"response_length": lengths, "rewards": rewards}, {"max_new_tokens": max_new_tokens, **cases,
                                                                  "fixture_seed": seed}, expected,
               "DAPO soft overlong penalty: exceed = min(len - (max_new_tokens - buffer), buffer); if exceed > 0 the reward "
               "gets -exceed/buffer*factor. Applied to the scalar rewards before the group baseline "
               "(compute_advantages_and_returns). A reward shaping: no gradient.")


def openrlhf_dynamic_filtering(latest, scores, batch_size, filtering_range):
    """OpenRLHF v0.11.0's SamplesGenerator.generate_samples (and the _generate_vllm it calls) with
    dynamic filtering on, over a dataloader that yields one prompt per batch (prompt i in order).
    Only vLLM is replaced: dispatching prompt i returns its row of precomputed scores, one response
    per score, and a response becomes an object carrying its prompt and score."""
    generator = object.__new__(latest.samples_generator.SamplesGenerator)
    generator.args = types.SimpleNamespace(
        algo=types.SimpleNamespace(dynamic_filtering_enable=True, dynamic_filtering_range=filtering_range),
        rollout=types.SimpleNamespace(batch_size=batch_size, n_samples_per_prompt=scores.shape[1],
                                      vllm_generate_batch_size=None),
        vllm=types.SimpleNamespace(enable_sleep=False))
    generator.vllm_engines = []
    generator.prompts_dataloader = [(None, [i], [""], [None]) for i in range(scores.shape[0])]
    generator._dispatch_prompts_to_vllm = lambda prompts, labels, images=None, **kwargs: [
        [{"prompt": p, "score": s} for s in scores[p].tolist()] for p in prompts]
    generator._process_response_into_experience = lambda response, **kwargs: types.SimpleNamespace(
        prompt=response["prompt"], scores=torch.tensor([response["score"]]))
    samples, pass_rate, consumed, _ = generator.generate_samples()
    n = scores.shape[1]
    accepted = [samples[k].prompt for k in range(0, len(samples), n)]
    assert all(samples[k].prompt == accepted[k // n] for k in range(len(samples)))
    return {"accepted_prompts": torch.tensor(accepted), "prompts_consumed": consumed, "filter_pass_rate": pass_rate}


@fixture("dynamic_filtering.json", 140927)
def dynamic_filtering(g, seed, latest):
    prompts, n = 48, 4
    # Each prompt's chance of a correct response is low, middling or high, so that many groups
    # are all wrong or all right (binary scores); graded scores are in {0, 0.5, 1}.
    p = torch.tensor([0.03, 0.5, 0.97])[torch.randint(0, 3, (prompts,), generator=g)]
    binary = (torch.rand(prompts, n, generator=g) < p[:, None]).float()
    graded = torch.randint(0, 3, (prompts, n), generator=g).float() / 2
    graded[torch.rand(prompts, generator=g) < 0.4] = 1.0
    cases = {"binary_default_range": {"scores": "binary_scores", "batch_size": 8, "range": [0.0, 1.0]},
             "binary_batch16": {"scores": "binary_scores", "batch_size": 16, "range": [0.0, 1.0]},
             "graded_narrow_range": {"scores": "graded_scores", "batch_size": 6, "range": [0.25, 0.75]}}
    tables = {"binary_scores": binary, "graded_scores": graded}
    expected = {case: openrlhf_dynamic_filtering(latest, tables[c["scores"]], c["batch_size"], tuple(c["range"]))
                for case, c in cases.items()}
    return doc(latest_source("openrlhf/trainer/ppo_utils/samples_generator.py",
                             "SamplesGenerator.generate_samples / _generate_vllm (algo.dynamic_filtering_enable)"),
               tables, {**cases, "fixture_seed": seed}, expected,
               "Row i of a score table holds the scores of prompt i's n_samples_per_prompt responses; the dataloader "
               "yields prompts 0, 1, 2, ... one per batch. A group is kept when min < mean(scores) < max "
               "(dynamic_filtering_range); each filtered group is replaced by the next prompt, until batch_size groups "
               "are kept. accepted_prompts are the kept prompts in the order OpenRLHF returns them (ray.wait in "
               "submission order); prompts_consumed counts every prompt drawn; filter_pass_rate is OpenRLHF's "
               "len(experiences) / prompts_consumed * 100, where experiences are samples, not groups (so it is "
               "n_samples_per_prompt times the share of prompts kept). vLLM is replaced by the score tables; the "
               "filtering, replacement and counting code runs unmodified.")


# ---------------------------------------------------------------- TRL (on-policy distillation)

TRL_VERSION = "1.16.0"
TRL = f"trl v{TRL_VERSION} (PyPI wheel, tag v{TRL_VERSION})"


def trl_generalized_jsd_loss(source):
    """TRL's GKDTrainer.generalized_jsd_loss, its source text taken unmodified from
    trl/experimental/gkd/gkd_trainer.py (the module itself needs accelerate, datasets and the rest of
    TRL, which the function does not use) and run with torch and torch.nn.functional."""
    path = Path(source) / "trl/experimental/gkd/gkd_trainer.py"
    text = path.read_text()
    tree = ast.parse(text)
    function = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                    and node.name == "generalized_jsd_loss")
    code = textwrap.dedent(ast.get_source_segment(text, function))
    namespace = {"torch": torch, "F": F}
    exec(compile(code, str(path), "exec"), namespace)
    return namespace["generalized_jsd_loss"]


def trl_source(cache):
    """Unpacks the trl==<version> wheel (fetched with `pip download --no-deps`) into `cache`."""
    cache = Path(cache)
    target = cache / f"trl-{TRL_VERSION}"
    if not (target / "trl/experimental/gkd/gkd_trainer.py").exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", f"trl=={TRL_VERSION}", "--no-deps", "-d", str(cache)],
                       check=True)
        with zipfile.ZipFile(next(cache.glob(f"trl-{TRL_VERSION}-*.whl"))) as archive:
            archive.extractall(target)
    return target


@fixture("gkd_loss.json", 176093)
def gkd_loss(g, seed, trl):
    rows, positions, vocab = 3, 6, 11
    student = randn(g, rows, positions, vocab, scale=1.5)
    teacher = randn(g, rows, positions, vocab, scale=2.0)
    labels = torch.randint(0, vocab, (rows, positions), generator=g)
    labels[0, :2] = -100  # prompt positions
    labels[1, 4:] = -100  # padding after the response
    labels[2, :1] = -100
    loss_mask = (labels != -100).float()
    cases = {"reverse_kl": {"beta": 1.0, "temperature": 1.0}, "forward_kl": {"beta": 0.0, "temperature": 1.0},
             "jsd_0.5": {"beta": 0.5, "temperature": 1.0}, "reverse_kl_temperature_2": {"beta": 1.0, "temperature": 2.0},
             "jsd_0.9_num_items": {"beta": 0.9, "temperature": 1.0, "num_items_in_batch": 20}}
    expected = {}
    for case, params in cases.items():
        x = leaf(student)
        loss = trl(x, teacher, labels=labels, beta=params["beta"], temperature=params["temperature"],
                   num_items_in_batch=params.get("num_items_in_batch"))
        loss.backward()
        expected[case] = {"loss": loss, "grad_student_logits": x.grad}
    return doc(f"{TRL} trl/experimental/gkd/gkd_trainer.py GKDTrainer.generalized_jsd_loss; run with {TORCH}",
               {"student_logits": student, "teacher_logits": teacher, "loss_mask": loss_mask},
               {**cases, "fixture_seed": seed}, expected,
               "Generalized JSD of GKD (Agarwal et al. 2024, Eq. 1) per position over the vocabulary, both logits divided by "
               "temperature: beta=1 is KL(student || teacher) (reverse KL, on-policy distillation's loss), beta=0 "
               "KL(teacher || student), else beta*KL(teacher || m) + (1-beta)*KL(student || m) with m = (1-beta)*student + "
               "beta*teacher. Positions whose label is -100 (loss_mask 0) are dropped; the sum is divided by the number "
               "kept (batchmean), or by num_items_in_batch when given. grad_student_logits is d loss / d student_logits; "
               "the teacher is a constant.")


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="folder to write the fixtures to")
    parser.add_argument("--openrlhf", type=Path,
                        help="OpenRLHF v0.7.0 source (the folder holding openrlhf/); default: the PyPI wheel, unpacked "
                             "into ~/.cache/rlhf-reference-fixtures")
    parser.add_argument("--openrlhf-latest", type=Path,
                        help=f"OpenRLHF v{LATEST_VERSION} source (tag v{LATEST_VERSION}, commit {LATEST_COMMIT[:8]}; the folder "
                             "holding openrlhf/); default: its PyPI wheel, unpacked into ~/.cache/rlhf-reference-fixtures")
    parser.add_argument("--trl", type=Path,
                        help=f"TRL v{TRL_VERSION} source (the folder holding trl/); default: its PyPI wheel, unpacked into "
                             "~/.cache/rlhf-reference-fixtures")
    parser.add_argument("names", nargs="*", help="fixtures to write (e.g. softmax rope); default: all")
    args = parser.parse_args()

    torch.use_deterministic_algorithms(True)
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = {n if n.endswith(".json") else f"{n}.json" for n in args.names} or set(FIXTURES)
    unknown = wanted - set(FIXTURES)
    if unknown:
        sys.exit(f"unknown fixtures {sorted(unknown)}; known: {sorted(FIXTURES)}")
    root = args.openrlhf or OpenRLHF.source_from_pypi(Path.home() / ".cache/rlhf-reference-fixtures")
    orl = OpenRLHF(root)
    latest = None
    for name in sorted(wanted):
        seed, function = FIXTURES[name]
        g = torch.Generator().manual_seed(seed)
        parameters = function.__code__.co_varnames[:function.__code__.co_argcount]
        if "latest" in parameters and latest is None:
            cache = Path.home() / ".cache/rlhf-reference-fixtures"
            latest = OpenRLHFLatest(args.openrlhf_latest or OpenRLHF.source_from_pypi(cache, LATEST_VERSION))
        extra = ({"orl": orl} if "orl" in parameters else {"latest": latest} if "latest" in parameters
                 else {"out": args.out} if "out" in parameters else {})
        if "trl" in parameters:
            extra = {"trl": trl_generalized_jsd_loss(args.trl or trl_source(Path.home() / ".cache/rlhf-reference-fixtures"))}
        data = function(g, seed, **extra)
        (args.out / name).write_text(json.dumps(data))
        print(f"wrote {args.out / name}")
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
