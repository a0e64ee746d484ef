package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Randomly initialised Llama-family weights, as transformers initialises them (normal with std
 * {@code initializer_range} = 0.02 for embeddings and linears, ones for norms, zero biases), from a
 * seed: for tests, benchmarks and the local demo. Such models are generated, never committed.
 */
public final class ModelInit {
  private ModelInit() {}

  public static CausalLm random(ModelConfig config, long seed, DataType dtype, NDManager parent) {
    NDManager manager = parent.newSubManager();
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, NDArray> weights = new LinkedHashMap<>();
    for (Map.Entry<String, Shape> e : CausalLm.expectedWeights(config).entrySet()) {
      String name = e.getKey();
      Shape shape = e.getValue();
      NDArray w;
      if (name.endsWith("norm.weight")) {
        w = manager.ones(shape, dtype);
      } else if (name.endsWith(".bias")) {
        w = manager.zeros(shape, dtype);
      } else {
        float[] data = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < data.length; i++) {
          data[i] = (float) (gaussian(random) * 0.02);
        }
        w = manager.create(data, shape);
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
