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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/**
 * Randomly initialised Llama-family weights, as transformers initialises them (normal with std
 * {@code initializer_range} = 0.02 for embeddings and linears, ones for norms, zero biases), from a
 * seed: for tests, benchmarks and the local demo. Such models are generated, never committed.
 */
public final class ModelInit {
  private ModelInit() {}

  /**
   * A config for a new model whose vocabulary and special ids come from a tokenizer.json (vocab =
   * highest id + 1; BOS, EOS and PAD looked up among the usual token spellings).
   */
  public static ModelConfig configFor(String arch, int hidden, int layers, int heads, int kvHeads,
      int intermediate, double ropeTheta, int maxPositions, Path tokenizerJson) throws IOException {
    JsonNode tok = new ObjectMapper().readTree(Files.readString(tokenizerJson));
    long maxId = -1;
    for (JsonNode id : tok.path("model").path("vocab")) {
      maxId = Math.max(maxId, id.asLong());
    }
    for (JsonNode added : tok.path("added_tokens")) {
      maxId = Math.max(maxId, added.path("id").asLong());
    }
    if (maxId < 0) {
      throw new IOException(tokenizerJson + " has no model.vocab (is it a Hugging Face tokenizer.json?)");
    }
    int bos = firstId(tok, List.of("<s>", "<|begin_of_text|>", "<bos>", "<|endoftext|>"));
    int eos = firstId(tok, List.of("</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|im_end|>"));
    int pad = firstId(tok, List.of("<pad>", "<|pad|>", "<|finetune_right_pad_id|>"));
    return new ModelConfig(arch, Math.toIntExact(maxId + 1), hidden, intermediate, layers, heads,
        kvHeads, hidden / heads, 1e-6, ModelConfig.RopeScaling.plain(ropeTheta),
        arch.equals("qwen2"), arch.equals("qwen2"), maxPositions, bos, eos, pad);
  }

  private static int firstId(JsonNode tok, List<String> spellings) {
    for (String s : spellings) {
      for (JsonNode added : tok.path("added_tokens")) {
        if (s.equals(added.path("content").asText())) {
          return added.path("id").asInt();
        }
      }
      JsonNode id = tok.path("model").path("vocab").get(s);
      if (id != null && id.isNumber()) {
        return id.asInt();
      }
    }
    return -1;
  }

  public static CausalLm random(ModelConfig config, long seed, DataType dtype, NDManager parent) {
    return random(config, seed, 0.02, dtype, parent);
  }

  /**
   * As {@link #random(ModelConfig, long, DataType, NDManager)} with another standard deviation. A
   * tiny model needs a larger one to be trainable by LoRA alone: with std 0.02 and hidden 64 the
   * frozen LM head cannot produce logits much above 1, so no adapter can make a confident
   * prediction.
   */
  public static CausalLm random(ModelConfig config, long seed, double std, DataType dtype,
      NDManager parent) {
    SplittableRandom random = new SplittableRandom(seed);
    return build(config, dtype, parent, (shape, manager) -> {
      float[] data = new float[Math.toIntExact(shape.size())];
      for (int i = 0; i < data.length; i++) {
        data[i] = (float) (gaussian(random) * std);
      }
      return manager.create(data, shape);
    });
  }

  /**
   * As {@link #random(ModelConfig, long, DataType, NDManager)}, but drawn by libtorch on the
   * manager's device with its generator seeded by {@code seed}: seconds instead of minutes for a
   * billion parameters, for benchmarks, which need the shapes and the scale rather than the same
   * values on every device.
   */
  public static CausalLm randomOnDevice(ModelConfig config, long seed, DataType dtype, NDManager parent) {
    Torch.engine().setRandomSeed((int) seed);
    return build(config, dtype, parent, (shape, manager) -> manager.randomNormal(0f, 0.02f, shape,
        DataType.FLOAT32));
  }

  /** Norms of ones, biases of zeros, every other weight drawn as float32 by {@code draw}, then cast. */
  private static CausalLm build(ModelConfig config, DataType dtype, NDManager parent,
      BiFunction<Shape, NDManager, NDArray> draw) {
    NDManager manager = parent.newSubManager();
    Map<String, NDArray> weights = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : ModelWeights.expected(config).entrySet()) {
      String name = e.getKey();
      NDArray w;
      if (name.endsWith("norm.weight")) {
        w = manager.ones(e.getValue(), dtype);
      } else if (name.endsWith(".bias")) {
        w = manager.zeros(e.getValue(), dtype);
      } else {
        w = draw.apply(e.getValue(), manager);
        if (dtype != DataType.FLOAT32) {
          NDArray cast = w.toType(dtype, false);
          w.close();
          w = cast;
        }
      }
      weights.put(name, w);
    }
    return CausalLm.of(config, dtype, manager, weights);
  }

  /** A standard normal draw (Box–Muller), so the stream depends only on the seed. */
  static double gaussian(SplittableRandom random) {
    double u1 = 1.0 - random.nextDouble(); // (0, 1]
    double u2 = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
