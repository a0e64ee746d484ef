package dev.sparktune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.sparktune.collective.LoopbackRanks;
import dev.sparktune.config.TrainConfig;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.ModelInit;
import dev.sparktune.model.Safetensors;
import dev.sparktune.model.Torch;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** Two ranks (threads of one JVM, each with its own model, joined by the TCP ring) vs one. */
class DistributedTrainerTest {

  static double[] flat(Path checkpoint, String name) throws Exception {
    try (Safetensors st = Safetensors.open(checkpoint.resolve("optimizer.safetensors"));
        NDManager m = Torch.newManager()) {
      return st.load(name, m, DataType.FLOAT64).toDoubleArray();
    }
  }

  static double relativeDifference(double[] a, double[] b) {
    double diff = 0;
    double norm = 0;
    for (int i = 0; i < a.length; i++) {
      diff += (a[i] - b[i]) * (a[i] - b[i]);
      norm += b[i] * b[i];
    }
    return Math.sqrt(diff / norm);
  }

  /** With dropout the masks are keyed by (seed, step, example, module), so placement cannot matter. */
  @ParameterizedTest(name = "lora.dropout {0}")
  @ValueSource(doubles = {0.0, 0.1})
  void twoRanksEqualOneRankWithTheSameGlobalBatch(double dropout, @TempDir Path tmp) throws Exception {
    TrainerTest.start();
    List<TrainData.Example> data = TrainerTest.copyTask(40, 1, 6, 10, 30, 21);
    List<TrainData.Example> val = TrainerTest.copyTask(6, 1, 6, 10, 30, 22);
    List<String> targets = List.of("all-linear");
    // Global batch 4 either way: one rank × micro 2 × accum 2, or two ranks × micro 1 × accum 2.
    TrainConfig single = TrainerTest.withDropout(TrainerTest.config(2, 2, 5, "cosine", 5e-3, 5, targets, 4),
        dropout);
    TrainConfig perRank = TrainerTest.withDropout(TrainerTest.config(1, 2, 5, "cosine", 5e-3, 5, targets, 4),
        dropout);
    try (CausalLm model = ModelInit.random(TrainerTest.tiny(40), 3, DataType.FLOAT32, TrainerTest.manager)) {
      new Trainer(TrainOptions.of(single), model, data, val, tmp.resolve("one")).run(true, s -> { });
    }
    runRanks(2, perRank, data, val, tmp.resolve("two"));

    Map<String, float[]> one = TrainerTest.adapterValues(tmp.resolve("one/adapter"));
    Map<String, float[]> two = TrainerTest.adapterValues(tmp.resolve("two/adapter"));
    for (String k : one.keySet()) {
      double[] a = toDouble(two.get(k));
      double[] b = toDouble(one.get(k));
      double rel = relativeDifference(a, b);
      assertTrue(rel < 1e-5, k + " differs by " + rel + " (relative)");
    }
    for (String moment : List.of("exp_avg", "exp_avg_sq")) {
      double rel = relativeDifference(flat(tmp.resolve("two/checkpoints/step-5"), moment),
          flat(tmp.resolve("one/checkpoints/step-5"), moment));
      assertTrue(rel < 1e-5, moment + ": the gathered shards differ from the single-rank state by " + rel);
    }
    List<com.fasterxml.jackson.databind.JsonNode> m1 = TrainerTest.metrics(tmp.resolve("one"));
    List<com.fasterxml.jackson.databind.JsonNode> m2 = TrainerTest.metrics(tmp.resolve("two"));
    assertEquals(m1.size(), m2.size());
    assertEquals(m1.get(4).get("eval_loss").asDouble(), m2.get(4).get("eval_loss").asDouble(), 1e-5);
  }

  static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  /** Runs {@code n} ranks as threads, each loading its own copy of the same model. */
  static void runRanks(int n, TrainConfig config, List<TrainData.Example> data, List<TrainData.Example> val,
      Path out) throws Exception {
    List<Object> results = LoopbackRanks.run(n, 20_000, ring -> {
      try (NDManager m = Torch.newManager();
          CausalLm model = ModelInit.random(TrainerTest.tiny(40), 3, DataType.FLOAT32, m)) {
        new Trainer(TrainOptions.of(config), model, data, val, out, ring).run(-1, s -> { });
      }
      return "done";
    });
    for (Object r : results) {
      assertEquals("done", r, String.valueOf(r));
    }
  }
}
