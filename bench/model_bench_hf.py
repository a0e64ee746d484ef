"""Peer benchmark for `sparktune bench model`: the same LoRA training step (forward, loss,
backward, AdamW update) with Hugging Face transformers + PEFT on PyTorch, with the same shape flags.

    python3 -m venv venv && venv/bin/pip install torch transformers peft
    venv/bin/python bench/model_bench_hf.py [--attn sdpa|eager] [--device cpu|cuda]
        [--dtype fp32|fp16|bf16] [--batch B] [--seq T] [--hidden H] [--layers L] [--heads N]
        [--kv-heads K] [--intermediate I] [--vocab V] [--lora-r R] [--gradient-checkpointing]

On CPU it prints the process's peak RSS after each thread count (ru_maxrss: the peak so far); on
CUDA the peak allocated memory of the steps.
"""
import argparse
import resource
import statistics
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--threads", default="1,2")
p.add_argument("--seq", type=int, default=512)
p.add_argument("--batch", type=int, default=1)
p.add_argument("--steps", type=int, default=3)
p.add_argument("--attn", default="sdpa")
p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
p.add_argument("--hidden", type=int, default=512)
p.add_argument("--layers", type=int, default=8)
p.add_argument("--heads", type=int, default=8)
p.add_argument("--kv-heads", type=int, default=8)
p.add_argument("--intermediate", type=int, default=1408)
p.add_argument("--vocab", type=int, default=32000)
p.add_argument("--lora-r", type=int, default=16)
p.add_argument("--gradient-checkpointing", action="store_true")
a = p.parse_args()

torch.manual_seed(1)
dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
cfg = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
                  num_hidden_layers=a.layers, num_attention_heads=a.heads,
                  num_key_value_heads=a.kv_heads, max_position_embeddings=max(2048, a.seq),
                  attn_implementation=a.attn)
model = LlamaForCausalLM(cfg).to(device=a.device, dtype=dtype)
if a.gradient_checkpointing:
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
model = get_peft_model(model, LoraConfig(r=a.lora_r, lora_alpha=2 * a.lora_r, lora_dropout=0.0,
                                         target_modules="all-linear", task_type="CAUSAL_LM"))
# fp32 LoRA masters and optimizer state, as sparktune keeps them (and as PEFT's autocast_adapter_dtype does)
for n, prm in model.named_parameters():
    if prm.requires_grad:
        prm.data = prm.data.float()
model.train()
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
scaler = torch.amp.GradScaler(a.device) if a.dtype == "fp16" else None
ids = torch.randint(0, a.vocab, (a.batch, a.seq), device=a.device)
params = sum(p.numel() for p in model.parameters())
tokens = a.batch * a.seq
print(f"transformers+PEFT {a.attn} {a.device} {a.dtype}: {params:,} parameters, batch {a.batch} x seq {a.seq}"
      f"{', gradient checkpointing' if a.gradient_checkpointing else ''}")
print(f"{'threads':8} {'s/step':>12} {'tokens/s':>12} {'peak memory':>14}")


def step():
    with torch.autocast(a.device, dtype=dtype, enabled=a.dtype != "fp32"):
        out = model(input_ids=ids, labels=ids)
    if scaler is not None:
        scaler.scale(out.loss).backward()
        scaler.step(opt)
        scaler.update()
    else:
        out.loss.backward()
        opt.step()
    opt.zero_grad(set_to_none=True)


for t in [int(x) for x in a.threads.split(",")]:
    torch.set_num_threads(t)
    if a.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for s in range(a.steps + 1):
        if a.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if a.device == "cuda":
            torch.cuda.synchronize()
        if s > 0:
            times.append(time.perf_counter() - start)
    m = statistics.median(times)
    if a.device == "cuda":
        peak = f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
    else:
        peak = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    print(f"{t:<8} {m:12.3f} {tokens / m:12.1f} {peak:>14}")
