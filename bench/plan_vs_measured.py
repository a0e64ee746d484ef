#!/usr/bin/env python3
"""The memory plan (bench/plan_calc.py, the twin of train/MemoryPlan.java) against measured peaks.

GPU: the device's used memory (nvidia-smi every 100 ms, so CUDA context and the caching allocator's
reserve included) during bench/gpu_quant_memory.sh [probe] on an H200, 2026-11-26. CPU: the process's
peak RSS (VmHWM) printed by `bin/sparktune bench model --threads 2` on the 2-core machine.
LoRA r16 on all linears, dropout 0, as bench model runs it.

  python3 bench/plan_vs_measured.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plan_calc import MODULES, plan  # noqa: E402

MiB = 2 ** 20


def cfg(h, layers, heads, kv, inter, vocab):
    return dict(hidden_size=h, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                intermediate_size=inter, vocab_size=vocab, tie_word_embeddings=False)


TINY = (2048, 22, 32, 4, 5632, 32000)
SMALL = (512, 8, 8, 8, 1408, 32000)
# name, shape, dtype, batch, seq, checkpointing, quantization, device, measured MiB
POINTS = [
    ("ctx (1,000-word model)", (64, 1, 4, 4, 128, 1000), "float16", 1, 16, False, "none", "gpu", 833),
    ("1.1B shape, 1 layer", (2048, 1, 32, 4, 5632, 32000), "float16", 1, 2048, False, "none", "gpu", 2591),
    ("1.1B shape, 1 layer, vocab 8000", (2048, 1, 32, 4, 5632, 8000), "float16", 1, 2048, False, "none", "gpu", 1817),
    ("1.1B shape, 4 layers", (2048, 4, 32, 4, 5632, 32000), "float16", 1, 2048, False, "none", "gpu", 3533),
    ("1.1B shape, 4 layers, GC", (2048, 4, 32, 4, 5632, 32000), "float16", 1, 2048, True, "none", "gpu", 3121),
    ("1.1B shape, 4 layers, GC, nf4", (2048, 4, 32, 4, 5632, 32000), "float16", 1, 2048, True, "nf4", "gpu", 2755),
    ("1.1B shape, 1 layer, no GQA", (2048, 1, 32, 32, 5632, 32000), "float16", 1, 2048, False, "none", "gpu", 2687),
    ("58M shape, 1 layer", (512, 1, 8, 8, 1408, 32000), "float32", 8, 512, False, "none", "gpu", 3563),
    ("58M shape, 1 layer, vocab 8000", (512, 1, 8, 8, 1408, 8000), "float32", 8, 512, False, "none", "gpu", 1971),
    ("58M shape, 4 layers", (512, 4, 8, 8, 1408, 32000), "float32", 8, 512, False, "none", "gpu", 4185),
    ("58M shape, 4 layers, GC", (512, 4, 8, 8, 1408, 32000), "float32", 8, 512, True, "none", "gpu", 3637),
    ("TinyLlama-1.1B, GC", TINY, "float16", 1, 2048, True, "none", "gpu", 5195),
    ("TinyLlama-1.1B, GC, nf4", TINY, "float16", 1, 2048, True, "nf4", "gpu", 3907),
    ("TinyLlama-1.1B, GC, int8", TINY, "float16", 1, 2048, True, "int8", "gpu", 4149),
    ("TinyLlama-1.1B", TINY, "float16", 1, 2048, False, "none", "gpu", 9351),
    ("58M", SMALL, "float32", 8, 512, False, "none", "gpu", 5035),
    ("58M, GC", SMALL, "float32", 8, 512, True, "none", "gpu", 3739),
    ("TinyLlama-1.1B, GC", TINY, "float32", 1, 512, True, "none", "cpu", 6.44 * 1024),
    ("TinyLlama-1.1B", TINY, "float32", 1, 512, False, "none", "cpu", 9.64 * 1024),
    ("58M", SMALL, "float32", 2, 1024, False, "none", "cpu", 2.82 * 1024),
    ("58M, GC", SMALL, "float32", 2, 1024, True, "none", "cpu", 1.90 * 1024),
]

print("| run | device | dtype | batch × seq | measured GiB | plan GiB | plan − measured |")
print("| --- | --- | --- | --- | ---: | ---: | ---: |")
for name, shape, dtype, batch, seq, gc, quant, device, measured in POINTS:
    p = plan(cfg(*shape), batch, seq, 16, MODULES, 0.0, device, dtype, quant, gc)
    total = p["total"] / MiB
    print(f"| {name} | {device} | {dtype} | {batch} × {seq} | {measured / 1024:.2f} | {total / 1024:.2f} "
          f"| {100 * (total - measured) / measured:+.1f} % |")
