"""Peer benchmark for `sparktune bench-model`: the same LoRA training step (forward, loss,
backward, AdamW update) with Hugging Face transformers + PEFT on PyTorch (CPU, float32).

    python3 -m venv venv && venv/bin/pip install torch transformers peft
    venv/bin/python bench/model_bench_hf.py [--attn sdpa|eager]
"""
import argparse
import statistics
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--threads", default="1,2")
p.add_argument("--seq", type=int, default=512)
p.add_argument("--steps", type=int, default=3)
p.add_argument("--attn", default="sdpa")
a = p.parse_args()

torch.manual_seed(1)
cfg = LlamaConfig(vocab_size=32000, hidden_size=512, intermediate_size=1408, num_hidden_layers=8,
                  num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=2048,
                  attn_implementation=a.attn)
model = LlamaForCausalLM(cfg).float()
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                         target_modules="all-linear", task_type="CAUSAL_LM"))
model.train()
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
ids = torch.randint(0, 32000, (1, a.seq))
params = sum(p.numel() for p in model.parameters())
print(f"transformers+PEFT {a.attn}: {params:,} parameters, seq {a.seq}")
print(f"{'threads':8} {'s/step':>12} {'tokens/s':>12}")
for t in [int(x) for x in a.threads.split(",")]:
    torch.set_num_threads(t)
    times = []
    for s in range(a.steps + 1):
        start = time.perf_counter()
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if s > 0:
            times.append(time.perf_counter() - start)
    m = statistics.median(times)
    print(f"{t:<8} {m:12.3f} {a.seq / m:12.1f}")
