package dev.sparktune.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;

/**
 * A Llama-family model's {@code config.json}: llama, mistral and qwen2 (RMSNorm, rotary embeddings,
 * grouped-query attention, SwiGLU MLP, optional q/k/v bias, optionally tied embeddings). Reads both
 * the transformers 4.x style (top-level {@code rope_theta}, {@code rope_scaling}) and the 5.x style
 * ({@code rope_parameters}).
 */
public record ModelConfig(
    String modelType,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    double rmsNormEps,
    RopeScaling rope,
    boolean attentionBias,
    boolean tieWordEmbeddings,
    int maxPositionEmbeddings,
    int bosTokenId,
    int eosTokenId,
    int padTokenId) {

  /** The architectures this model code implements. */
  public static final Set<String> SUPPORTED = Set.of("llama", "mistral", "qwen2");

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Rotary embedding settings: {@code type} default, linear, llama3 or dynamic; the other fields
   * apply to the types that use them.
   */
  public record RopeScaling(String type, double theta, double factor, double lowFreqFactor,
      double highFreqFactor, int originalMaxPositions) {
    public RopeScaling {
      if (!Set.of("default", "linear", "llama3", "dynamic").contains(type)) {
        throw new IllegalArgumentException("rope type '" + type
            + "' is not supported (supported: default, linear, llama3, dynamic)");
      }
      if (theta <= 0) {
        throw new IllegalArgumentException("rope_theta must be > 0, got " + theta);
      }
      if (!type.equals("default") && factor <= 0) {
        throw new IllegalArgumentException("rope factor must be > 0 for type " + type);
      }
    }

    public static RopeScaling plain(double theta) {
      return new RopeScaling("default", theta, 1, 0, 0, 0);
    }
  }

  public ModelConfig {
    if (!SUPPORTED.contains(modelType)) {
      throw new IllegalArgumentException("model_type '" + modelType
          + "' is not supported (supported: llama, mistral, qwen2)");
    }
    if (numHeads <= 0 || numKvHeads <= 0 || numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException("num_attention_heads (" + numHeads
          + ") must be a positive multiple of num_key_value_heads (" + numKvHeads + ")");
    }
    if (headDim <= 0 || headDim % 2 != 0) {
      throw new IllegalArgumentException("head_dim must be positive and even, got " + headDim);
    }
    if (vocabSize <= 0 || hiddenSize <= 0 || intermediateSize <= 0 || numLayers <= 0) {
      throw new IllegalArgumentException("vocab_size, hidden_size, intermediate_size and "
          + "num_hidden_layers must be positive");
    }
  }

  /** Reads {@code <dir>/config.json}, naming the file and key on any problem. */
  public static ModelConfig read(Path dir) throws IOException {
    Path file = dir.resolve("config.json");
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(file));
    } catch (NoSuchFileException e) {
      throw new IOException("no config.json in model directory " + dir);
    }
    try {
      return fromJson(root);
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  static ModelConfig fromJson(JsonNode c) {
    String type = text(c, "model_type", null);
    if (!SUPPORTED.contains(type)) {
      throw new IllegalArgumentException("model_type '" + type
          + "' is not supported (supported: llama, mistral, qwen2)");
    }
    int hidden = integer(c, "hidden_size", null);
    int heads = integer(c, "num_attention_heads", null);
    int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
    boolean bias = type.equals("qwen2") || c.path("attention_bias").asBoolean(false);
    return new ModelConfig(type, integer(c, "vocab_size", null), hidden,
        integer(c, "intermediate_size", null), integer(c, "num_hidden_layers", null), heads,
        integer(c, "num_key_value_heads", heads), headDim,
        c.path("rms_norm_eps").asDouble(1e-6), rope(c), bias,
        c.path("tie_word_embeddings").asBoolean(false),
        integer(c, "max_position_embeddings", 2048), firstId(c, "bos_token_id", 1),
        firstId(c, "eos_token_id", 2), firstId(c, "pad_token_id", -1));
  }

  private static RopeScaling rope(JsonNode c) {
    // transformers 5.x: rope_parameters holds theta and the scaling; 4.x: rope_theta + rope_scaling.
    JsonNode params = c.get("rope_parameters");
    JsonNode scaling = params != null && params.isObject() ? params : c.get("rope_scaling");
    double theta = params != null && params.has("rope_theta")
        ? params.get("rope_theta").asDouble() : c.path("rope_theta").asDouble(10000.0);
    if (scaling == null || scaling.isNull()) {
      return RopeScaling.plain(theta);
    }
    String type = scaling.hasNonNull("rope_type") ? scaling.get("rope_type").asText()
        : scaling.path("type").asText("default");
    return new RopeScaling(type, theta, scaling.path("factor").asDouble(1.0),
        scaling.path("low_freq_factor").asDouble(1.0), scaling.path("high_freq_factor").asDouble(4.0),
        scaling.path("original_max_position_embeddings").asInt(c.path("max_position_embeddings").asInt(2048)));
  }

  private static String text(JsonNode c, String key, String dflt) {
    JsonNode v = c.get(key);
    if (v == null || v.isNull()) {
      if (dflt == null) {
        throw new IllegalArgumentException("missing key '" + key + "'");
      }
      return dflt;
    }
    return v.asText();
  }

  private static int integer(JsonNode c, String key, Integer dflt) {
    JsonNode v = c.get(key);
    if (v == null || v.isNull()) {
      if (dflt == null) {
        throw new IllegalArgumentException("missing key '" + key + "'");
      }
      return dflt;
    }
    if (!v.canConvertToInt()) {
      throw new IllegalArgumentException("key '" + key + "' must be an integer, got " + v);
    }
    return v.asInt();
  }

  private static int firstId(JsonNode c, String key, int dflt) {
    JsonNode v = c.get(key);
    if (v == null || v.isNull()) {
      return dflt;
    }
    return v.isArray() ? (v.size() == 0 ? dflt : v.get(0).asInt()) : v.asInt();
  }

  public int kvGroups() {
    return numHeads / numKvHeads;
  }

  /** The config.json that transformers 5.x writes for this model (rope under rope_parameters). */
  public String toJson() {
    ObjectNode c = JSON.createObjectNode();
    String arch = switch (modelType) {
      case "mistral" -> "MistralForCausalLM";
      case "qwen2" -> "Qwen2ForCausalLM";
      default -> "LlamaForCausalLM";
    };
    c.putArray("architectures").add(arch);
    if (!modelType.equals("qwen2")) {
      c.put("attention_bias", attentionBias);
    }
    if (bosTokenId >= 0) {
      c.put("bos_token_id", bosTokenId);
    }
    c.put("dtype", "float32");
    if (eosTokenId >= 0) {
      c.put("eos_token_id", eosTokenId);
    }
    c.put("head_dim", headDim);
    c.put("hidden_act", "silu");
    c.put("hidden_size", hiddenSize);
    c.put("initializer_range", 0.02);
    c.put("intermediate_size", intermediateSize);
    c.put("max_position_embeddings", maxPositionEmbeddings);
    c.put("model_type", modelType);
    c.put("num_attention_heads", numHeads);
    c.put("num_hidden_layers", numLayers);
    c.put("num_key_value_heads", numKvHeads);
    if (padTokenId >= 0) {
      c.put("pad_token_id", padTokenId);
    }
    c.put("rms_norm_eps", rmsNormEps);
    ObjectNode r = c.putObject("rope_parameters");
    r.put("rope_theta", rope.theta());
    r.put("rope_type", rope.type());
    if (!rope.type().equals("default")) {
      r.put("factor", rope.factor());
    }
    if (rope.type().equals("llama3")) {
      r.put("low_freq_factor", rope.lowFreqFactor());
      r.put("high_freq_factor", rope.highFreqFactor());
      r.put("original_max_position_embeddings", rope.originalMaxPositions());
    }
    c.put("rope_theta", rope.theta()); // also where transformers 4.x looks
    c.put("tie_word_embeddings", tieWordEmbeddings);
    c.put("use_cache", true);
    c.put("vocab_size", vocabSize);
    try {
      return JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(c) + "\n";
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
