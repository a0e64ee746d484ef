package dev.sparktune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The one reader and writer of {@code metrics.jsonl}: one JSON object per logged optimizer step
 * ({@code step, epoch, loss, lr, grad_norm, tokens_per_s, gflops}, then {@code eval_loss} and
 * {@code eval_ppl} when the step evaluated, {@code time_s} per phase, {@code loss_scale} in float16
 * runs, {@code skipped} when a float16 step overflowed). Notebooks and users read the file: its
 * format does not change. Also the same lines as rows of the train stage's metrics table.
 */
public final class MetricsLog {
  /** The file's name in the train stage's output (and run) directory. */
  public static final String FILE = "metrics.jsonl";

  /** The metrics table: one row per line of the file ({@code time_s.x} as {@code time_x}). */
  public static final StructType SCHEMA = new StructType(new StructField[] {
      DataTypes.createStructField("step", DataTypes.IntegerType, false),
      DataTypes.createStructField("epoch", DataTypes.DoubleType, false),
      DataTypes.createStructField("loss", DataTypes.DoubleType, false),
      DataTypes.createStructField("lr", DataTypes.DoubleType, false),
      DataTypes.createStructField("grad_norm", DataTypes.DoubleType, false),
      DataTypes.createStructField("tokens_per_s", DataTypes.DoubleType, false),
      DataTypes.createStructField("gflops", DataTypes.DoubleType, false),
      DataTypes.createStructField("eval_loss", DataTypes.DoubleType, true),
      // seconds of the step per phase (metrics.jsonl's time_s); null in runs from before they existed
      DataTypes.createStructField("time_data", DataTypes.DoubleType, true),
      DataTypes.createStructField("time_forward", DataTypes.DoubleType, true),
      DataTypes.createStructField("time_backward", DataTypes.DoubleType, true),
      DataTypes.createStructField("time_optimizer", DataTypes.DoubleType, true),
      DataTypes.createStructField("time_collective", DataTypes.DoubleType, true),
      DataTypes.createStructField("loss_scale", DataTypes.DoubleType, true), // float16 only
      DataTypes.createStructField("skipped", DataTypes.BooleanType, false), // float16 overflow
  });

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;

  /** The log {@code metrics.jsonl} in {@code dir}. */
  public MetricsLog(Path dir) {
    this.file = dir.resolve(FILE);
  }

  public Path file() {
    return file;
  }

  /** Appends one step's line. */
  void append(StepMetrics m) throws IOException {
    Files.writeString(file, toJson(m) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  /** Drops the lines of steps after {@code step} (they are redone after a resume). */
  void truncateAfter(int step) throws IOException {
    if (!Files.exists(file)) {
      return;
    }
    List<String> keep = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      if (!line.isBlank() && JSON.readTree(line).get("step").asInt() <= step) {
        keep.add(line);
      }
    }
    Files.write(file, keep);
  }

  void delete() throws IOException {
    Files.deleteIfExists(file);
  }

  /** Every line of the file, in order. */
  public List<StepMetrics> read() throws IOException {
    return parse(Files.readString(file, StandardCharsets.UTF_8));
  }

  /** Every line of a metrics.jsonl read from elsewhere (another file system), in order. */
  public static List<StepMetrics> read(InputStream in) throws IOException {
    return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
  }

  /** The lines of a metrics.jsonl's text (blank lines ignored). */
  static List<StepMetrics> parse(String text) throws IOException {
    List<StepMetrics> steps = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (!line.isBlank()) {
        steps.add(fromJson(JSON.readTree(line)));
      }
    }
    return steps;
  }

  /** A line as a row of {@link #SCHEMA}. */
  static Row toRow(StepMetrics m) {
    TrainStep.Phases t = m.phases();
    return RowFactory.create(m.step(), m.epoch(), m.loss(), m.lr(), m.gradNorm(), m.tokensPerSecond(),
        m.gflops(), m.evalLoss(), t == null ? null : t.data(), t == null ? null : t.forward(),
        t == null ? null : t.backward(), t == null ? null : t.optimizer(), t == null ? null : t.collective(),
        m.lossScale(), m.skipped());
  }

  static String toJson(StepMetrics m) {
    ObjectNode n = JSON.createObjectNode();
    n.put("step", m.step());
    n.put("epoch", m.epoch());
    n.put("loss", m.loss());
    n.put("lr", m.lr());
    n.put("grad_norm", m.gradNorm());
    n.put("tokens_per_s", m.tokensPerSecond());
    n.put("gflops", m.gflops());
    if (m.evalLoss() != null) {
      n.put("eval_loss", m.evalLoss());
      n.put("eval_ppl", Math.exp(m.evalLoss()));
    }
    if (m.phases() != null) {
      ObjectNode t = n.putObject("time_s");
      t.put("data", m.phases().data());
      t.put("forward", m.phases().forward());
      t.put("backward", m.phases().backward());
      t.put("optimizer", m.phases().optimizer());
      t.put("collective", m.phases().collective());
    }
    if (m.lossScale() != null) {
      n.put("loss_scale", m.lossScale());
    }
    if (m.skipped()) {
      n.put("skipped", true);
    }
    return n.toString();
  }

  private static StepMetrics fromJson(JsonNode n) {
    JsonNode t = n.get("time_s");
    TrainStep.Phases phases = t == null || !t.isObject() ? null : new TrainStep.Phases(t.path("data").asDouble(),
        t.path("forward").asDouble(), t.path("backward").asDouble(), t.path("optimizer").asDouble(),
        t.path("collective").asDouble());
    return new StepMetrics(n.get("step").asInt(), 0, n.get("epoch").asDouble(), n.get("loss").asDouble(),
        n.get("lr").asDouble(), n.get("grad_norm").asDouble(), n.get("tokens_per_s").asDouble(),
        n.get("gflops").asDouble(), orNull(n, "eval_loss"), phases, orNull(n, "loss_scale"),
        n.path("skipped").asBoolean(false));
  }

  private static Double orNull(JsonNode n, String key) {
    return n.hasNonNull(key) ? n.get(key).asDouble() : null;
  }
}
