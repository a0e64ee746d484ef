#!/usr/bin/env bash
# On a lent GPU with the ../shared/gpu kit (prepare.sh, then
# `javac -cp ".gpu/jars/*" -d .gpu/classes bench/LoadBench.java`; device run with carry [".gpu"]):
#   bash bench/gpu_load_check.sh
# Writes a TinyLlama-1.1B-shaped random bf16 checkpoint in 5 shards with transformers, then loads it on
# the GPU the way the train stage does (float16; base none, int8, nf4), runs one forward pass, and
# samples the GPU's used memory (nvidia-smi, every 100 ms) during each load.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}
CKPT=/tmp/tinyckpt
mkdir -p "$OUT"
python3 - <<'PY'
import json, torch
from transformers import LlamaConfig, LlamaForCausalLM
c = json.load(open("pipeline/src/test/resources/plan/tinyllama-1.1b/config.json"))
cfg = LlamaConfig(**{k: v for k, v in c.items() if k not in ("architectures", "torch_dtype", "transformers_version")})
torch.manual_seed(0)
LlamaForCausalLM(cfg).to(torch.bfloat16).save_pretrained("/tmp/tinyckpt", max_shard_size="500MB")
print("checkpoint written")
PY
for q in none int8 nf4; do
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$OUT/mem_load_$q.txt" &
  poll=$!
  timeout 120 bash .gpu/run_java.sh LoadBench $CKPT $q float16 gpu > "$OUT/load_$q.log" 2>&1
  echo "== $q (rc $?): GPU peak $(sort -n "$OUT/mem_load_$q.txt" | tail -1) MiB"
  kill $poll; wait $poll 2>/dev/null
  grep -v "SLF4J\|WARN\|INFO" "$OUT/load_$q.log" | tail -6
done
