package dev.sparktune.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import dev.sparktune.collective.Collective;
import dev.sparktune.config.InvalidValue;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.config.TrainConfig;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.ModelInit;
import dev.sparktune.model.Torch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The device-side step: AdamW on flat buffers, gradient checkpointing, float16 with loss scaling. */
class TrainStepTest {
  static NDManager manager;

  @BeforeAll
  static void start() {
    manager = Torch.newManager();
    Torch.setThreads(1);
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  @Test
  void deviceAdamWEqualsTheHostReferenceOverTenSteps() {
    int n = 1000;
    int from = 250; // a shard, as rank 1 of 4 owns it
    int to = 500;
    SplittableRandom r = new SplittableRandom(4);
    double[] hostParams = new double[n];
    for (int i = 0; i < n; i++) {
      hostParams[i] = r.nextDouble() - 0.5;
    }
    HostAdamW host = new HostAdamW(0.9, 0.999, 1e-8, 0.01, from, to);
    try (NDManager m = manager.newSubManager();
        DeviceAdamW device = new DeviceAdamW(0.9, 0.999, 1e-8, 0.01, from, to, DataType.FLOAT32, m);
        Torch.GradMode off = Torch.gradMode(false)) {
      NDArray params = m.create(toFloats(hostParams));
      for (int step = 0; step < 10; step++) {
        double[] grads = new double[n];
        for (int i = 0; i < n; i++) {
          grads[i] = r.nextGaussian() * (i % 7 == 0 ? 1e-4 : 1.0); // small and large gradients
        }
        double[] hostGrads = new double[n];
        for (int i = 0; i < n; i++) {
          hostGrads[i] = (float) grads[i]; // both see the same float32 gradient
        }
        double lr = 1e-2 * (1 + step);
        host.step(hostParams, hostGrads, lr);
        device.step(params.get("{}:{}", from, to), m.create(toFloats(hostGrads)).get("{}:{}", from, to), lr);
      }
      float[] got = params.toFloatArray();
      for (int i = 0; i < n; i++) {
        assertEquals(hostParams[i], got[i], 1e-6, "parameter " + i);
      }
      assertEquals(10, device.steps());
      double[] m1 = new double[n];
      double[] v1 = new double[n];
      double[] m2 = new double[n];
      double[] v2 = new double[n];
      host.exportInto(m1, v1);
      device.exportInto(m2, v2);
      for (int i = from; i < to; i++) {
        assertEquals(m1[i], m2[i], 1e-6, "exp_avg " + i);
        assertEquals(v1[i], v2[i], 1e-6 * Math.max(1, v1[i]), "exp_avg_sq " + i);
      }
    }
  }

  private static float[] toFloats(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }

  /** The adapter's gradients after one accumulation over two micro-batches. */
  private static Map<String, double[]> gradients(CausalLm model, LoraAdapter adapter, boolean checkpointing,
      List<TrainData.Example> data) {
    return gradients(model, adapter, checkpointing, data, List.of(new int[] {0, 1}, new int[] {2, 3}), 5);
  }

  private static Map<String, double[]> gradients(CausalLm model, LoraAdapter adapter, boolean checkpointing,
      List<TrainData.Example> data, List<int[]> microBatches, int stepIndex) {
    TrainStep.Options options = new TrainStep.Options(0.9, 0.999, 1e-8, 0, 1.0, checkpointing, 3);
    try (TrainStep step = new TrainStep(model, adapter, Collective.single(), options, null)) {
      long labels = data.stream().mapToLong(BatchPlan::labelCount).sum();
      step.accumulate(microBatches, (mb, m) -> Batch.of(data, mb, 0, m), labels, 1.0, stepIndex, new long[5]);
      Map<String, double[]> out = new LinkedHashMap<>();
      adapter.peftTensors().forEach((k, p) -> {
        out.put(k, p.getGradient().toDoubleArray());
        p.getGradient().muli(0);
      });
      return out;
    }
  }

  @Test
  void dropoutMasksDependOnTheExampleNotOnItsMicroBatch() {
    // Examples of different lengths, so the micro-batches pad to different T.
    List<TrainData.Example> data = TrainerTest.copyTask(4, 2, 9, 10, 30, 12);
    LoraConfig lora = new LoraConfig(4, 8.0, 0.3, List.of("all-linear"), false, null);
    try (CausalLm model = ModelInit.random(TrainerTest.tiny(40), 6, 0.1, DataType.FLOAT64, manager);
        LoraAdapter adapter = LoraAdapter.create(model.config(), lora, 3, DataType.FLOAT64, manager)) {
      adapter.modules().values().forEach(p -> p.b().addi(0.05));
      adapter.setTrainable(true);
      model.setAdapter(adapter);
      Map<String, double[]> pairs = gradients(model, adapter, false, data);
      Map<String, double[]> regrouped = gradients(model, adapter, false, data,
          List.of(new int[] {3}, new int[] {1, 0, 2}), 5);
      for (Map.Entry<String, double[]> e : pairs.entrySet()) {
        double[] a = e.getValue();
        double[] b = regrouped.get(e.getKey());
        for (int i = 0; i < a.length; i++) {
          assertEquals(a[i], b[i], 1e-9 * Math.max(1, Math.abs(a[i])), e.getKey() + "[" + i + "]");
        }
      }
      // A different step draws different masks: the keys do reach the draw.
      Map<String, double[]> nextStep = gradients(model, adapter, false, data,
          List.of(new int[] {0, 1}, new int[] {2, 3}), 6);
      double moved = 0;
      for (Map.Entry<String, double[]> e : pairs.entrySet()) {
        double[] a = e.getValue();
        double[] b = nextStep.get(e.getKey());
        for (int i = 0; i < a.length; i++) {
          moved += Math.abs(a[i] - b[i]);
        }
      }
      assertTrue(moved > 1e-6, "step 6 must draw other masks than step 5: " + moved);
    }
  }

  /**
   * Numbers that ops with a gradient save for backward (LoRA's scaling, RMSNorm's exponent, the
   * loss factor) must live in libtorch's memory: DJL's op(Number) frees its Java buffer at once, and
   * a garbage collection between forward and backward then let backward read reused memory (seen as
   * NaN or wrong gradients in the first training step of a fresh JVM, now and then).
   */
  @Test
  void backwardReadsTheSameNumbersAfterAGarbageCollection() {
    List<TrainData.Example> data = TrainerTest.copyTask(2, 4, 8, 10, 30, 31);
    LoraConfig lora = new LoraConfig(4, 8.0, 0.0, List.of("all-linear"), false, null);
    try (CausalLm model = ModelInit.random(TrainerTest.tiny(40), 6, 0.1, DataType.FLOAT32, manager);
        LoraAdapter adapter = LoraAdapter.create(model.config(), lora, 3, DataType.FLOAT32, manager)) {
      adapter.modules().values().forEach(p -> p.b().addi(0.05));
      adapter.setTrainable(true);
      model.setAdapter(adapter);
      double[][] grads = new double[2][];
      for (int run = 0; run < 2; run++) {
        try (NDManager m = manager.newSubManager(); Torch.GradMode on = Torch.gradMode(true)) {
          Batch batch = Batch.of(data, new int[] {0, 1}, 0, m);
          NDArray logits = model.forward(batch.ids(), null, null, true);
          NDArray loss = CausalLm.tokenLoss(logits, batch.labels()).sum()
              .mul(dev.sparktune.model.TorchOps.scalar(m, 0.5));
          if (run == 1) {
            // Free what was freed, then fill reused memory with NaN-like garbage before backward.
            for (int i = 0; i < 3; i++) {
              System.gc();
              java.util.List<java.nio.ByteBuffer> junk = new java.util.ArrayList<>();
              for (int k = 0; k < 20_000; k++) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(8 * (1 + k % 4));
                while (b.hasRemaining()) {
                  b.put((byte) 0x7f);
                }
                junk.add(b);
              }
            }
          }
          Torch.backward(loss);
          NDArray flat = dev.sparktune.model.TorchOps.flatGradients(
              new java.util.ArrayList<>(adapter.peftTensors().values()), m);
          grads[run] = flat.toType(DataType.FLOAT64, false).toDoubleArray();
        }
      }
      assertArrayEquals(grads[0], grads[1], 0.0, "the gradient after a GC must be the same, bit for bit");
    }
  }

  @Test
  void gradientCheckpointingGivesTheSameGradientsInFloat64() {
    List<TrainData.Example> data = TrainerTest.copyTask(4, 2, 5, 10, 30, 8);
    // dropout on: the recomputed layers must draw the same masks
    LoraConfig lora = new LoraConfig(4, 8.0, 0.1, List.of("all-linear"), false, null);
    try (CausalLm model = ModelInit.random(TrainerTest.tiny(40), 6, 0.1, DataType.FLOAT64, manager);
        LoraAdapter adapter = LoraAdapter.create(model.config(), lora, 3, DataType.FLOAT64, manager)) {
      adapter.modules().values().forEach(p -> p.b().addi(0.05)); // B ≠ 0, so A's gradient is not zero
      adapter.setTrainable(true);
      model.setAdapter(adapter);
      Map<String, double[]> plain = gradients(model, adapter, false, data);
      Map<String, double[]> recomputed = gradients(model, adapter, true, data);
      assertEquals(2 * 7 * 2, plain.size());
      double norm = 0;
      for (Map.Entry<String, double[]> e : plain.entrySet()) {
        double[] a = e.getValue();
        double[] b = recomputed.get(e.getKey());
        for (int i = 0; i < a.length; i++) {
          assertEquals(a[i], b[i], 1e-6 * Math.max(1, Math.abs(a[i])), e.getKey() + "[" + i + "]");
          norm += a[i] * a[i];
        }
      }
      assertTrue(norm > 1e-6, "the gradients are not all zero: " + norm);
    }
  }

  @Test
  void theLossScalerSkipsAnOverflowingStepAndHalvesTheScale() {
    List<TrainData.Example> data = TrainerTest.copyTask(4, 2, 4, 10, 30, 3);
    LoraConfig lora = new LoraConfig(4, 8.0, 0.0, List.of("all-linear"), false, null);
    try (CausalLm model = ModelInit.random(TrainerTest.tiny(40), 6, 0.1, DataType.FLOAT16, manager);
        LoraAdapter adapter = LoraAdapter.create(model.config(), lora, 3, DataType.FLOAT32, manager)) {
      adapter.setTrainable(true);
      model.setAdapter(adapter);
      // A scale of 1e30 overflows float16 in backward: the injected inf.
      LossScaler scaler = new LossScaler(1e30, 2.0, 0.5, 2);
      TrainStep.Options options = new TrainStep.Options(0.9, 0.999, 1e-8, 0, 1.0, false, 3);
      long labels = data.stream().mapToLong(BatchPlan::labelCount).sum();
      try (TrainStep step = new TrainStep(model, adapter, Collective.single(), options, scaler)) {
        Map<String, float[]> before = values(adapter);
        TrainStep.Outcome o = step.run(List.of(new int[] {0, 1, 2, 3}), (mb, m) -> Batch.of(data, mb, 0, m),
            labels, 1e-2, 0);
        assertTrue(o.skipped(), "inf/NaN gradients skip the update");
        assertFalse(Double.isFinite(o.gradNorm()));
        assertEquals(5e29, scaler.scale(), 1e17);
        assertEquals(0, step.optimizer().steps(), "a skipped step does not count as an AdamW step");
        values(adapter).forEach((k, v) -> assertArrayEquals(before.get(k), v, k + " unchanged"));
        // A sane scale: the step is taken; after two good steps (interval 2) the scale doubles.
        scaler.restore(1024, 0);
        for (int s = 1; s <= 2; s++) {
          o = step.run(List.of(new int[] {0, 1, 2, 3}), (mb, m) -> Batch.of(data, mb, 0, m), labels, 1e-2, s);
          assertFalse(o.skipped(), "step " + s);
          assertTrue(Double.isFinite(o.gradNorm()));
        }
        assertEquals(2048, scaler.scale());
        assertEquals(2, step.optimizer().steps());
      }
    }
  }

  static Map<String, float[]> values(LoraAdapter adapter) {
    Map<String, float[]> out = new LinkedHashMap<>();
    adapter.peftTensors().forEach((k, v) -> out.put(k, v.toType(DataType.FLOAT32, false).toFloatArray()));
    return out;
  }

  static TrainConfig config(int maxSteps, int saveSteps) {
    return new TrainConfig("tiny", new LoraConfig(4, 8.0, 0.0, List.of("all-linear"), false, null),
        4, 1, null, maxSteps, 1e-2, 0.0, null, null, null, "constant", 0, null, null, 1.0,
        0, saveSteps, 5, 1, 5L, null, null, 1, null, null, null, null, null, null);
  }

  private static CausalLm widened(CausalLm half) {
    NDManager m = manager.newSubManager();
    Map<String, NDArray> weights = new LinkedHashMap<>();
    half.weights().forEach((k, v) -> weights.put(k, v.toType(DataType.FLOAT32, false)));
    weights.values().forEach(w -> w.attach(m));
    return CausalLm.of(half.config(), DataType.FLOAT32, m, weights);
  }

  @Test
  void float16TrainingFollowsFloat32(@TempDir Path tmp) throws Exception {
    List<TrainData.Example> data = TrainerTest.copyTask(16, 2, 5, 10, 30, 12);
    // The float32 model holds the float16 model's weights exactly, so only the compute differs.
    try (CausalLm fp16 = ModelInit.random(TrainerTest.tiny(40), 6, 0.1, DataType.FLOAT16, manager);
        CausalLm fp32 = widened(fp16)) {
      new Trainer(TrainOptions.of(config(20, 0)), fp32, data, List.of(), tmp.resolve("fp32")).run(true, s -> { });
      new Trainer(TrainOptions.of(config(20, 0)), fp16, data, List.of(), tmp.resolve("fp16")).run(true, s -> { });
    }
    List<JsonNode> a = TrainerTest.metrics(tmp.resolve("fp32"));
    List<JsonNode> b = TrainerTest.metrics(tmp.resolve("fp16"));
    assertEquals(20, b.size());
    for (int i = 0; i < 20; i++) {
      assertEquals(a.get(i).get("loss").asDouble(), b.get(i).get("loss").asDouble(), 1e-2, "loss at step " + (i + 1));
      assertTrue(b.get(i).has("loss_scale") && !a.get(i).has("loss_scale"));
      assertTrue(b.get(i).get("time_s").get("backward").asDouble() > 0, "per-phase timings are logged");
    }
    assertTrue(a.get(19).get("loss").asDouble() < a.get(0).get("loss").asDouble() - 0.1, "it learns");
  }

  @Test
  void aResumedFloat16RunEqualsTheUninterruptedOneWithItsScale(@TempDir Path tmp) throws Exception {
    List<TrainData.Example> data = TrainerTest.copyTask(16, 2, 5, 10, 30, 13);
    try (CausalLm model = ModelInit.random(TrainerTest.tiny(40), 6, 0.1, DataType.FLOAT16, manager)) {
      new Trainer(TrainOptions.of(config(8, 2)), model, data, List.of(), tmp.resolve("full")).run(true, s -> { });
      Path crashed = tmp.resolve("crashed");
      try {
        new Trainer(TrainOptions.of(config(8, 2)), model, data, List.of(), crashed).run(true, s -> {
          if (s.step() == 5) {
            throw new IllegalStateException("crash after step 5");
          }
        });
      } catch (IllegalStateException expected) {
        // resumed below from step 4
      }
      JsonNode state = TrainerTest.JSON.readTree(crashed.resolve("checkpoints/step-4/trainer_state.json").toFile());
      assertEquals(LossScaler.INIT_SCALE, state.get("loss_scale").asDouble());
      Trainer.Result resumed = new Trainer(TrainOptions.of(config(8, 2)), model, data, List.of(), crashed).run(false, s -> { });
      assertEquals(4, resumed.resumedFrom());
    }
    TrainerTest.assertClose(TrainerTest.adapterValues(tmp.resolve("full/adapter")),
        TrainerTest.adapterValues(tmp.resolve("crashed/adapter")), 1e-6);
    List<JsonNode> full = TrainerTest.metrics(tmp.resolve("full"));
    List<JsonNode> again = TrainerTest.metrics(tmp.resolve("crashed"));
    for (int i = 4; i < 8; i++) {
      assertEquals(full.get(i).get("loss").asDouble(), again.get(i).get("loss").asDouble(), 1e-6);
      assertEquals(full.get(i).get("loss_scale").asDouble(), again.get(i).get("loss_scale").asDouble());
    }
    assertTrue(Files.exists(tmp.resolve("crashed/adapter/adapter_model.safetensors")));
  }

  @Test
  void dtypesResolvePerDeviceAndBfloat16FailsUpFrontWithoutTheEngine() {
    assertEquals(DataType.FLOAT32, Precision.computeType("auto", ai.djl.Device.cpu()));
    assertEquals(DataType.FLOAT16, Precision.computeType("auto", ai.djl.Device.gpu(0)));
    assertEquals(DataType.FLOAT16, Precision.computeType("float16", ai.djl.Device.cpu()));
    InvalidValue bad = org.junit.jupiter.api.Assertions.assertThrows(InvalidValue.class, () -> new TrainConfig(
        "m", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, "half", null, null, null, null, null, null, null, null));
    assertTrue(bad.getMessage().contains("auto, float32, float16, bfloat16"), bad.getMessage());
    InvalidValue skip = org.junit.jupiter.api.Assertions.assertThrows(InvalidValue.class, () -> new TrainConfig(
        "m", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null, null, null, null, "nf4", null, List.of("q_proj", "lm_head")));
    assertTrue(skip.getMessage().contains("quantization_skip_modules") && skip.getMessage().contains("'lm_head'"),
        skip.getMessage());
    // DJL's JNI from Maven Central has no bf16 case: the probe (a child JVM) sees it abort, and the
    // run stops before loading anything, in one line that says what to use instead.
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Precision.computeType("bfloat16", ai.djl.Device.cpu()));
    assertTrue(e.getMessage().startsWith("train.dtype bfloat16: this DJL PyTorch JNI cannot make a bfloat16 tensor")
        && e.getMessage().contains("use train.dtype float16"),
        e.getMessage());
  }
}
