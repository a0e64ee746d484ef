package dev.sparktune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.config.TrainConfig;
import dev.sparktune.core.HadoopConf;
import dev.sparktune.core.InputFile;
import dev.sparktune.core.Stage;
import dev.sparktune.core.StageContext;
import dev.sparktune.core.StageOutput;
import dev.sparktune.tokenize.TokenizeStage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag;

/**
 * The train stage: a barrier stage of num_workers tasks ({@link BarrierTask}), each loading the base
 * model and the tokenize stage's Hugging Face dataset shards and running the {@link Trainer} as one
 * rank of a ring. Its {@code data} table lists the examples it was given (id, source, split), a
 * {@code metrics} table holds one row per logged step, and beside them it commits {@code adapter/}
 * (PEFT), {@code best/}, {@code checkpoints/}, {@code metrics.jsonl}, {@code samples.jsonl} (sample
 * generations, see {@link Samples}) and {@code ranks/}.
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

  /** The metrics table's schema: {@link MetricsLog#SCHEMA}. */
  public static final StructType METRICS_SCHEMA = MetricsLog.SCHEMA;

  private final TrainConfig config;
  private final boolean fresh;
  private final String tokenizer;
  private final StepListener listener;

  /** Tokens per row the memory check assumes: tokenize.max_length (set by the pipeline). */
  private int sequenceLength = 2048;

  /** The longest example (tokenize.max_length), for the memory check; returns this stage. */
  public TrainStage withSequenceLength(int tokens) {
    this.sequenceLength = tokens;
    return this;
  }

  /**
   * A train stage for a run: its tasks tell no {@link StepListener}.
   *
   * @param fresh ignore checkpoints of an earlier, unfinished run and start over
   * @param tokenizer the tokenize stage's tokenizer.json (as configured), checked against the base
   *     model before the run starts and used to decode the sample generations; null: neither
   */
  public TrainStage(TrainConfig config, boolean fresh, String tokenizer) {
    this(config, fresh, tokenizer, StepListener.NONE);
  }

  /** @param listener told on every rank after each optimizer step (a test seam) */
  public TrainStage(TrainConfig config, boolean fresh, String tokenizer, StepListener listener) {
    this.config = config;
    this.fresh = fresh;
    this.tokenizer = tokenizer;
    this.listener = listener;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int version() {
    // 2: the metrics table gained per-phase times, loss_scale and skipped; 3: samples.jsonl
    return 3;
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
    if (config.dtype().equals("bfloat16")) {
      // The JNI's dtype mapping is the same on every device: ask on the driver, before any task.
      try {
        Precision.computeType(config.dtype(), ai.djl.Device.cpu());
      } catch (IllegalArgumentException e) {
        throw new IOException(e.getMessage());
      }
    }
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

  /**
   * Before the run: the base model's config.json is readable, the tokenizer's ids fit its embedding,
   * and the work directory has room for a checkpoint and the adapter.
   */
  @Override
  public List<String> preflight(StageContext context) throws IOException {
    List<String> problems = new ArrayList<>();
    org.apache.hadoop.fs.Path modelDir = context.workspace().resolve(config.baseModel());
    dev.sparktune.model.ModelConfig model;
    try {
      model = dev.sparktune.model.ModelConfig.read(local(modelDir));
    } catch (IOException | RuntimeException e) {
      return List.of("train.base_model " + config.baseModel() + ": " + e.getMessage());
    }
    if (tokenizer != null) {
      org.apache.hadoop.fs.Path tok = context.workspace().resolve(tokenizer);
      long tokens;
      try (java.io.InputStream in = context.workspace().fs(tok).open(tok)) {
        tokens = vocabularySize(new ObjectMapper().readTree(in));
      } catch (IOException e) {
        return List.of("tokenize.tokenizer " + tokenizer + " cannot be read: " + e.getMessage());
      }
      if (tokens > model.vocabSize()) {
        problems.add("tokenize.tokenizer " + tokenizer + " has ids up to " + (tokens - 1) + " but train.base_model "
            + config.baseModel() + " embeds only " + model.vocabSize() + " tokens (vocab_size in its config.json): "
            + "use the base model's own tokenizer.json");
      }
    }
    if (config.gpuMemoryGb() != null) {
      MemoryPlan plan = MemoryPlan.of(model, config.lora(), MemoryPlan.setting(config, sequenceLength, true));
      if (!plan.fits(config.gpuMemoryGb())) {
        problems.add(String.format(java.util.Locale.ROOT, "train: the memory plan needs %.2f GiB per GPU, more than"
            + " train.gpu_memory_gb %.1f (bin/sparktune plan shows it; try base_quantization nf4,"
            + " gradient_checkpointing, a smaller micro_batch_size or max_length):%n%s",
            plan.total() / (double) (1L << 30), config.gpuMemoryGb(), plan.table()));
      }
    }
    // A checkpoint holds the adapter and AdamW's two moments in float32, the output one more copy.
    long needed = 16 * dev.sparktune.lora.LoraAdapter.parameterCount(model, config.lora())
        + (64L << 20);
    org.apache.hadoop.fs.Path root = context.workspace().root();
    long free = "file".equals(root.toUri().getScheme())
        ? Files.getFileStore(nearestExisting(Paths.get(root.toUri()))).getUsableSpace()
        : context.workspace().fs(root).getStatus(root).getRemaining();
    if (free < needed) {
      problems.add("work_dir " + root + " has " + (free >> 20) + " MiB free but a checkpoint of this adapter needs "
          + "about " + (needed >> 20) + " MiB");
    }
    return problems;
  }

  /** One more than the largest id of a tokenizer.json's vocabulary and added tokens. */
  static long vocabularySize(JsonNode tokenizer) {
    long max = -1;
    JsonNode vocab = tokenizer.path("model").path("vocab");
    if (vocab.isObject()) {
      for (JsonNode id : (Iterable<JsonNode>) vocab::elements) {
        max = Math.max(max, id.asLong());
      }
    } else if (vocab.isArray()) { // Unigram: [[piece, score], ...]
      max = vocab.size() - 1;
    }
    for (JsonNode added : tokenizer.path("added_tokens")) {
      max = Math.max(max, added.path("id").asLong());
    }
    return max + 1;
  }

  private static Path nearestExisting(Path p) {
    Path q = p.toAbsolutePath();
    while (q != null && !Files.exists(q)) {
      q = q.getParent();
    }
    return q == null ? Paths.get("/") : q;
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
    SparkSession spark = context.spark();
    int workers = config.numWorkers();
    checkSlots(spark, workers);
    String dataset = new org.apache.hadoop.fs.Path(context.workspace().stageDir(TokenizeStage.NAME),
        TokenizeStage.DATASET).toString();
    String model = local(context.workspace().resolve(config.baseModel())).toString();
    String tok = tokenizer == null ? null : context.workspace().resolve(tokenizer).toString();
    String runDir = local(new org.apache.hadoop.fs.Path(context.workspace().root(), RUN_DIR)).toString();
    boolean loopback = spark.sparkContext().master().startsWith("local");
    BarrierTask task = new BarrierTask(config, fresh, new BarrierTask.Locations(dataset, model, tok, runDir),
        new HadoopConf(context.hadoopConf()), loopback, listener);
    // A barrier stage of N tasks, followed by a shuffle: a failed barrier *shuffle-map* stage is
    // retried whole by Spark (a failed barrier result stage would abort the job), and each new
    // attempt resumes from the latest checkpoint.
    JavaRDD<Row> trained = spark.range(0, workers, 1, workers).javaRDD()
        .rdd().barrier().mapPartitions(task, false, ClassTag.apply(Row.class)).toJavaRDD()
        .repartition(1);
    Dataset<Row> metrics = spark.createDataFrame(trained, METRICS_SCHEMA);
    // The ranks log on their executors; the driver follows rank 0's metrics.jsonl on the shared
    // run folder and logs each new line, until the stage's outputs are written.
    // (In local mode the ranks' own log lines already reach this console.)
    ProgressFollower progress = new ProgressFollower(new MetricsLog(Paths.get(runDir)));
    if (!loopback) {
      progress.start();
    }
    return new StageOutput(data, null, null, Map.of(METRICS, metrics), in, progress::stop);
  }

  /** Fails fast when the barrier stage cannot get all its slots at once (Spark would retry for minutes). */
  static void checkSlots(SparkSession spark, int workers) {
    SparkConf conf = spark.sparkContext().getConf();
    if (workers > 1 && conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
      throw new IllegalArgumentException("train.num_workers = " + workers + " runs a barrier stage, which "
          + "needs spark.dynamicAllocation.enabled=false (set it, and a fixed spark.executor.instances)");
    }
    String master = spark.sparkContext().master();
    int slots;
    if (master.startsWith("local")) {
      slots = spark.sparkContext().defaultParallelism();
    } else {
      int executors = Math.max(1, spark.sparkContext().statusTracker().getExecutorInfos().length - 1);
      int cores = conf.getInt("spark.executor.cores", 1) / Math.max(1, conf.getInt("spark.task.cpus", 1));
      slots = executors * Math.max(1, cores);
    }
    if (workers > slots) {
      throw new IllegalArgumentException("train.num_workers = " + workers + " but the cluster has "
          + slots + " task slot(s) (" + master + "); a barrier stage needs all its tasks running at once: "
          + "lower num_workers or add executors/cores");
    }
  }

  /** Moves the finished run's files into the staging folder, so they are committed with the tables. */
  @Override
  public void writeFiles(StageContext context, java.util.function.Function<String, Dataset<Row>> written,
      org.apache.hadoop.fs.Path staging) throws IOException {
    Path run = local(new org.apache.hadoop.fs.Path(context.workspace().root(), RUN_DIR));
    Path target = local(staging);
    Files.createDirectories(target);
    for (String name : List.of("adapter", "best", "checkpoints", MetricsLog.FILE, Samples.FILE, "ranks")) {
      if (Files.exists(run.resolve(name))) {
        Files.move(run.resolve(name), target.resolve(name));
      }
    }
    try {
      Checkpoints.deleteTree(run);
    } catch (UncheckedIOException e) {
      LOG.warn("train: could not remove {}: {}", run, e.getMessage());
    }
  }
}
