package dev.sparktune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktune.collective.Collective;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.core.KillPoints;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.model.ModelConfig;
import dev.sparktune.model.Safetensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A run directory's adapters and checkpoints: {@code checkpoints/step-N/} (the adapter, AdamW's
 * moments, {@code trainer_state.json}), each written to a {@code .tmp} folder and renamed into
 * place, so a checkpoint is complete or absent; the latest complete one is what a run resumes from.
 * Only rank 0 writes.
 */
final class Checkpoints {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What a checkpoint restores: the step it was taken after, the adapter and the optimizer state. */
  record Saved(int step, Double bestEvalLoss, LoraAdapter adapter, double[] expAvg, double[] expAvgSq,
      long optimizerSteps, Double lossScale, int lossScaleGoodSteps) {
    void restore(DeviceAdamW optimizer, LossScaler scaler) {
      optimizer.restore(expAvg, expAvgSq, optimizerSteps);
      if (scaler != null && lossScale != null) {
        scaler.restore(lossScale, lossScaleGoodSteps);
      }
    }
  }

  private final Path out;
  private final Path dir;
  private final Collective collective;
  private final String baseModel;
  private final int keep;
  private final JsonNode resolvedConfig;

  /**
   * @param out the run directory
   * @param keep how many of the latest checkpoints to keep
   */
  Checkpoints(Path out, Collective collective, String baseModel, int keep, JsonNode resolvedConfig) {
    this.out = out;
    this.dir = out.resolve("checkpoints");
    this.collective = collective;
    this.baseModel = baseModel;
    this.keep = keep;
    this.resolvedConfig = resolvedConfig;
  }

  /** The step of the latest complete checkpoint under a run directory (0 when none). */
  static int resumeStep(Path out) throws IOException {
    Path latest = latest(out.resolve("checkpoints"));
    return latest == null ? 0 : Integer.parseInt(latest.getFileName().toString().substring(5));
  }

  /** Deletes the checkpoints and the best adapter of an earlier run. */
  void clear() throws IOException {
    deleteTree(dir);
    deleteTree(out.resolve("best"));
  }

  /** Reads checkpoint {@code step}, whose adapter must have been made with {@code lora}. */
  Saved load(int step, LoraConfig lora, ModelConfig model, DataType master, NDManager manager)
      throws IOException {
    Path path = dir.resolve("step-" + step);
    JsonNode state = JSON.readTree(path.resolve("trainer_state.json").toFile());
    LoraAdapter adapter = LoraAdapter.load(path.resolve("adapter"), model, master, manager);
    if (!adapter.config().equals(lora)) {
      throw new IOException("checkpoint " + path + " was made with LoRA " + adapter.config()
          + " but the config now says " + lora + "; rerun with --fresh");
    }
    double[] expAvg;
    double[] expAvgSq;
    try (Safetensors st = Safetensors.open(path.resolve("optimizer.safetensors"));
        NDManager m = manager.newSubManager()) {
      expAvg = st.load("exp_avg", m, DataType.FLOAT64).toDoubleArray();
      expAvgSq = st.load("exp_avg_sq", m, DataType.FLOAT64).toDoubleArray();
    }
    return new Saved(state.get("step").asInt(), state.hasNonNull("best_eval_loss")
        ? state.get("best_eval_loss").asDouble() : null, adapter, expAvg, expAvgSq,
        state.get("optimizer_steps").asLong(), state.has("loss_scale") ? state.get("loss_scale").asDouble() : null,
        state.path("loss_scale_good_steps").asInt());
  }

  /**
   * Checkpoint after {@code step}: every rank contributes its optimizer shard ({@code length} values
   * in all), rank 0 writes it atomically and drops checkpoints beyond the ones to keep.
   */
  void save(int step, int totalSteps, LoraAdapter adapter, DeviceAdamW optimizer, int length,
      LossScaler scaler, Double best, NDManager parent) throws IOException {
    double[] expAvg = new double[length];
    double[] expAvgSq = new double[length];
    optimizer.exportInto(expAvg, expAvgSq);
    collective.allGather(expAvg);
    collective.allGather(expAvgSq);
    if (collective.rank() != 0) {
      return;
    }
    Path target = dir.resolve("step-" + step);
    Path tmp = dir.resolve("step-" + step + ".tmp");
    deleteTree(tmp);
    Files.createDirectories(tmp);
    adapter.save(tmp.resolve("adapter"), baseModel);
    KillPoints.reach("train:checkpoint-" + step);
    try (NDManager m = parent.newSubManager()) {
      Map<String, NDArray> moments = new LinkedHashMap<>();
      moments.put("exp_avg", m.create(expAvg));
      moments.put("exp_avg_sq", m.create(expAvgSq));
      Safetensors.write(tmp.resolve("optimizer.safetensors"), moments, Map.of("format", "sparktune",
          "layout", "flat, in adapter_model.safetensors key order"));
    }
    Files.writeString(tmp.resolve("trainer_state.json"),
        state(step, totalSteps, optimizer, scaler, best).toPrettyString());
    deleteTree(target);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE); // complete or absent, never half-written
    List<Path> all = complete(dir);
    for (int i = 0; i < all.size() - keep; i++) {
      deleteTree(all.get(i));
    }
  }

  private ObjectNode state(int step, int totalSteps, DeviceAdamW optimizer, LossScaler scaler, Double best) {
    ObjectNode state = JSON.createObjectNode();
    state.put("step", step);
    state.put("total_steps", totalSteps);
    state.put("optimizer_steps", optimizer.steps());
    if (scaler != null) {
      state.put("loss_scale", scaler.scale());
      state.put("loss_scale_good_steps", scaler.goodSteps());
    }
    state.put("ranks", collective.size());
    if (best != null) {
      state.put("best_eval_loss", best);
    }
    state.set("config", resolvedConfig);
    return state;
  }

  /** Rank 0 writes {@code adapter} to {@code <out>/<name>/}, replacing what was there at once. */
  void saveAdapter(LoraAdapter adapter, String name) throws IOException {
    if (collective.rank() != 0) {
      return;
    }
    Path tmp = out.resolve(name + ".tmp");
    adapter.save(tmp, baseModel);
    deleteTree(out.resolve(name));
    Files.move(tmp, out.resolve(name), StandardCopyOption.ATOMIC_MOVE);
  }

  static List<Path> complete(Path checkpoints) throws IOException {
    if (!Files.isDirectory(checkpoints)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(checkpoints)) {
      return s.filter(p -> p.getFileName().toString().matches("step-\\d+"))
          .filter(p -> Files.exists(p.resolve("trainer_state.json")))
          .sorted(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().substring(5))))
          .toList();
    }
  }

  static Path latest(Path checkpoints) throws IOException {
    List<Path> all = complete(checkpoints);
    return all.isEmpty() ? null : all.get(all.size() - 1);
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> {
        try {
          Files.delete(f);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }
}
