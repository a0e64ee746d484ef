package dev.sparktune.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.config.TrainConfig;
import dev.sparktune.core.HadoopConf;
import dev.sparktune.core.InputFile;
import dev.sparktune.core.Stage;
import dev.sparktune.core.StageContext;
import dev.sparktune.core.StageOutput;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Torch;
import dev.sparktune.tokenize.TokenizeStage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.apache.spark.sql.catalyst.encoders.RowEncoder;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The train stage: one Spark task loads the base model, reads the tokenize stage's Hugging Face
 * dataset shards and runs the {@link Trainer}. Its {@code data} table lists the examples it was
 * given (id, source, split), a {@code metrics} table holds one row per logged step, and beside them
 * it commits {@code adapter/} (PEFT), {@code best/}, {@code checkpoints/} and {@code metrics.jsonl}.
 * While it runs, checkpoints live in {@code <work_dir>/_train_run/}, so a failed attempt (or a
 * failed run) resumes from the latest one.
 */
public final class TrainStage implements Stage {
  private static final Logger LOG = LoggerFactory.getLogger(TrainStage.class);
  public static final String NAME = "train";
  public static final String METRICS = "metrics";
  static final String RUN_DIR = "_train_run";

  public static final StructType DATA = new StructType(new StructField[] {
      DataTypes.createStructField("id", DataTypes.StringType, false),
      DataTypes.createStructField("source", DataTypes.StringType, false),
      DataTypes.createStructField("split", DataTypes.StringType, false),
  });

  public static final StructType METRICS_SCHEMA = new StructType(new StructField[] {
      DataTypes.createStructField("step", DataTypes.IntegerType, false),
      DataTypes.createStructField("epoch", DataTypes.DoubleType, false),
      DataTypes.createStructField("loss", DataTypes.DoubleType, false),
      DataTypes.createStructField("lr", DataTypes.DoubleType, false),
      DataTypes.createStructField("grad_norm", DataTypes.DoubleType, false),
      DataTypes.createStructField("tokens_per_s", DataTypes.DoubleType, false),
      DataTypes.createStructField("gflops", DataTypes.DoubleType, false),
      DataTypes.createStructField("eval_loss", DataTypes.DoubleType, true),
  });

  private final TrainConfig config;
  private final boolean fresh;

  /** @param fresh ignore checkpoints of an earlier, unfinished run and start over */
  public TrainStage(TrainConfig config, boolean fresh) {
    this.config = config;
    this.fresh = fresh;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int version() {
    return 1;
  }

  @Override
  public Record config() {
    return config;
  }

  @Override
  public List<String> upstream() {
    return List.of(TokenizeStage.NAME);
  }

  @Override
  public Map<String, StructType> requiredInputSchemas() {
    return Map.of(TokenizeStage.NAME, DATA);
  }

  @Override
  public StructType outputSchema() {
    return DATA;
  }

  /** The base model's files: a changed checkpoint makes the stage stale. */
  @Override
  public List<InputFile> externalInputs(StageContext context) throws IOException {
    org.apache.hadoop.fs.Path model = context.workspace().resolve(config.baseModel());
    FileSystem fs = context.workspace().fs(model);
    if (!fs.exists(new org.apache.hadoop.fs.Path(model, "config.json"))) {
      throw new IOException("train.base_model " + config.baseModel() + " (" + model + ") is not a "
          + "Hugging Face model directory (no config.json); make a tiny one with: bin/sparktune "
          + "init-model --tokenizer <tokenizer.json> --out " + config.baseModel());
    }
    List<InputFile> files = new ArrayList<>();
    for (FileStatus st : fs.listStatus(model)) {
      String name = st.getPath().getName();
      if (name.equals("config.json") || name.endsWith(".safetensors") || name.endsWith(".index.json")) {
        files.add(new InputFile(st.getPath().toString(), st.getLen(), st.getModificationTime()));
      }
    }
    return files;
  }

  /** A Hadoop path the task can open with java.nio (local or a POSIX mount). */
  static Path local(org.apache.hadoop.fs.Path p) {
    URI uri = p.toUri();
    if (uri.getScheme() != null && !uri.getScheme().equals("file")) {
      throw new IllegalArgumentException("the train stage needs work_dir and base_model on a local or "
          + "mounted file system (file:), not " + p);
    }
    return Paths.get(uri.getPath());
  }

  @Override
  public StageOutput apply(StageContext context, Map<String, Dataset<Row>> inputs) {
    Dataset<Row> in = inputs.get(TokenizeStage.NAME);
    Dataset<Row> data = in.select("id", "source", "split");
    String dataset = new org.apache.hadoop.fs.Path(context.workspace().stageDir(TokenizeStage.NAME),
        TokenizeStage.DATASET).toString();
    String model = local(context.workspace().resolve(config.baseModel())).toString();
    String runDir = local(new org.apache.hadoop.fs.Path(context.workspace().root(), RUN_DIR)).toString();
    HadoopConf conf = new HadoopConf(context.hadoopConf());
    Dataset<Row> metrics = context.spark().range(0, 1, 1, 1).toDF()
        .mapPartitions(trainTask(config, fresh, dataset, model, runDir, conf),
            ExpressionEncoder.apply(RowEncoder.encoderFor(METRICS_SCHEMA)));
    return new StageOutput(data, null, null, Map.of(METRICS, metrics), in, null);
  }

  /** The task body, built in a static method so the closure holds no stage. */
  static MapPartitionsFunction<Row, Row> trainTask(TrainConfig config, boolean fresh, String dataset,
      String model, String runDir, HadoopConf conf) {
    return rows -> {
      while (rows.hasNext()) {
        rows.next();
      }
      int threads = config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors();
      Torch.setThreads(threads);
      List<TrainData.Example> train = TrainData.read(new org.apache.hadoop.fs.Path(dataset), "train", conf.get());
      List<TrainData.Example> validation = readOptional(dataset, conf);
      Path out = Paths.get(runDir);
      try (NDManager manager = Torch.newManager();
          CausalLm lm = CausalLm.load(Paths.get(model), DataType.FLOAT32, manager)) {
        Trainer trainer = new Trainer(config, lm, train, validation, out);
        LOG.info("train: {} train / {} validation examples, {} steps on {} thread(s)", train.size(),
            validation.size(), trainer.totalSteps(), threads);
        trainer.run(fresh, s -> { });
      }
      return metricRows(out.resolve("metrics.jsonl"));
    };
  }

  private static List<TrainData.Example> readOptional(String dataset, HadoopConf conf) throws IOException {
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(dataset, "validation");
    if (!dir.getFileSystem(conf.get()).exists(dir)) {
      return List.of();
    }
    return TrainData.read(new org.apache.hadoop.fs.Path(dataset), "validation", conf.get());
  }

  static Iterator<Row> metricRows(Path jsonl) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<Row> rows = new ArrayList<>();
    for (String line : Files.readAllLines(jsonl)) {
      JsonNode n = json.readTree(line);
      rows.add(RowFactory.create(n.get("step").asInt(), n.get("epoch").asDouble(), n.get("loss").asDouble(),
          n.get("lr").asDouble(), n.get("grad_norm").asDouble(), n.get("tokens_per_s").asDouble(),
          n.get("gflops").asDouble(), n.hasNonNull("eval_loss") ? n.get("eval_loss").asDouble() : null));
    }
    return rows.iterator();
  }

  /** Moves the finished run's files into the staging folder, so they are committed with the tables. */
  @Override
  public void writeFiles(StageContext context, java.util.function.Function<String, Dataset<Row>> written,
      org.apache.hadoop.fs.Path staging) throws IOException {
    Path run = local(new org.apache.hadoop.fs.Path(context.workspace().root(), RUN_DIR));
    Path target = local(staging);
    Files.createDirectories(target);
    for (String name : List.of("adapter", "best", "checkpoints", "metrics.jsonl")) {
      if (Files.exists(run.resolve(name))) {
        Files.move(run.resolve(name), target.resolve(name));
      }
    }
    try {
      Trainer.deleteTree(run);
    } catch (UncheckedIOException e) {
      LOG.warn("train: could not remove {}: {}", run, e.getMessage());
    }
  }
}
