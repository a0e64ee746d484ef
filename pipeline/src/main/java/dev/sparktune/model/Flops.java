package dev.sparktune.model;

/**
 * FLOP counts of a LoRA training step, for achieved-GFLOP/s figures: forward = 2·tokens·(linear
 * parameters incl. the LM head) + 4·B·heads·T²·head_dim per layer (QKᵀ and PV); backward with a
 * frozen base = the linears' input gradients (1× forward linears) + both attention operands (2×
 * forward attention). LoRA terms are ignored (under 1 % at usual ranks).
 */
public final class Flops {
  private Flops() {}

  public static long linearParameters(ModelConfig config) {
    long n = 0;
    for (var e : ModelWeights.expected(config).entrySet()) {
      if (e.getKey().endsWith("_proj.weight") || e.getKey().equals("lm_head.weight")) {
        n += e.getValue().size();
      }
    }
    if (config.tieWordEmbeddings()) {
      n += (long) config.vocabSize() * config.hiddenSize(); // the tied LM head is still a matmul
    }
    return n;
  }

  /** Forward + backward FLOPs of a (batch × length) LoRA step. */
  public static double loraStep(ModelConfig config, long batch, long length) {
    double tokens = (double) batch * length;
    double linears = 2.0 * tokens * linearParameters(config);
    double attention = 4.0 * batch * config.numHeads() * (double) length * length * config.headDim()
        * config.numLayers();
    return 2 * linears + 3 * attention;
  }
}
