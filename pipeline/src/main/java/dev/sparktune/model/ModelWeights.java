package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The weights of a Llama-family model as Hugging Face names and stores them: which names and shapes
 * a {@link ModelConfig} needs, and reading them from a model directory's safetensors files.
 */
public final class ModelWeights {
  private static final Logger LOG = LoggerFactory.getLogger(ModelWeights.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private ModelWeights() {}

  /**
   * True for the decoder linear weights ({@code model.layers.*.*_proj.weight}): the ones a quantized
   * base holds quantized; embeddings, norms, biases and the LM head stay dense.
   */
  public static boolean quantizable(String name) {
    return name.startsWith("model.layers.") && name.endsWith("_proj.weight");
  }

  /** As {@link #quantizable(String)}, less the linears named in {@code keepDense} (e.g. {@code down_proj}). */
  public static boolean quantizable(String name, Collection<String> keepDense) {
    return quantizable(name) && !keepDense.contains(linearModule(name));
  }

  /** The module a decoder linear weight belongs to: {@code model.layers.3.mlp.down_proj.weight} → {@code down_proj}. */
  public static String linearModule(String name) {
    String module = name.substring(0, name.lastIndexOf('.'));
    return module.substring(module.lastIndexOf('.') + 1);
  }

  /** The Hugging Face names and shapes of every weight this config needs. */
  public static Map<String, Shape> expected(ModelConfig c) {
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

  /** Weights as read: the dense ones, and the decoder linears quantized at load (null when dense). */
  record Loaded(Map<String, NDArray> dense, QuantizedLinears quantized) {}

  /**
   * Reads every weight {@code config} needs from model directory {@code dir} (model.safetensors, or
   * the shards model.safetensors.index.json lists) into {@code manager}, as {@code dtype}
   * (BF16/F16 are widened); each must be present with the expected shape. With a quantized base the
   * decoder linears are read as floats a few at a time and quantized as they arrive, so their dense
   * copies never exist together: loading holds the packed weights, the dense rest and a few tensors'
   * floats, never a shard's worth. On failure the arrays already read stay in {@code manager}: the
   * caller closes it.
   */
  static Loaded read(Path dir, ModelConfig config, DataType dtype, QuantizedLinears.Mode mode,
      Collection<String> keepDense, NDManager manager) throws IOException {
    Map<String, Path> files = files(dir);
    Map<String, Shape> expected = expected(config);
    Map<String, NDArray> weights = new LinkedHashMap<>();
    Map<String, Shape> toQuantize = new LinkedHashMap<>();
    Map<Path, Safetensors> open = new TreeMap<>();
    try {
      for (Map.Entry<String, Shape> e : expected.entrySet()) {
        Safetensors st = shard(dir, files, e.getKey(), open);
        Shape stored = new Shape(st.tensors().get(e.getKey()).shape());
        if (!stored.equals(e.getValue())) {
          throw new IOException(st.file() + ": weight '" + e.getKey() + "' has shape " + stored
              + " but config.json implies " + e.getValue());
        }
        if (mode != QuantizedLinears.Mode.NONE && quantizable(e.getKey(), keepDense)) {
          toQuantize.put(e.getKey(), e.getValue());
        } else {
          weights.put(e.getKey(), st.load(e.getKey(), manager, dtype));
        }
      }
      QuantizedLinears quantized = toQuantize.isEmpty() ? null : QuantizedLinears.quantize(toQuantize,
          name -> shard(dir, files, name, open).readFloats(name), mode, manager);
      List<String> extra = new ArrayList<>(files.keySet());
      extra.removeAll(expected.keySet());
      extra.remove("lm_head.weight"); // some tied checkpoints still store it
      if (!extra.isEmpty()) {
        LOG.info("model {}: ignoring {} tensors it does not use (e.g. {})", dir, extra.size(), extra.get(0));
      }
      return new Loaded(weights, quantized);
    } finally {
      for (Safetensors st : open.values()) {
        st.close();
      }
    }
  }

  /** The open shard holding {@code name}, opened on first use. */
  private static Safetensors shard(Path dir, Map<String, Path> files, String name, Map<Path, Safetensors> open)
      throws IOException {
    Path file = files.get(name);
    if (file == null) {
      throw new IOException("model " + dir + " lacks weight '" + name + "'"
          + (files.isEmpty() ? "" : " (it has e.g. " + files.keySet().iterator().next() + ")"));
    }
    Safetensors st = open.get(file);
    if (st == null) {
      st = Safetensors.open(file);
      open.put(file, st);
    }
    if (!st.contains(name)) {
      throw new IOException(file + " has no tensor '" + name + "' though the shard index names it");
    }
    return st;
  }

  /** Tensor name → file, from the shard index or the single model.safetensors. */
  static Map<String, Path> files(Path dir) throws IOException {
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
}
