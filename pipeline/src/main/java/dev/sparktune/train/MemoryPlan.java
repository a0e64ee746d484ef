package dev.sparktune.train;

import ai.djl.ndarray.types.Shape;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.model.ModelConfig;
import dev.sparktune.model.ModelWeights;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Memory one training task needs, from the model's config.json and the train settings alone (no
 * weights are read): what this trainer keeps, term by term.
 *
 * <ul>
 *   <li>weights: the decoder linears (dense in the compute dtype, int8 codes + a float per row, or
 *       NF4 codes + 8-bit block scales + a float per 256 blocks), embeddings, LM head (unless tied),
 *       norms and biases in the compute dtype;
 *   <li>LoRA: float32 parameters, their flat copy, gradients, the flat gradient, AdamW's two moments
 *       (sharded over ranks);
 *   <li>activations autograd keeps, per decoder layer and token (checked against libtorch's saved
 *       tensors within 1 % on a mirror of the layer): 2H + 2·q + 2·kv + 4·I, each LoRA target's input
 *       (twice with dropout: mask and dropped input) and its r, the attention's log-sum-exp, and in
 *       half precision the norms' float32 inputs (2H more); with gradient checkpointing only each
 *       layer's input plus one layer recomputed (and its dequantized weights, with a quantized base);
 *       without it every layer (and every layer's dequantized weights); plus one layer's worth for
 *       the gradients backward holds beside a layer's saved tensors;
 *   <li>logits and loss: (B, T, V) logits, the float32 log-softmax kept for backward and the two
 *       gradients of backward (on a GPU a float32 block more, which the caching allocator keeps);
 *   <li>workspace: a quantized base's largest dequantized weight with its index tensor;
 *   <li>runtime: JVM, libtorch and allocator slack on a CPU, CUDA context and caching-allocator
 *       slack on a GPU: constants fitted to measurements (docs/benchmarks.md).
 * </ul>
 *
 * <p>Measured against it (docs/benchmarks.md, "Training memory: plan against measured peaks"): the
 * GPU's used memory within 9 % on 17 runs of the 58M and TinyLlama-1.1B shapes (H200); a CPU task's
 * peak RSS within 12 % with gradient checkpointing, but up to 24 % above the plan without it on the
 * 1.1B shape, where glibc keeps the freed forward buffers of every layer (not modelled).
 */
public record MemoryPlan(long weights, long lora, long activations, long logits, long workspace, long runtime,
    long loraParameters) {

  /** JVM (heap as run), libtorch and allocator slack of a CPU task, fitted to measured peaks. */
  public static final long CPU_RUNTIME = (long) (0.9 * (1L << 30));
  /** CUDA context (0.81 GiB measured with a 1,000-word model on an H200), cuBLAS workspace and allocator slack. */
  public static final long GPU_RUNTIME = 1L << 30;

  /** What a plan is for: shape of the work and how it is stored. */
  public record Setting(int batch, int seq, int bytesPerValue, String quantization, boolean checkpointing,
      int ranks, boolean gpu, List<String> keepDense) {

    /** A setting where a quantized base quantizes every decoder linear. */
    public Setting(int batch, int seq, int bytesPerValue, String quantization, boolean checkpointing, int ranks,
        boolean gpu) {
      this(batch, seq, bytesPerValue, quantization, checkpointing, ranks, gpu, List.of());
    }
  }

  public long total() {
    return weights + lora + activations + logits + workspace + runtime;
  }

  /** Whether the plan fits a device of {@code gib} GiB. */
  public boolean fits(double gib) {
    return total() <= gib * (1L << 30);
  }

  /**
   * The setting a train config asks for, one micro-batch of {@code seq} tokens per row, on a GPU or
   * a CPU (float32 there unless the config names a half type; float16 on a GPU for {@code auto}).
   */
  public static Setting setting(dev.sparktune.config.TrainConfig c, int seq, boolean gpu) {
    int bytes = switch (c.dtype()) {
      case "float16", "bfloat16" -> 2;
      case "float32" -> 4;
      default -> gpu ? 2 : 4;
    };
    return new Setting(c.microBatchSize(), seq, bytes, c.baseQuantization(), c.gradientCheckpointing(),
        c.numWorkers(), gpu, c.quantizationSkipModules());
  }

  /** The plan as a table, one line per term, GiB. */
  public String table() {
    StringBuilder out = new StringBuilder();
    String[][] rows = {{"weights (frozen base)", gib(weights)}, {"LoRA + AdamW (" + loraParameters + " params)", gib(lora)},
        {"activations", gib(activations)}, {"logits + loss", gib(logits)}, {"workspace", gib(workspace)},
        {"runtime", gib(runtime)}, {"total", gib(total())}};
    for (String[] r : rows) {
      out.append(String.format("  %-40s %10s GiB%n", r[0], r[1]));
    }
    return out.toString();
  }

  private static String gib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.2f", bytes / (double) (1L << 30));
  }

  /** The plan for {@code model} trained with {@code lora} under {@code s}. */
  public static MemoryPlan of(ModelConfig model, LoraConfig lora, Setting s) {
    long h = model.hiddenSize();
    long layers = model.numLayers();
    long b = s.bytesPerValue();
    long tokens = (long) s.batch() * s.seq();
    // The tensors the loader reads, each dense or quantized as the model holds it; (out, in) of each linear.
    long weights = 0;
    Map<String, long[]> lin = new HashMap<>();
    for (Map.Entry<String, Shape> e : ModelWeights.expected(model).entrySet()) {
      Shape shape = e.getValue();
      if (ModelWeights.quantizable(e.getKey())) {
        boolean packed = ModelWeights.quantizable(e.getKey(), s.keepDense());
        weights += quantizedBytes(shape.get(0), shape.get(1), packed ? s.quantization() : "none", b);
        lin.put(ModelWeights.linearModule(e.getKey()), new long[] {shape.get(0), shape.get(1)});
      } else {
        weights += shape.size() * b;
      }
    }
    long loraParameters = 0;
    for (String m : lora.targetModules()) {
      loraParameters += layers * lora.r() * (lin.get(m)[0] + lin.get(m)[1]);
    }
    long loraBytes = (long) (loraParameters * 4 * (4 + 2.0 / s.ranks()));
    long layerActivations = perToken(model, lora, lin, b) * tokens * b
        + (long) s.batch() * model.numHeads() * s.seq() * 4;
    long dequantized = 0;
    long biggest = 0;
    for (Map.Entry<String, long[]> e : lin.entrySet()) {
      long[] oi = e.getValue();
      if (!s.keepDense().contains(e.getKey())) {
        dequantized += oi[0] * oi[1] * b;
        biggest = Math.max(biggest, oi[0] * oi[1]);
      }
    }
    boolean quantized = !s.quantization().equals("none");
    dequantized = quantized ? dequantized : 0;
    long activations = (s.checkpointing() ? layers * tokens * h * b + layerActivations + dequantized
        : layers * (layerActivations + dequantized)) + layerActivations; // + backward's gradients of a layer
    long logits = tokens * model.vocabSize() * (b == 4 ? (s.gpu() ? 16 : 12) : 14);
    long workspace = quantized ? biggest * (b + 4) : 0;
    return new MemoryPlan(weights, loraBytes, activations, logits, workspace, s.gpu() ? GPU_RUNTIME : CPU_RUNTIME,
        loraParameters);
  }

  /** Elements of the compute dtype a decoder layer keeps per token for backward. */
  private static long perToken(ModelConfig model, LoraConfig lora, Map<String, long[]> lin, long bytes) {
    long h = model.hiddenSize();
    long i = model.intermediateSize();
    long qd = (long) model.numHeads() * model.headDim();
    long kvd = (long) model.numKvHeads() * model.headDim();
    long n = 2 * h + 2 * qd + 2 * kvd + 4 * i + (bytes == 2 ? 2 * h : 0); // half: the norms keep float32 inputs
    List<String> t = lora.targetModules();
    if (lora.dropout() > 0) {
      for (String m : t) {
        n += 2 * lin.get(m)[1]; // the dropout mask and the dropped input
      }
    } else {
      n += (t.contains("q_proj") || t.contains("k_proj") || t.contains("v_proj") ? h : 0)
          + (t.contains("o_proj") ? qd : 0) + (t.contains("gate_proj") || t.contains("up_proj") ? h : 0)
          + (t.contains("down_proj") ? i : 0);
    }
    return n + (long) lora.r() * t.size();
  }

  /** Bytes one (out × in) linear weight takes: dense, int8 (+ a float per row) or NF4 with double quantization. */
  static long quantizedBytes(long out, long in, String quantization, long bytesPerValue) {
    long n = out * in;
    return switch (quantization) {
      case "int8" -> n + out * 4;
      case "nf4" -> {
        long padded = (n + 63) / 64 * 64;
        long blocks = padded / 64;
        yield padded / 2 + blocks + (blocks + 255) / 256 * 4 + 4;
      }
      default -> n * bytesPerValue;
    };
  }
}
