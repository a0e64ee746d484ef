#!/usr/bin/env bash
# On a lent GPU, with the ../shared/gpu kit laid out (prepare.sh, then
# `javac -cp ".gpu/jars/*" -d .gpu/classes bench/GpuStepBench.java`; device run with carry [".gpu"]):
#   bash bench/gpu_quant_memory.sh          (or `... probe`: the decomposition runs below)
# Runs bench model's training step (GpuStepBench) on the TinyLlama-1.1B shape with the base dense,
# int8 and nf4, with and without gradient checkpointing, and the 58M shape, each in its own JVM, and
# samples the GPU's used memory (nvidia-smi, every 100 ms) during each: the peaks are what
# `sparktune plan` is compared with (docs/benchmarks.md). Logs and samples go to $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
START=$SECONDS
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
TV=$(python3 -c 'import torch;print(torch.__version__)')
echo "torch $TV"
if [ "$TV" != "2.11.0+cu130" ]; then bash .gpu/build_jni.sh > "$OUT/build_jni.log" 2>&1 || tail -20 "$OUT/build_jni.log"; fi
run() { # name, then GpuStepBench's arguments
  local name=$1; shift
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$OUT/mem_$name.txt" &
  local poll=$!
  local t0=$SECONDS
  timeout 170 bash .gpu/run_java.sh GpuStepBench "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  kill $poll; wait $poll 2>/dev/null
  echo "== $name (rc $rc, $((SECONDS - t0)) s): GPU peak $(sort -n "$OUT/mem_$name.txt" | tail -1) MiB, idle $(head -1 "$OUT/mem_$name.txt") MiB"
  grep -v "^SLF4J\|WARN" "$OUT/$name.log" | tail -4
}
TINY="2048 22 32 4 5632 32000"
SMALL="512 8 8 8 1408 32000"
if [ "${1:-}" = probe ]; then
  # What the plan's terms are fitted to: the CUDA context alone, then one variable at a time
  # (layers, vocabulary, GQA, checkpointing) on the two shapes.
  run ctx gpu float16 1 16 2 false 64 1 4 4 128 1000 none
  run t1 gpu float16 1 2048 2 false 2048 1 32 4 5632 32000 none
  run t1_v8k gpu float16 1 2048 2 false 2048 1 32 4 5632 8000 none
  run t4 gpu float16 1 2048 2 false 2048 4 32 4 5632 32000 none
  run t4_gc gpu float16 1 2048 2 true 2048 4 32 4 5632 32000 none
  run t4_gc_nf4 gpu float16 1 2048 2 true 2048 4 32 4 5632 32000 nf4
  run t1_mha gpu float16 1 2048 2 false 2048 1 32 32 5632 32000 none
  run s1 gpu float32 8 512 2 false 512 1 8 8 1408 32000 none
  run s1_v8k gpu float32 8 512 2 false 512 1 8 8 1408 8000 none
  run s4 gpu float32 8 512 2 false 512 4 8 8 1408 32000 none
  run s4_gc gpu float32 8 512 2 true 512 4 8 8 1408 32000 none
else
  run tiny_none_gc gpu float16 1 2048 3 true $TINY none
  run tiny_nf4_gc gpu float16 1 2048 3 true $TINY nf4
  run tiny_int8_gc gpu float16 1 2048 3 true $TINY int8
  run tiny_none_nogc gpu float16 1 2048 3 false $TINY none
  run small_nogc gpu float32 8 512 3 false $SMALL none
  run small_gc gpu float32 8 512 3 true $SMALL none
fi
echo "total $((SECONDS - START)) s"
