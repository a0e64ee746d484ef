package dev.sparktune.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A quantized frozen base: the weights dequantized on the device equal the Java codecs' bit for
 * bit, and the golden models' log-probabilities stay within 2e-2 (int8) and 1e-1 (nf4) of float32.
 */
class QuantizedModelTest {
  private static NDManager manager;

  @BeforeAll
  static void start() {
    manager = Torch.newManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  /** Log-probabilities (B, T, V) as doubles, the padded positions left out. */
  private static double[][] logProbs(CausalLm model, Map<String, NDArray> ref) {
    try (NDScope scope = new NDScope(); Torch.GradMode off = Torch.gradMode(false)) {
      NDArray logits = model.forward(ref.get("input_ids"), ref.get("attention_mask"), null, false);
      NDArray lp = logits.logSoftmax(-1).toType(DataType.FLOAT64, false);
      long[] mask = ref.get("attention_mask").toType(DataType.INT64, false).toLongArray();
      long batch = lp.getShape().get(0);
      long length = lp.getShape().get(1);
      double[][] out = new double[(int) (batch * length)][];
      for (int b = 0; b < batch; b++) {
        for (int t = 0; t < length; t++) {
          if (mask[(int) (b * length + t)] != 0) {
            out[(int) (b * length + t)] = lp.get(new NDIndex(b + "," + t)).toDoubleArray();
          }
        }
      }
      return out;
    }
  }

  private static double maxDiff(double[][] a, double[][] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      for (int k = 0; a[i] != null && k < a[i].length; k++) {
        max = Math.max(max, Math.abs(a[i][k] - b[i][k]));
      }
    }
    return max;
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "llama-gqa", "qwen2", "mistral"})
  void logProbsStayCloseAndDeviceDequantEqualsTheCodec(String arch) throws Exception {
    Map<String, NDArray> ref = GoldenModelTest.reference(arch, manager);
    double[][] dense;
    Map<String, float[]> denseWeights = new LinkedHashMap<>();
    try (CausalLm model = CausalLm.load(GoldenModelTest.golden(arch).resolve("model"), DataType.FLOAT32, manager)) {
      dense = logProbs(model, ref);
      model.weights().forEach((k, v) -> {
        if (ModelWeights.quantizable(k)) {
          denseWeights.put(k, v.toFloatArray());
        }
      });
    }
    Map<String, Double> bound = Map.of("int8", 2e-2, "nf4", 1e-1);
    for (String mode : bound.keySet()) {
      try (CausalLm model = CausalLm.load(GoldenModelTest.golden(arch).resolve("model"), DataType.FLOAT32, manager)) {
        long before = model.weightBytes();
        model.quantizeBase(mode);
        assertTrue(model.weightBytes() < before, arch + " " + mode + ": the base holds fewer bytes");
        double diff = maxDiff(dense, logProbs(model, ref));
        assertTrue(diff <= bound.get(mode), arch + " " + mode + ": log-probs differ by " + diff);
        String name = "model.layers.0.mlp.down_proj.weight";
        QuantizedLinears q = model.quantizedLinears();
        float[] codec = mode.equals("int8")
            ? Int8.dequantize(Int8.quantize(denseWeights.get(name), (int) q.shape(name).get(0),
                (int) q.shape(name).get(1)))
            : Nf4.dequantize(Nf4.quantizeDouble(denseWeights.get(name)));
        try (NDManager m = manager.newSubManager()) {
          assertArrayEquals(codec, q.dense(name, DataType.FLOAT32, m).toFloatArray(), arch + " " + mode
              + ": the device dequantizes exactly as the codec");
        }
        System.out.printf("%s %s: max |Δ log-prob| %.4f, base weights %d → %d bytes%n", arch, mode, diff, before,
            model.weightBytes());
      }
    }
  }
}
