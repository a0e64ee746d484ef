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
import dev.sparktune.collective.Collective;
import dev.sparktune.collective.TcpRing;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.SparkSession;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.runtime.AbstractFunction1;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
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
      // seconds of the step per phase (metrics.jsonl's time_s); null in runs from before they existed
      DataTypes.createStructField("time_data", DataTypes.DoubleType, true),
      DataTypes.createStructField("time_forward", DataTypes.DoubleType, true),
      DataTypes.createStructField("time_backward", DataTypes.DoubleType, true),
      DataTypes.createStructField("time_optimizer", DataTypes.DoubleType, true),
      DataTypes.createStructField("time_collective", DataTypes.DoubleType, true),
      DataTypes.createStructField("loss_scale", DataTypes.DoubleType, true), // float16 only
      DataTypes.createStructField("skipped", DataTypes.BooleanType, false), // float16 overflow
  });

  private final TrainConfig config;
  private final boolean fresh;
  private final String tokenizer;

  /**
   * @param fresh ignore checkpoints of an earlier, unfinished run and start over
   * @param tokenizer the tokenize stage's tokenizer.json (as configured), checked against the base
   *     model before the run starts; null: not checked
   */
  public TrainStage(TrainConfig config, boolean fresh, String tokenizer) {
    this.config = config;
    this.fresh = fresh;
    this.tokenizer = tokenizer;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int version() {
    return 2; // 2: the metrics table gained per-phase times, loss_scale and skipped
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
    String runDir = local(new org.apache.hadoop.fs.Path(context.workspace().root(), RUN_DIR)).toString();
    boolean loopback = spark.sparkContext().master().startsWith("local");
    Task task = new Task(config, fresh, dataset, model, runDir, new HadoopConf(context.hadoopConf()), loopback);
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
    ProgressFollower progress = new ProgressFollower(Paths.get(runDir).resolve("metrics.jsonl"));
    if (!loopback) {
      progress.start();
    }
    return new StageOutput(data, null, null, Map.of(METRICS, metrics), in, progress::stop);
  }

  /** Logs, on the driver, each new line rank 0 appends to metrics.jsonl. */
  static final class ProgressFollower {
    private final Path file;
    private final Thread thread;
    private volatile boolean running = true;

    ProgressFollower(Path file) {
      this.file = file;
      this.thread = new Thread(this::follow, "sparktune-train-progress");
      this.thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    void stop() {
      running = false;
      thread.interrupt();
    }

    private void follow() {
      ObjectMapper json = new ObjectMapper();
      int seen = -1;
      while (running) {
        try {
          Thread.sleep(2000);
          if (!Files.exists(file)) {
            continue;
          }
          List<String> lines = Files.readAllLines(file);
          if (seen < 0) {
            seen = lines.size() - 1; // a resumed run: report from the last line on
          }
          for (int i = Math.max(0, seen); i < lines.size(); i++) {
            JsonNode n = json.readTree(lines.get(i));
            LOG.info(String.format("train progress: step %d, loss %.4f, lr %.3g, %.0f tokens/s%s",
                n.get("step").asInt(), n.get("loss").asDouble(), n.get("lr").asDouble(),
                n.get("tokens_per_s").asDouble(), n.hasNonNull("eval_loss")
                    ? String.format(", eval loss %.4f", n.get("eval_loss").asDouble()) : ""));
          }
          seen = lines.size();
        } catch (InterruptedException e) {
          return;
        } catch (IOException | RuntimeException e) {
          // a line being written, or the run folder being committed: try again on the next tick
        }
      }
    }
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

  /** One training task of the barrier stage (rank = partition id); serializable, holds no stage. */
  static final class Task extends AbstractFunction1<scala.collection.Iterator<Long>,
      scala.collection.Iterator<Row>> implements Serializable {
    private final TrainConfig config;
    private final boolean fresh;
    private final String dataset;
    private final String model;
    private final String runDir;
    private final HadoopConf conf;
    private final boolean loopback;

    Task(TrainConfig config, boolean fresh, String dataset, String model, String runDir, HadoopConf conf,
        boolean loopback) {
      this.config = config;
      this.fresh = fresh;
      this.dataset = dataset;
      this.model = model;
      this.runDir = runDir;
      this.conf = conf;
      this.loopback = loopback;
    }

    @Override
    public scala.collection.Iterator<Row> apply(scala.collection.Iterator<Long> ignored) {
      BarrierTaskContext ctx = BarrierTaskContext.get();
      try {
        List<Row> rows = train(ctx);
        return CollectionConverters.asScala(rows.iterator());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private List<Row> train(BarrierTaskContext ctx) throws IOException {
      int rank = ctx.partitionId();
      int size = ctx.getTaskInfos().length;
      int attempt = ctx.stageAttemptNumber();
      int threads = config.threads() > 0 ? config.threads()
          : Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, size));
      Torch.setThreads(threads);
      Placement placement = placement(ctx);
      String device = placement.description();
      List<TrainData.Example> train = TrainData.read(new org.apache.hadoop.fs.Path(dataset), "train", conf.get());
      List<TrainData.Example> validation = readOptional(dataset, conf);
      Path out = Paths.get(runDir);
      DataType dtype = Precision.computeType(config.dtype(), placement.device());
      try (NDManager manager = Torch.newManager(placement.device());
          CausalLm lm = CausalLm.load(Paths.get(model), dtype, manager)) {
        InetAddress host = loopback ? InetAddress.getLoopbackAddress()
            : InetAddress.getByName(ctx.getTaskInfos()[rank].address().replaceAll(":\\d+$", ""));
        try (ServerSocket server = new ServerSocket(0, 16, host)) {
          Collective collective = Collective.single();
          // Rendezvous, once per attempt: each rank's address, and rank 0's resume point.
          int resume = rank == 0 ? (fresh && attempt == 0 ? -1 : Trainer.resumeStep(out)) : 0;
          String[] all = ctx.allGather(host.getHostAddress() + "|" + server.getLocalPort() + "|" + resume);
          int from = Integer.parseInt(all[0].split("\\|")[2]);
          if (size > 1) {
            List<InetSocketAddress> peers = new ArrayList<>();
            for (String a : all) {
              String[] f = a.split("\\|");
              peers.add(new InetSocketAddress(f[0], Integer.parseInt(f[1])));
            }
            collective = TcpRing.connect(rank, peers, server, "stage-" + ctx.stageId() + "-attempt-" + attempt,
                config.collectiveTimeoutSeconds() * 1000);
          }
          try (Collective c = collective) {
            Trainer trainer = new Trainer(config, lm, train, validation, out, c);
            LOG.info("train: rank {}/{} on {} ({} thread(s)), attempt {}, {} train / {} validation examples, "
                + "{} steps{}", rank, size, device, threads, attempt, train.size(), validation.size(),
                trainer.totalSteps(), from > 0 ? ", resuming at step " + from : "");
            // Where each rank ran, committed with the outputs (ranks/rank-N.json).
            Path ranks = out.resolve("ranks");
            Files.createDirectories(ranks);
            Files.writeString(ranks.resolve("rank-" + rank + ".json"), new ObjectMapper().createObjectNode()
                .put("rank", rank).put("ranks", size).put("device", device).put("threads", threads)
                .put("host", host.getHostAddress()).put("executor", ctx.getTaskInfos()[rank].address())
                .put("attempt", attempt).toPrettyString());
            String inject = System.getProperty(FAULT_PROPERTY);
            trainer.run(from, s -> {
              if (inject != null && attempt == 0 && inject.equals(rank + ":" + s.step())) {
                throw new IllegalStateException("injected failure in rank " + rank + " after step " + s.step());
              }
            });
          }
        }
      }
      List<Row> rows = new ArrayList<>();
      if (rank == 0) {
        metricRows(out.resolve("metrics.jsonl")).forEachRemaining(rows::add);
      }
      return rows;
    }
  }

  /** Where a task computes, and how to say it in the log. */
  record Placement(ai.djl.Device device, String description) {}

  /**
   * The task's device: the first "gpu" address Spark assigned it (through CUDA_VISIBLE_DEVICES when
   * set), else the CPU. With no CUDA build of libtorch the trainer runs on the CPU and says so. The
   * device is always explicit, so tasks sharing an executor never all land on GPU 0.
   */
  static Placement placement(BarrierTaskContext ctx) {
    ResourceInformation gpu = ctx.resources().get("gpu").getOrElse(() -> null);
    if (gpu == null || gpu.addresses().length == 0) {
      return new Placement(ai.djl.Device.cpu(), "cpu");
    }
    String address = gpu.addresses()[0];
    String visible = System.getenv("CUDA_VISIBLE_DEVICES");
    if (visible != null && !visible.isBlank()) {
      List<String> ids = List.of(visible.split(","));
      int index = ids.indexOf(address);
      address = index >= 0 ? String.valueOf(index) : address;
    }
    if (Torch.engine().getGpuCount() == 0) {
      LOG.warn("train: Spark gave this task gpu {} but libtorch sees no CUDA device; training on the CPU",
          gpu.addresses()[0]);
      return new Placement(ai.djl.Device.cpu(), "cpu (gpu " + gpu.addresses()[0] + " assigned, no CUDA)");
    }
    int index = Integer.parseInt(address.trim());
    return new Placement(ai.djl.Device.gpu(index), "gpu " + index);
  }

  /** Test hook: "rank:step" fails that rank after that step, in the stage's first attempt only. */
  public static final String FAULT_PROPERTY = "sparktune.test.failTrainAt";

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
      JsonNode t = n.path("time_s");
      rows.add(RowFactory.create(n.get("step").asInt(), n.get("epoch").asDouble(), n.get("loss").asDouble(),
          n.get("lr").asDouble(), n.get("grad_norm").asDouble(), n.get("tokens_per_s").asDouble(),
          n.get("gflops").asDouble(), orNull(n, "eval_loss"), orNull(t, "data"), orNull(t, "forward"),
          orNull(t, "backward"), orNull(t, "optimizer"), orNull(t, "collective"), orNull(n, "loss_scale"),
          n.path("skipped").asBoolean(false)));
    }
    return rows.iterator();
  }

  private static Double orNull(JsonNode n, String key) {
    return n.hasNonNull(key) ? n.get(key).asDouble() : null;
  }

  /** Moves the finished run's files into the staging folder, so they are committed with the tables. */
  @Override
  public void writeFiles(StageContext context, java.util.function.Function<String, Dataset<Row>> written,
      org.apache.hadoop.fs.Path staging) throws IOException {
    Path run = local(new org.apache.hadoop.fs.Path(context.workspace().root(), RUN_DIR));
    Path target = local(staging);
    Files.createDirectories(target);
    for (String name : List.of("adapter", "best", "checkpoints", "metrics.jsonl", "ranks")) {
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
