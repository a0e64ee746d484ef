package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Llama-family causal language model (llama, mistral, qwen2) on DJL's PyTorch engine, computing
 * what transformers' {@code LlamaForCausalLM} computes: embeddings, pre-norm decoder layers
 * (RMSNorm, rotary grouped-query attention, SwiGLU MLP), final norm, LM head. Base weights are
 * frozen and kept apart from run state (the KV cache, an optional {@link Adapter} such as LoRA).
 */
public final class CausalLm implements AutoCloseable {

  private final ModelConfig config;
  private final DataType dtype;
  private final NDManager manager;
  private final Map<String, NDArray> weights; // HF name -> tensor, frozen
  private Adapter adapter;
  private Attention attention = Attention.FUSED;
  private QuantizedLinears quantized; // null: the base's linears are dense

  private CausalLm(ModelConfig config, DataType dtype, NDManager manager, Map<String, NDArray> weights) {
    this.config = config;
    this.dtype = dtype;
    this.manager = manager;
    this.weights = weights;
  }

  public ModelConfig config() {
    return config;
  }

  public DataType dtype() {
    return dtype;
  }

  public NDManager manager() {
    return manager;
  }

  /** The frozen base weights by Hugging Face name (read-only use). */
  public Map<String, NDArray> weights() {
    return weights;
  }

  public Adapter adapter() {
    return adapter;
  }

  /** Puts an adapter on the model (null removes it); the model does not own it. */
  public void setAdapter(Adapter adapter) {
    this.adapter = adapter;
  }

  /**
   * Loads a Hugging Face model directory: config.json plus model.safetensors, or shards listed in
   * model.safetensors.index.json. Floats become {@code dtype} (BF16/F16 are widened); every
   * expected weight must be present with the expected shape.
   */
  public static CausalLm load(Path dir, DataType dtype, NDManager parent) throws IOException {
    return load(dir, dtype, "none", List.of(), parent);
  }

  /**
   * As {@link #load(Path, DataType, NDManager)}, with the base's decoder linears quantized as they
   * are read ({@code int8} or {@code nf4}; see {@link #quantizeBase}), so their dense copies never
   * exist together; the linears {@code keepDense} names (e.g. {@code down_proj}) stay dense.
   */
  public static CausalLm load(Path dir, DataType dtype, String baseQuantization, Collection<String> keepDense,
      NDManager parent) throws IOException {
    QuantizedLinears.Mode mode = QuantizedLinears.Mode.of(baseQuantization);
    ModelConfig config = ModelConfig.read(dir);
    NDManager manager = parent.newSubManager();
    try {
      ModelWeights.Loaded loaded = ModelWeights.read(dir, config, dtype, mode, keepDense, manager);
      CausalLm lm = new CausalLm(config, dtype, manager, loaded.dense());
      lm.quantized = loaded.quantized();
      return lm;
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** Wraps already-loaded weights (init-model, merge); the model takes ownership of the manager. */
  public static CausalLm of(ModelConfig config, DataType dtype, NDManager manager,
      Map<String, NDArray> weights) {
    Map<String, Shape> expected = ModelWeights.expected(config);
    for (Map.Entry<String, Shape> e : expected.entrySet()) {
      NDArray w = weights.get(e.getKey());
      if (w == null || !w.getShape().equals(e.getValue())) {
        throw new IllegalArgumentException("weight " + e.getKey() + " missing or not " + e.getValue());
      }
    }
    return new CausalLm(config, dtype, manager, new LinkedHashMap<>(weights));
  }

  private NDArray w(String name) {
    NDArray a = weights.get(name);
    if (a == null && name.equals("lm_head.weight")) {
      return weights.get("model.embed_tokens.weight"); // tied embeddings
    }
    return a;
  }

  /**
   * Stores the base's decoder linear weights quantized ({@code int8} per output channel, {@code nf4}
   * with double-quantized block scales, as bitsandbytes does; {@code none} leaves them dense); each
   * is dequantized when its layer runs. Embeddings, norms and the LM head stay dense.
   */
  public void quantizeBase(String mode) {
    QuantizedLinears.Mode m = QuantizedLinears.Mode.of(mode);
    if (m != QuantizedLinears.Mode.NONE && quantized == null) {
      quantized = QuantizedLinears.quantize(weights, m, List.of(), manager);
    }
  }

  /** The quantized linears (null when the base is dense). */
  QuantizedLinears quantizedLinears() {
    return quantized;
  }

  /** Bytes the base's weights hold (quantized ones packed). */
  public long weightBytes() {
    long dense = weights.values().stream().mapToLong(a -> a.size() * a.getDataType().getNumOfBytes()).sum();
    return dense + (quantized == null ? 0 : quantized.bytes());
  }

  /** A linear module with its optional bias and adapter term. x: (..., in) → (..., out). */
  private NDArray linear(String module, NDArray x, Pass pass) {
    String name = module + ".weight";
    NDArray weight = quantized != null && quantized.contains(name) ? quantized.dense(name, dtype, x.getManager())
        : w(name);
    NDArray y = x.getNDArrayInternal().linear(x, weight, weights.get(module + ".bias")).singletonOrThrow();
    return adapter == null ? y : adapter.apply(module, x, y, pass);
  }

  /**
   * RMSNorm: x / sqrt(mean(x²) + eps) · weight. Half-precision input is normalised in float32 and
   * cast back before the weight, as transformers' LlamaRMSNorm does. x: (B, T, H).
   */
  private NDArray rmsNorm(NDArray x, String name) {
    boolean half = x.getDataType() == DataType.FLOAT16 || x.getDataType() == DataType.BFLOAT16;
    NDArray in = half ? TorchOps.cast(x, DataType.FLOAT32) : x;
    NDArray variance = in.square().mean(new int[] {-1}, true); // (B, T, 1)
    NDArray normed = in.mul(variance.add(config.rmsNormEps())
        .pow(TorchOps.scalar(in.getManager(), -0.5))); // (B, T, H); see TorchOps.scalar
    return (half ? TorchOps.cast(normed, x.getDataType()) : normed).mul(weights.get(name));
  }

  /** How attention is computed: libtorch's fused kernel, or the composed reference. */
  public enum Attention {
    /** scaled_dot_product_attention: no (T, S) scores kept for backward on the flash paths. */
    FUSED,
    /** QKᵀ, additive mask, softmax, PV as separate ops: the reference the fused path is tested against. */
    COMPOSED
  }


  /** Chooses the attention implementation (default {@link Attention#FUSED}). */
  public void setAttention(Attention attention) {
    this.attention = attention;
  }

  /**
   * What every layer of one forward pass shares: rotary tables, the attention mask (null: plain
   * causal), the cache and the shapes. Built by {@link #begin}.
   */
  public record Pass(NDArray[] rope, NDArray mask, KvCache cache, boolean training, long batch,
      int length, long[] rowKeys, int[] rowLengths) {

    /**
     * This pass with dropout keyed per example row: {@code rowKeys} (one per row) seed each row's
     * masks, which cover its first {@code rowLengths} tokens (see LoRA's KeyedDropout).
     */
    public Pass keyed(long[] rowKeys, int[] rowLengths) {
      return new Pass(rope, mask, cache, training, batch, length, rowKeys, rowLengths);
    }
  }

  /**
   * Logits for {@code inputIds} (B, T) int64. {@code attentionMask} (B, S) with 1 for real tokens
   * and 0 for padding covers the cached positions too (S = cached + T); null means no padding.
   * With a cache, keys/values of these T positions are appended to it. Returns (B, T, vocab).
   * Every intermediate belongs to the manager of {@code inputIds}: run it inside an NDScope or a
   * short-lived manager.
   */
  public NDArray forward(NDArray inputIds, NDArray attentionMask, KvCache cache, boolean training) {
    return forward(inputIds, attentionMask, null, cache, training);
  }

  /**
   * As {@link #forward(NDArray, NDArray, KvCache, boolean)}, with explicit {@code positionIds}
   * (B, T) for packed rows: positions restart at 0 at each packed example, and a token attends only
   * to earlier tokens of its own example (block-diagonal causal mask). Not combinable with a cache.
   */
  public NDArray forward(NDArray inputIds, NDArray attentionMask, long[][] positionIds, KvCache cache,
      boolean training) {
    Pass pass = begin(inputIds, attentionMask, positionIds, cache, training);
    NDArray h = embed(inputIds); // (B, T, H)
    for (int i = 0; i < config.numLayers(); i++) {
      h = layer(i, h, pass);
    }
    if (cache != null) {
      cache.advance(pass.length());
    }
    return head(h);
  }

  /** The shared state of a forward pass over {@code inputIds} (see {@link #forward}). */
  public Pass begin(NDArray inputIds, NDArray attentionMask, long[][] positionIds, KvCache cache,
      boolean training) {
    if (positionIds != null && cache != null) {
      throw new IllegalArgumentException("position ids (packed rows) cannot be used with a KV cache");
    }
    long batch = inputIds.getShape().get(0);
    int length = Math.toIntExact(inputIds.getShape().get(1));
    int past = cache == null ? 0 : cache.length();
    NDManager m = inputIds.getManager();
    NDArray[] rope = positionIds == null
        ? Rope.tables(config, past, length, dtype, m) // 2 × (T, hd)
        : Rope.tables(config, positionIds, dtype, m); // 2 × (B, 1, T, hd)
    NDArray mask = SelfAttention.mask(attentionMask, positionIds, batch, length, past, m); // (B, 1, T, S)|null
    return new Pass(rope, mask, cache, training, batch, length, null, null);
  }

  /** Token embeddings. ids: (B, T) int64 → (B, T, H). */
  public NDArray embed(NDArray inputIds) {
    return inputIds.getNDArrayInternal()
        .embedding(inputIds, weights.get("model.embed_tokens.weight"), SparseFormat.DENSE)
        .singletonOrThrow(); // (B, T, H)
  }

  /**
   * Decoder layer {@code i}: pre-norm attention, then the SwiGLU MLP, each added to h (B, T, H).
   * Every intermediate's handle is released when the layer returns: what backward needs, autograd
   * keeps alive itself, and the rest goes back to the allocator at once instead of at the end of
   * the step (on CPU that is also what keeps the allocator from faulting in fresh pages).
   */
  public NDArray layer(int i, NDArray h, Pass pass) {
    try (NDScope scope = new NDScope()) {
      NDArray out = layerOps(i, h, pass);
      NDScope.unregister(out);
      return out;
    }
  }

  private NDArray layerOps(int i, NDArray h, Pass pass) {
    long batch = pass.batch();
    int length = pass.length();
    int nh = config.numHeads();
    int nkv = config.numKvHeads();
    int hd = config.headDim();
    String p = "model.layers." + i + ".";
    NDArray x = rmsNorm(h, p + "input_layernorm.weight"); // (B, T, H)
    NDArray q = linear(p + "self_attn.q_proj", x, pass)
        .reshape(batch, length, nh, hd).transpose(0, 2, 1, 3); // (B, nh, T, hd)
    NDArray k = linear(p + "self_attn.k_proj", x, pass)
        .reshape(batch, length, nkv, hd).transpose(0, 2, 1, 3); // (B, nkv, T, hd)
    NDArray v = linear(p + "self_attn.v_proj", x, pass)
        .reshape(batch, length, nkv, hd).transpose(0, 2, 1, 3); // (B, nkv, T, hd)
    q = Rope.apply(q, pass.rope()[0], pass.rope()[1]);
    k = Rope.apply(k, pass.rope()[0], pass.rope()[1]);
    if (pass.cache() != null) {
      NDArray[] kv = pass.cache().append(i, k, v); // 2 × (B, nkv, S, hd)
      k = kv[0];
      v = kv[1];
    }
    NDArray attn = SelfAttention.attend(config, attention, q, k, v, pass.mask()) // (B, nh, T, hd)
        .transpose(0, 2, 1, 3).reshape(batch, length, (long) nh * hd); // (B, T, nh·hd)
    h = h.add(linear(p + "self_attn.o_proj", attn, pass)); // (B, T, H)

    NDArray y = rmsNorm(h, p + "post_attention_layernorm.weight"); // (B, T, H)
    NDArray gate = linear(p + "mlp.gate_proj", y, pass); // (B, T, I)
    NDArray up = linear(p + "mlp.up_proj", y, pass); // (B, T, I)
    NDArray act = gate.mul(gate.getNDArrayInternal().sigmoid()).mul(up); // silu(gate) · up
    return h.add(linear(p + "mlp.down_proj", act, pass)); // (B, T, H)
  }

  /** Final norm and LM head. h: (B, T, H) → logits (B, T, V). */
  public NDArray head(NDArray h) {
    try (NDScope scope = new NDScope()) {
      NDArray normed = rmsNorm(h, "model.norm.weight"); // (B, T, H)
      NDArray logits = normed.getNDArrayInternal().linear(normed, w("lm_head.weight"), null)
          .singletonOrThrow(); // (B, T, V)
      NDScope.unregister(logits);
      return logits;
    }
  }

  /** The summed next-token cross-entropy of a batch and how many label tokens it covers. */
  public record TokenLoss(NDArray sum, long count) {}

  /**
   * Summed token cross-entropy of next-token prediction, as transformers' causal LM loss counts it:
   * logits at position t predict labels at t + 1; labels of -100 are ignored (padding is marked by
   * -100 labels and the attention mask, never by comparing ids with the pad id, so an EOS that equals
   * pad still counts). logits (B, T, V), labels (B, T).
   */
  public static TokenLoss tokenLoss(NDArray logits, NDArray labels) {
    try (NDScope scope = new NDScope()) {
      long batch = labels.getShape().get(0);
      // Shift the labels, not the logits: a slice of the (B, T, V) logits would cost a (B, T, V)
      // zero-fill and copy in backward. The last position predicts nothing (label -100).
      NDArray pad = labels.getManager().full(new Shape(batch, 1), -100, DataType.INT64);
      NDArray target = labels.get(":, 1:").toType(DataType.INT64, false).concat(pad, 1); // (B, T)
      NDArray scores = logits.getDataType() == DataType.FLOAT32 || logits.getDataType() == DataType.FLOAT64
          ? logits : TorchOps.cast(logits, DataType.FLOAT32); // half logits: the loss in float32
      NDArray logp = scores.logSoftmax(-1); // (B, T, V)
      NDArray valid = target.neq(-100); // (B, T)
      NDArray safe = target.mul(valid.toType(DataType.INT64, false)); // -100 → 0, then masked out
      NDArray picked = logp.gather(safe.expandDims(2), 2).squeeze(2); // (B, T)
      NDArray weight = valid.toType(scores.getDataType(), false);
      long count = valid.toType(DataType.INT64, false).sum().getLong();
      NDArray sum = picked.mul(weight).sum().neg();
      NDScope.unregister(sum);
      return new TokenLoss(sum, count);
    }
  }

  /** Mean token cross-entropy (see {@link #tokenLoss}); zero with a gradient path when nothing is labelled. */
  public static NDArray loss(NDArray logits, NDArray labels) {
    TokenLoss t = tokenLoss(logits, labels);
    return t.count() == 0 ? t.sum() : t.sum().div(TorchOps.scalar(t.sum().getManager(), t.count()));
  }

  /**
   * The weights with the adapter folded in ({@code W + scaling · B @ A} for LoRA) for every adapted
   * module, copies of this model's weights for the others, in a new manager the caller owns.
   */
  public Map<String, NDArray> mergedWeights(NDManager target) {
    if (quantized != null) {
      throw new IllegalStateException("merge an adapter into the full-precision base, not a quantized one: load"
          + " the base again without base_quantization");
    }
    Map<String, NDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : weights.entrySet()) {
      String name = e.getKey();
      NDArray merged = adapter != null && name.endsWith(".weight")
          ? adapter.merge(name.substring(0, name.length() - ".weight".length()), e.getValue())
          : e.getValue().duplicate();
      merged.attach(target);
      out.put(name, merged);
    }
    return out;
  }

  /** Writes config.json and model.safetensors (float32) of this model's weights, merged if adapted. */
  public void save(Path dir) throws IOException {
    Files.createDirectories(dir);
    try (NDManager tmp = manager.newSubManager()) {
      Map<String, NDArray> merged = mergedWeights(tmp);
      Map<String, NDArray> out = new LinkedHashMap<>();
      merged.forEach((k, v) -> out.put(k, v.getDataType() == DataType.FLOAT32 ? v
          : v.toType(DataType.FLOAT32, false)));
      Safetensors.write(dir.resolve("model.safetensors"), out, Map.of("format", "pt"));
    }
    Files.writeString(dir.resolve("config.json"), config.toJson());
  }

  /** Number of parameters of the base model. */
  public long parameterCount() {
    return weights.values().stream().mapToLong(a -> a.getShape().size()).sum()
        + (quantized == null ? 0 : quantized.parameters());
  }

  @Override
  public void close() {
    manager.close();
  }
}
