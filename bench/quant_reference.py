#!/usr/bin/env python3
"""Reference NF4 / int8 data from bitsandbytes itself (for issue 19).

bitsandbytes does not install from the local pip mirror, so it is run from source:
  bitsandbytes-foundation/bitsandbytes @ 95f9af309d4d5793847169c39288dcd3fcbdf564 (0.50.2.dev0)
  git archive HEAD bitsandbytes csrc | tar -x -C /tmp/bnbsrc
  # native CPU library, flags as CMakeLists.txt's BUILD_CPU x86_64 branch:
  g++ -O2 -std=c++17 -shared -fPIC -fopenmp -DHAS_OPENMP -DBUILD_CPU -mavx512f -mavx512bw -mavx512dq \
      -mavx512vl -mprefer-vector-width=256 -mfma -mavx2 -mf16c -mlzcnt -mbmi -mbmi2 -Icsrc \
      csrc/cpu_ops.cpp csrc/pythonInterface.cpp -o bitsandbytes/libbitsandbytes_cpu.so
  # a second copy without the .so gives the pure-torch "default" backend

Run (torch 2.13 CPU from /work/main/.venv):
  TORCHDYNAMO_DISABLE=1 PYTHONPATH=/tmp/bnbsrc       python bnb_reference.py native  bnb_ref_native.safetensors
  TORCHDYNAMO_DISABLE=1 PYTHONPATH=/tmp/bnbsrc_nolib python bnb_reference.py default bnb_ref_default.safetensors

Backends on CPU (torch.library dispatch): quantize_4bit / dequantize_4bit(NF4) math is the same in both
(quantize_4bit has no native CPU kernel; dequantize_4bit native = lut[code]*absmax). The difference is
quantize_blockwise (the 8-bit double quantization of absmax): native uses a 65536-bin lookup table,
default uses torch.bucketize on the fp32 midpoints of the 256-entry dynamic map.

The test resource pipeline/src/test/resources/quant/bnb_reference.safetensors is the default-backend
file with the dequantized arrays of over 4096 values left out (each is level x absmax, which the test
checks on the smaller cases) and the bf16 input widened to float32 (exact), to stay under 1 MB:
  out = {k: (v.float() if k == "rand_bf16_8x64.input" else v) for k, v in load_file(full).items()
         if not (k.endswith(".dequant") and v.numel() > 4096)}
  save_file(out, "pipeline/src/test/resources/quant/bnb_reference.safetensors")
"""
import sys

import torch
from safetensors.torch import load_file, save_file

import bitsandbytes as bnb
from bitsandbytes import functional as F

backend, out_path = sys.argv[1], sys.argv[2]
is_native = not isinstance(bnb.cextension.lib, bnb.cextension.ErrorHandlerMockBNBNativeLibrary)
assert (backend == "native") == is_native, (backend, bnb.cextension.lib)

GOLDEN = "/work/shared/golden/llama/model/model.safetensors"
g = load_file(GOLDEN)
levels = F.get_4bit_type("nf4", device="cpu")
dyn = F.create_dynamic_map(signed=True)

mids = ((levels[:-1] + levels[1:]) / 2).float()


def cases():
    gen = torch.Generator().manual_seed(19)
    yield "rand_2x64", torch.randn(2, 64, generator=gen)
    yield "rand_3x100", torch.randn(3, 100, generator=gen)  # 300 values: 4 full blocks + 44
    yield "rand_1x129", torch.randn(1, 129, generator=gen)  # odd count; last block holds 1 value
    yield "rand_40x1024", torch.randn(40, 1024, generator=gen) * 0.02  # 640 blocks -> 3 DQ blocks (256,256,128)
    z = torch.randn(2, 64, generator=gen)
    z[0] = 0.0
    yield "zeros_row", z  # block 0 has absmax 0
    # exact ties: absmax 1.0, so x * (1/absmax) == x and values sit exactly on the fp32 midpoints
    t = torch.zeros(1, 64)
    t[0, 0] = 1.0
    t[0, 1:16] = mids
    t[0, 16:31] = -mids
    t[0, 31:47] = levels
    t[0, 47] = -1.0
    t[0, 48:63] = torch.nextafter(mids, torch.full_like(mids, 2.0))  # one ulp above each midpoint
    yield "ties_1x64", t
    yield "tiny_1x64", torch.randn(1, 64, generator=gen) * 1e-39  # subnormal absmax (< the 1e-38 clamp)
    yield "golden_l0_q_proj", g["model.layers.0.self_attn.q_proj.weight"]
    yield "golden_l0_gate_proj", g["model.layers.0.mlp.gate_proj.weight"]
    yield "golden_l0_down_proj", g["model.layers.0.mlp.down_proj.weight"]
    yield "rand_bf16_8x64", torch.randn(8, 64, generator=gen).to(torch.bfloat16)


out = {"nf4_levels": levels.float().contiguous(), "dynamic_map_signed": dyn.contiguous()}
for name, A in cases():
    A = A.contiguous()
    out[f"{name}.input"] = A.clone()
    # NF4, plain fp32 absmax
    q, s = F.quantize_4bit(A, blocksize=64, compress_statistics=False, quant_type="nf4")
    out[f"{name}.nf4.packed"] = q.contiguous()
    out[f"{name}.nf4.absmax"] = s.absmax.contiguous()
    out[f"{name}.nf4.dequant"] = F.dequantize_4bit(q, s).float().contiguous()
    # NF4 with double quantization (transformers' bnb_4bit_use_double_quant=True)
    q2, s2 = F.quantize_4bit(A, blocksize=64, compress_statistics=True, quant_type="nf4")
    assert torch.equal(q2, q)
    out[f"{name}.nf4dq.qabsmax"] = s2.absmax.contiguous()
    out[f"{name}.nf4dq.offset"] = s2.offset.reshape(1).float().contiguous()
    out[f"{name}.nf4dq.absmax2"] = s2.state2.absmax.contiguous()
    absmax_deq = F.dequantize_blockwise(s2.absmax, s2.state2) + s2.offset
    out[f"{name}.nf4dq.absmax_deq"] = absmax_deq.float().contiguous()
    out[f"{name}.nf4dq.dequant"] = F.dequantize_4bit(q2, s2).float().contiguous()
    # int8 per-row absmax (LLM.int8 weight side, no outlier threshold)
    if A.dtype == torch.float32:
        CB, SCB, _ = F.int8_vectorwise_quant(A.clone())
        out[f"{name}.int8.CB"] = CB.contiguous()
        out[f"{name}.int8.SCB"] = SCB.contiguous()
        out[f"{name}.int8.dequant"] = F.int8_vectorwise_dequant(CB, SCB).contiguous()

save_file(out, out_path, metadata={
    "bitsandbytes": f"{bnb.__version__} @95f9af309d4d5793847169c39288dcd3fcbdf564 backend={backend}",
    "torch": torch.__version__,
})
print("wrote", out_path, len(out), "tensors")
