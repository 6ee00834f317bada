"""PyTorch counterpart of `rlhf bench --only breakdown`: milliseconds of forward (LM head and loss
included), backward, gradient clipping, AdamW and zero_grad, each timed around its call, for the
SmolLM2-135M shape at 4 x 128 (default) or the tiny Llama at 8 x 256 (`tiny`). Random weights, fp32,
2 threads; prints one line per step (the first warms up).
usage: python torch_step_breakdown.py [tiny]"""
import sys, time, torch
from transformers import LlamaConfig, LlamaForCausalLM

torch.set_num_threads(2); torch.manual_seed(0)
if "tiny" in sys.argv[1:]:
    shape = dict(vocab_size=512, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                 num_attention_heads=8, num_key_value_heads=4, tie_word_embeddings=False)
    batch, seq = 8, 256
else:  # SmolLM2-135M's config.json
    shape = dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                 num_attention_heads=9, num_key_value_heads=3, tie_word_embeddings=True, rope_theta=100000.0)
    batch, seq = 4, 128
model = LlamaForCausalLM(LlamaConfig(max_position_embeddings=2048, rms_norm_eps=1e-5, **shape)).float().train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
x = torch.randint(0, shape["vocab_size"], (batch, seq))

def ms(f):
    t = time.perf_counter(); r = f(); return r, (time.perf_counter() - t) * 1000

for _ in range(4):
    loss, fwd = ms(lambda: model(input_ids=x, labels=x).loss)
    _, bwd = ms(lambda: loss.backward())
    _, clip = ms(lambda: torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
    _, adamw = ms(lambda: opt.step())
    _, zero = ms(lambda: opt.zero_grad(set_to_none=True))
    print(f"forward {fwd:.0f}  backward {bwd:.0f}  clipping {clip:.0f}  adamw {adamw:.0f}  zero_grad {zero:.0f}"
          f"  step {fwd + bwd + clip + adamw + zero:.0f}")
