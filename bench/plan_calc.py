#!/usr/bin/env python3
"""Memory plan for LoRA training of a Llama-family config.json with sparktune's trainer: a Python twin of
train/MemoryPlan.java, written apart from it; MemoryPlanTest holds the bytes this prints.

The activation term is the per-layer count that activation_probe.py checks against libtorch's autograd
(within 1 %); the rest is bookkeeping of what sparktune keeps. Runtime
(JVM + libtorch + allocator slack on CPU; CUDA context + caching-allocator slack on GPU) is a constant to
calibrate by measurement; the defaults come from docs/benchmarks.md ("Training memory").

  python3 bench/plan_calc.py pipeline/src/test/resources/plan/llama-2-7b/config.json --batch 1 --seq 512 --quant nf4 --gc
  python3 bench/plan_calc.py --table    # TinyLlama-1.1B and Llama-2-7B, CPU and GPU
"""
import argparse
import json
import math

GiB = 1024 ** 3
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def shapes(c):
    H, I = c["hidden_size"], c["intermediate_size"]
    nh = c["num_attention_heads"]
    nkv = c.get("num_key_value_heads") or nh
    hd = c.get("head_dim") or H // nh
    qd, kvd = nh * hd, nkv * hd
    # (out, in) of each linear
    return {"q_proj": (qd, H), "k_proj": (kvd, H), "v_proj": (kvd, H), "o_proj": (H, qd),
            "gate_proj": (I, H), "up_proj": (I, H), "down_proj": (H, I)}, H, I, nh, qd, kvd


def quant_bytes(out, inp, quant, act_bytes, double_quant=True, blocksize=64):
    n = out * inp
    if quant == "none":
        return n * act_bytes
    if quant == "int8":
        return n + out * 4  # int8 codes + one float32 absmax per output row
    if quant == "nf4":
        blocks = math.ceil(n / blocksize)
        if double_quant:
            return math.ceil(n / 2) + blocks + math.ceil(blocks / 256) * 4 + 4  # codes, 8-bit absmax, absmax2, offset
        return math.ceil(n / 2) + blocks * 4
    raise ValueError(quant)


def plan(c, batch, seq, lora_r=8, targets=("q_proj", "v_proj"), dropout=0.05, device="cpu", dtype=None,
         quant="none", gc=False, ranks=1, runtime=None, keep_dense=()):
    lin, H, I, nh, qd, kvd = shapes(c)
    L, V = c["num_hidden_layers"], c["vocab_size"]
    tied = c.get("tie_word_embeddings", False)
    bias = c.get("attention_bias", False) or c.get("model_type") == "qwen2"
    dtype = dtype or ("float16" if device == "gpu" else "float32")
    b = {"float32": 4, "float16": 2, "bfloat16": 2}[dtype]
    tokens = batch * seq

    # --- frozen weights (quantized linears; embeddings, norms, LM head in the compute dtype)
    w_lin = L * sum(quant_bytes(o, i, "none" if m in keep_dense else quant, b) for m, (o, i) in lin.items())
    w_rest = (V * H * (1 if tied else 2) + (2 * L + 1) * H + (L * (qd + 2 * kvd) if bias else 0)) * b
    weights = w_lin + w_rest

    # --- LoRA: fp32 params, the flat parameter buffer, .grad, the flat gradient, AdamW m and v (sharded)
    n_lora = L * sum(lora_r * (lin[m][0] + lin[m][1]) for m in targets)
    lora = n_lora * 4 * (4 + 2 / ranks)

    # --- activations autograd keeps for backward, per decoder layer
    ins = {"q_proj": H, "k_proj": H, "v_proj": H, "o_proj": qd, "gate_proj": H, "up_proj": H, "down_proj": I}
    per_tok = 2 * H + 2 * qd + 2 * kvd + 4 * I + (2 * H if b == 2 else 0)  # half: norms keep float32 inputs
    if dropout > 0:
        per_tok += sum(2 * ins[m] for m in targets)
    else:
        per_tok += (H if {"q_proj", "k_proj", "v_proj"} & set(targets) else 0) \
            + (qd if "o_proj" in targets else 0) \
            + (H if {"gate_proj", "up_proj"} & set(targets) else 0) + (I if "down_proj" in targets else 0)
    per_tok += lora_r * len(targets)
    layer_act = per_tok * tokens * b + batch * nh * seq * 4
    packed = [o * i for m, (o, i) in lin.items() if m not in keep_dense]
    dequant_layer = sum(packed) * b if quant != "none" else 0  # one layer, dequantized
    if gc:
        activations = L * tokens * H * b + layer_act + dequant_layer  # saved inputs + one layer recomputed
    else:
        activations = L * (layer_act + dequant_layer)  # a graph keeps every layer's dequantized weights
    activations += layer_act  # backward: one layer's gradients beside its saved tensors
    # --- LM head and loss: (B,T,V) logits in the compute dtype, float32 log-softmax kept for backward,
    # then in backward its gradient and the logits' gradient (float32; plus a half copy in float16)
    logits = tokens * V * ((16 if device == "gpu" else 12) if b == 4 else 14)  # GPU: allocator keeps a fp32 block
    # --- workspace: the largest single dequantized weight with its index tensor, transient in forward
    biggest = max(packed, default=0)
    workspace = biggest * (b + 4) if quant != "none" else 0
    if runtime is None:
        runtime = int(0.9 * GiB) if device == "cpu" else 1.0 * GiB
    total = weights + lora + activations + logits + workspace + runtime
    return dict(weights=weights, lora=lora, activations=activations, logits=logits, workspace=workspace,
                runtime=runtime, total=total, n_lora=n_lora)


def row(name, p):
    return (f"| {name} | {p['weights']/GiB:.2f} | {p['lora']/GiB:.3f} | {p['activations']/GiB:.2f} | "
            f"{p['logits']/GiB:.2f} | {(p['workspace']+p['runtime'])/GiB:.2f} | **{p['total']/GiB:.2f}** |")


def table():
    cfgs = {"TinyLlama-1.1B": json.load(open("pipeline/src/test/resources/plan/tinyllama-1.1b/config.json")),
            "Llama-2-7B": json.load(open("pipeline/src/test/resources/plan/llama-2-7b/config.json"))}
    print("| case | weights | LoRA+AdamW | activations | logits+loss | workspace+runtime | total (GiB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, c in cfgs.items():
        for device, batch, seq in (("cpu", 1, 512), ("gpu", 4, 2048)):
            for quant in ("none", "int8", "nf4"):
                for gc in (False, True):
                    p = plan(c, batch, seq, lora_r=16, targets=MODULES, dropout=0.05, device=device, quant=quant,
                             gc=gc)
                    row_name = f"{name} {device} b{batch}×{seq} {quant}{' GC' if gc else ''}"
                    print(row(row_name, p))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("config", nargs="?")
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--r", type=int, default=8)
    ap.add_argument("--targets", default="q_proj,v_proj")
    ap.add_argument("--dropout", type=float, default=0.05)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quant", default="none")
    ap.add_argument("--gc", action="store_true")
    a = ap.parse_args()
    if a.table or not a.config:
        table()
    else:
        p = plan(json.load(open(a.config)), a.batch, a.seq, a.r, a.targets.split(","), a.dropout, a.device,
                 quant=a.quant, gc=a.gc)
        for k, v in p.items():
            print(f"{k:12s} {v/GiB:10.3f} GiB" if k != "n_lora" else f"{k:12s} {v}")
