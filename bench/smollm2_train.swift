// Full-parameter SFT of SmolLM2-135M-Instruct, 4 × 128 tokens a step, AdamW, Float32: the
// counterpart of bench/smollm2_train_torch.py (see docs/speed.md). The run file's
// /sft/timing holds each step's time_step_s and peak_rss_bytes.
//
//     python3 bench/make_smol_sft.py bench/smol_sft.jsonl
//     rlhf run bench/smollm2_train.swift --out /tmp/smol-ft
//     rlhf run bench/smollm2_train.swift --set memorySaving=true --out /tmp/smol-ft-lean
import Recipes

seed(1)
let memorySaving = false  // activation recompute and the fused LM head
let data = TrainingData.load("bench/smol_sft.jsonl", kind: .sft)
let m = Model.smolLM2()
sft(m, data: data, learningRate: 1e-5, microTrainBatchSize: 4, trainBatchSize: 4, maxLen: 128,
    gradientCheckpointing: memorySaving, useLigerKernel: memorySaving, maxSteps: 8)
