package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.lora.LoraAdapter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Llama-family causal language model (llama, mistral, qwen2) on DJL's PyTorch engine, computing
 * what transformers' {@code LlamaForCausalLM} computes: embeddings, pre-norm decoder layers
 * (RMSNorm, rotary grouped-query attention, SwiGLU MLP), final norm, LM head. Base weights are
 * frozen and kept apart from run state (the KV cache, an optional LoRA adapter).
 */
public final class CausalLm implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CausalLm.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ModelConfig config;
  private final DataType dtype;
  private final NDManager manager;
  private final Map<String, NDArray> weights; // HF name -> tensor, frozen
  private LoraAdapter adapter;

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

  public LoraAdapter adapter() {
    return adapter;
  }

  /** Puts an adapter on the model (null removes it); the model does not own it. */
  public void setAdapter(LoraAdapter adapter) {
    this.adapter = adapter;
  }

  /** The Hugging Face names and shapes of every weight this config needs. */
  public static Map<String, Shape> expectedWeights(ModelConfig c) {
    Map<String, Shape> out = new LinkedHashMap<>();
    long h = c.hiddenSize();
    long q = (long) c.numHeads() * c.headDim();
    long kv = (long) c.numKvHeads() * c.headDim();
    long inter = c.intermediateSize();
    out.put("model.embed_tokens.weight", new Shape(c.vocabSize(), h));
    for (int i = 0; i < c.numLayers(); i++) {
      String p = "model.layers." + i + ".";
      out.put(p + "input_layernorm.weight", new Shape(h));
      out.put(p + "self_attn.q_proj.weight", new Shape(q, h));
      out.put(p + "self_attn.k_proj.weight", new Shape(kv, h));
      out.put(p + "self_attn.v_proj.weight", new Shape(kv, h));
      if (c.attentionBias()) {
        out.put(p + "self_attn.q_proj.bias", new Shape(q));
        out.put(p + "self_attn.k_proj.bias", new Shape(kv));
        out.put(p + "self_attn.v_proj.bias", new Shape(kv));
      }
      out.put(p + "self_attn.o_proj.weight", new Shape(h, q));
      out.put(p + "post_attention_layernorm.weight", new Shape(h));
      out.put(p + "mlp.gate_proj.weight", new Shape(inter, h));
      out.put(p + "mlp.up_proj.weight", new Shape(inter, h));
      out.put(p + "mlp.down_proj.weight", new Shape(h, inter));
    }
    out.put("model.norm.weight", new Shape(h));
    if (!c.tieWordEmbeddings()) {
      out.put("lm_head.weight", new Shape(c.vocabSize(), h));
    }
    return out;
  }

  /**
   * Loads a Hugging Face model directory: config.json plus model.safetensors, or shards listed in
   * model.safetensors.index.json. Floats become {@code dtype} (BF16/F16 are widened); every
   * expected weight must be present with the expected shape.
   */
  public static CausalLm load(Path dir, DataType dtype, NDManager parent) throws IOException {
    ModelConfig config = ModelConfig.read(dir);
    Map<String, Path> files = weightFiles(dir);
    Map<String, Shape> expected = expectedWeights(config);
    NDManager manager = parent.newSubManager();
    Map<String, NDArray> weights = new LinkedHashMap<>();
    Map<Path, Safetensors> open = new TreeMap<>();
    try {
      for (Map.Entry<String, Shape> e : expected.entrySet()) {
        Path file = files.get(e.getKey());
        if (file == null) {
          throw new IOException("model " + dir + " lacks weight '" + e.getKey() + "'"
              + (files.isEmpty() ? "" : " (it has e.g. " + files.keySet().iterator().next() + ")"));
        }
        Safetensors st = open.get(file);
        if (st == null) {
          st = Safetensors.open(file);
          open.put(file, st);
        }
        NDArray w = st.load(e.getKey(), manager, dtype);
        if (!w.getShape().equals(e.getValue())) {
          throw new IOException(file + ": weight '" + e.getKey() + "' has shape " + w.getShape()
              + " but config.json implies " + e.getValue());
        }
        weights.put(e.getKey(), w);
      }
      List<String> extra = new ArrayList<>(files.keySet());
      extra.removeAll(expected.keySet());
      extra.remove("lm_head.weight"); // some tied checkpoints still store it
      if (!extra.isEmpty()) {
        LOG.info("model {}: ignoring {} tensors it does not use (e.g. {})", dir, extra.size(), extra.get(0));
      }
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw e;
    } finally {
      for (Safetensors st : open.values()) {
        st.close(); // mapped tensors stay valid after the channel closes
      }
    }
    return new CausalLm(config, dtype, manager, weights);
  }

  /** Tensor name → file, from the shard index or the single model.safetensors. */
  static Map<String, Path> weightFiles(Path dir) throws IOException {
    Path index = dir.resolve("model.safetensors.index.json");
    Map<String, Path> out = new LinkedHashMap<>();
    if (Files.exists(index)) {
      JsonNode map = JSON.readTree(Files.readString(index)).get("weight_map");
      if (map == null || !map.isObject()) {
        throw new IOException(index + " has no weight_map object");
      }
      map.fields().forEachRemaining(e -> out.put(e.getKey(), dir.resolve(e.getValue().asText())));
      return out;
    }
    Path single = dir.resolve("model.safetensors");
    if (!Files.exists(single)) {
      throw new IOException("model directory " + dir + " has neither model.safetensors nor "
          + "model.safetensors.index.json" + (Files.exists(dir.resolve("pytorch_model.bin"))
              ? " (pytorch_model.bin, a pickle, is not read: convert it to safetensors)" : ""));
    }
    try (Safetensors st = Safetensors.open(single)) {
      st.tensors().keySet().forEach(k -> out.put(k, single));
    }
    return out;
  }

  /** Wraps already-loaded weights (init-model, merge); the model takes ownership of the manager. */
  public static CausalLm of(ModelConfig config, DataType dtype, NDManager manager,
      Map<String, NDArray> weights) {
    Map<String, Shape> expected = expectedWeights(config);
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

  /** A linear module with its optional bias and LoRA term. x: (..., in) → (..., out). */
  private NDArray linear(String module, NDArray x, boolean training) {
    NDArray y = x.getNDArrayInternal().linear(x, w(module + ".weight"), weights.get(module + ".bias"))
        .singletonOrThrow();
    return adapter == null ? y : adapter.apply(module, x, y, training);
  }

  /** RMSNorm: x / sqrt(mean(x²) + eps) · weight, in the model's dtype. x: (B, T, H). */
  private NDArray rmsNorm(NDArray x, String name) {
    NDArray variance = x.square().mean(new int[] {-1}, true); // (B, T, 1)
    NDArray normed = x.mul(variance.add(config.rmsNormEps()).pow(-0.5)); // (B, T, H)
    return normed.mul(weights.get(name));
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
    if (positionIds != null && cache != null) {
      throw new IllegalArgumentException("position ids (packed rows) cannot be used with a KV cache");
    }
    long batch = inputIds.getShape().get(0);
    int length = Math.toIntExact(inputIds.getShape().get(1));
    int past = cache == null ? 0 : cache.length();
    NDManager m = inputIds.getManager();
    int nh = config.numHeads();
    int nkv = config.numKvHeads();
    int hd = config.headDim();

    NDArray h = inputIds.getNDArrayInternal()
        .embedding(inputIds, weights.get("model.embed_tokens.weight"), SparseFormat.DENSE)
        .singletonOrThrow(); // (B, T, H)
    NDArray[] rope = positionIds == null
        ? Rope.tables(config, past, length, dtype, m) // 2 × (T, hd)
        : Rope.tables(config, positionIds, dtype, m); // 2 × (B, 1, T, hd)
    NDArray mask = attentionBias(attentionMask, positionIds, batch, length, past, m); // (B, 1, T, S) or null
    double scale = 1.0 / Math.sqrt(hd);

    for (int i = 0; i < config.numLayers(); i++) {
      String p = "model.layers." + i + ".";
      NDArray x = rmsNorm(h, p + "input_layernorm.weight"); // (B, T, H)
      NDArray q = linear(p + "self_attn.q_proj", x, training)
          .reshape(batch, length, nh, hd).transpose(0, 2, 1, 3); // (B, nh, T, hd)
      NDArray k = linear(p + "self_attn.k_proj", x, training)
          .reshape(batch, length, nkv, hd).transpose(0, 2, 1, 3); // (B, nkv, T, hd)
      NDArray v = linear(p + "self_attn.v_proj", x, training)
          .reshape(batch, length, nkv, hd).transpose(0, 2, 1, 3); // (B, nkv, T, hd)
      q = Rope.apply(q, rope[0], rope[1]);
      k = Rope.apply(k, rope[0], rope[1]);
      if (cache != null) {
        NDArray[] kv = cache.append(i, k, v); // 2 × (B, nkv, S, hd)
        k = kv[0];
        v = kv[1];
      }
      if (config.kvGroups() > 1) {
        // Head j attends with key/value head j / groups, as transformers' repeat_kv.
        k = k.repeat(1, config.kvGroups()); // (B, nh, S, hd)
        v = v.repeat(1, config.kvGroups()); // (B, nh, S, hd)
      }
      NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale); // (B, nh, T, S)
      if (mask != null) {
        scores = scores.add(mask);
      }
      NDArray probs = scores.softmax(-1); // (B, nh, T, S)
      NDArray attn = probs.matMul(v) // (B, nh, T, hd)
          .transpose(0, 2, 1, 3).reshape(batch, length, (long) nh * hd); // (B, T, nh·hd)
      h = h.add(linear(p + "self_attn.o_proj", attn, training)); // (B, T, H)

      NDArray y = rmsNorm(h, p + "post_attention_layernorm.weight"); // (B, T, H)
      NDArray gate = linear(p + "mlp.gate_proj", y, training); // (B, T, I)
      NDArray up = linear(p + "mlp.up_proj", y, training); // (B, T, I)
      NDArray act = gate.mul(gate.getNDArrayInternal().sigmoid()).mul(up); // silu(gate) · up
      h = h.add(linear(p + "mlp.down_proj", act, training)); // (B, T, H)
    }
    if (cache != null) {
      cache.advance(length);
    }
    NDArray normed = rmsNorm(h, "model.norm.weight"); // (B, T, H)
    return normed.getNDArrayInternal().linear(normed, w("lm_head.weight"), null)
        .singletonOrThrow(); // (B, T, V)
  }

  /**
   * The additive attention bias (B, 1, T, S): 0 where query t may see key s (s ≤ past + t and
   * the key is not padding), the dtype's lowest value elsewhere (as transformers does, so a
   * fully masked row stays finite). Null when nothing is masked (one new token, no padding).
   */
  private NDArray attentionBias(NDArray attentionMask, long[][] positionIds, long batch, int length,
      int past, NDManager m) {
    int total = past + length;
    if (attentionMask == null && positionIds == null && length == 1) {
      return null;
    }
    // Packed rows: example k of a row is the run of tokens from a position 0 to the next one.
    int[][] segment = null;
    if (positionIds != null) {
      segment = new int[(int) batch][length];
      for (int b = 0; b < batch; b++) {
        int seg = 0;
        for (int t = 0; t < length; t++) {
          if (t > 0 && positionIds[b][t] == 0) {
            seg++;
          }
          segment[b][t] = seg;
        }
      }
    }
    long[] keep = attentionMask == null ? null : attentionMask.toType(DataType.INT64, false).toLongArray();
    if (keep != null && keep.length != batch * total) {
      throw new IllegalArgumentException("attention_mask has " + keep.length + " entries, expected "
          + batch + " × " + total);
    }
    float low = -Float.MAX_VALUE;
    float[] bias = new float[Math.toIntExact(batch * length * total)];
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < length; t++) {
        int row = (b * length + t) * total;
        for (int s = 0; s < total; s++) {
          boolean visible = s <= past + t && (keep == null || keep[b * total + s] != 0)
              && (segment == null || segment[b][s] == segment[b][t]);
          bias[row + s] = visible ? 0f : low;
        }
      }
    }
    NDArray out = m.create(bias, new Shape(batch, 1, length, total));
    return dtype == DataType.FLOAT32 ? out : out.toType(dtype, false);
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
    long length = logits.getShape().get(1);
    NDArray logp = logits.get(":, :{}, :", length - 1).logSoftmax(-1); // (B, T-1, V)
    NDArray target = labels.get(":, 1:").toType(DataType.INT64, false); // (B, T-1)
    NDArray valid = target.neq(-100); // (B, T-1)
    NDArray safe = target.mul(valid.toType(DataType.INT64, false)); // -100 → 0, then masked out
    NDArray picked = logp.gather(safe.expandDims(2), 2).squeeze(2); // (B, T-1)
    NDArray weight = valid.toType(logits.getDataType(), false);
    long count = valid.toType(DataType.INT64, false).sum().getLong();
    return new TokenLoss(picked.mul(weight).sum().neg(), count);
  }

  /** Mean token cross-entropy (see {@link #tokenLoss}); zero with a gradient path when nothing is labelled. */
  public static NDArray loss(NDArray logits, NDArray labels) {
    TokenLoss t = tokenLoss(logits, labels);
    return t.count() == 0 ? t.sum() : t.sum().div(t.count());
  }

  /**
   * The merged weights {@code W + scaling · B @ A} for every adapted module (others are shared
   * views of this model's weights), in a new manager the caller owns.
   */
  public Map<String, NDArray> mergedWeights(NDManager target) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : weights.entrySet()) {
      String name = e.getKey();
      NDArray merged;
      if (adapter != null && name.endsWith(".weight")
          && adapter.modules().containsKey(name.substring(0, name.length() - ".weight".length()))) {
        merged = adapter.merge(name.substring(0, name.length() - ".weight".length()), e.getValue());
      } else {
        merged = e.getValue().duplicate();
      }
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
    return weights.values().stream().mapToLong(a -> a.getShape().size()).sum();
  }

  @Override
  public void close() {
    manager.close();
  }
}
