package dev.sparktune.jobs;

import dev.sparktune.Pipeline;
import dev.sparktune.config.ConfigException;
import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.RunLock;
import dev.sparktune.core.Sessions;
import dev.sparktune.core.StageFailedException;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.StageStatus;
import dev.sparktune.core.Version;
import dev.sparktune.core.Workspace;
import dev.sparktune.report.Report;
import dev.sparktune.train.MetricsLog;
import dev.sparktune.train.TrainStage;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The sparktune command line, also the main class for {@code spark-submit --class dev.sparktune.jobs.Main}.
 * Exit codes: 0 success, 1 a stage failed, 2 bad usage or config.
 */
@Command(name = "sparktune", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
    description = "Turns raw HTML, CSV, SQL-dump and JSON sources into a clean, tokenized instruction-tuning "
        + "dataset and LoRA-fine-tunes a model on it, with Spark.",
    footer = {"", "Run `sparktune <command> --help` for a command's options.",
        "Outputs go to <work_dir>/<stage>/ with a _manifest.json each; `run` skips stages whose config and "
            + "inputs are unchanged."},
    subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {
  static final int OK = 0;
  static final int STAGE_FAILED = 1;
  static final int USAGE = 2;

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return USAGE;
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs the CLI and returns the exit code (tests call this). */
  public static int execute(String... args) {
    CommandLine cl = commandLine();
    return cl.execute(args);
  }

  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.addSubcommand("run", new RunCommand());
    for (String stage : Pipeline.stageNames()) {
      CommandLine sub = new CommandLine(new StageCommand(stage)).setCommandName(stage);
      sub.getCommandSpec().usageMessage().description(Pipeline.describe(stage),
          "Skipped when up to date; same as `run --only " + stage + "`.");
      cl.addSubcommand(stage, sub);
    }
    cl.addSubcommand("status", new StatusCommand());
    cl.addSubcommand("report", new ReportCommand());
    cl.addSubcommand("bench-ingest", new BenchIngestCommand());
    cl.addSubcommand("bench-clean", new BenchCleanCommand());
    cl.addSubcommand("bench-cluster", new BenchClusterCommand());
    cl.addSubcommand("bench-tokenize", new BenchTokenizeCommand());
    cl.addSubcommand("init-model", new ModelCommands.InitModel());
    cl.addSubcommand("merge", new ModelCommands.Merge());
    cl.addSubcommand("score", new ModelCommands.Score());
    cl.addSubcommand("generate", new ModelCommands.Generate());
    cl.addSubcommand("bench-model", new ModelBench());
    cl.addSubcommand("bench-distributed", new DistributedBench());
    cl.addSubcommand("explain-gpu", new ExplainGpuCommand());
    cl.addSubcommand("bench", new PipelineBench());
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      PrintWriter err = cmd.getErr();
      if (e instanceof ConfigException || e instanceof IllegalArgumentException) {
        err.println("sparktune: error: " + e.getMessage());
        return USAGE;
      }
      if (e instanceof RunLock.HeldException) {
        err.println("sparktune: error: " + e.getMessage());
        return USAGE;
      }
      if (e instanceof java.io.IOException) {
        // Unreadable model, adapter or tokenizer files: the message names the file and the problem.
        err.println("sparktune: error: " + e.getMessage());
        LoggerFactory.getLogger(Main.class).info("error", e); // the trace, for the run's log file
        return STAGE_FAILED;
      }
      if (e instanceof StageFailedException) {
        err.println("sparktune: stage failed: " + e.getMessage());
        LoggerFactory.getLogger(Main.class).info("stage failed", e);
        return STAGE_FAILED;
      }
      err.println("sparktune: failed: " + e);
      java.nio.file.Path log = RunLog.current();
      if (log != null) {
        LoggerFactory.getLogger(Main.class).error("failed", e);
        err.println("sparktune: the stack trace is in " + log);
      } else {
        e.printStackTrace(err);
      }
      return STAGE_FAILED;
    });
    return cl;
  }

  /** Options every command that reads config takes. */
  static final class ConfigOptions {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "conf/local.yaml",
        description = "YAML config (default: ${DEFAULT-VALUE}).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
        description = "Override a config key, e.g. --set ingest.sources[recipes].csv.delimiter=';' or "
            + "--set spark.conf.spark.sql.shuffle.partitions=8. Repeatable.")
    List<String> overrides = new ArrayList<>();

    SparktuneConfig load() {
      return SparktuneConfig.load(config, overrides);
    }
  }

  /** Options of commands that run stages. */
  static final class RunOptions {
    @Option(names = "--force", description = "Rerun even when the output is up to date.")
    boolean force;

    @Option(names = "--fresh", description = "Train from scratch, ignoring the checkpoints of an unfinished "
        + "training run (by default the train stage resumes from its latest checkpoint).")
    boolean fresh;
  }

  static StageRunner runner(SparktuneConfig config, SparkSession spark) {
    return runner(config, spark, false);
  }

  static StageRunner runner(SparktuneConfig config, SparkSession spark, boolean freshTraining) {
    Configuration hadoop = spark != null ? spark.sparkContext().hadoopConfiguration() : hadoopConf(config);
    Workspace ws = new Workspace(config.workDir(), Paths.get(""), hadoop);
    return new StageRunner(spark, ws, Pipeline.stages(config, freshTraining));
  }

  private static Configuration hadoopConf(SparktuneConfig config) {
    Configuration conf = new Configuration();
    for (Map.Entry<String, String> e : config.spark().conf().entrySet()) {
      if (e.getKey().startsWith("spark.hadoop.")) {
        conf.set(e.getKey().substring("spark.hadoop.".length()), e.getValue());
      }
    }
    return conf;
  }

  /**
   * Takes the work directory's lock, recovers interrupted commits, runs the preflight checks and
   * only then starts Spark and the stages. A held lock or a failed check ends with exit code 2 and
   * one line per problem, before any Spark job.
   */
  static int runStages(SparktuneConfig config, StageRunner.Options options, boolean freshTraining,
      String command) throws java.io.IOException {
    Workspace workspace = new Workspace(config.workDir(), Paths.get(""), hadoopConf(config));
    StageRunner offline = new StageRunner(null, workspace, Pipeline.stages(config, freshTraining));
    RunLock held;
    try {
      held = RunLock.acquire(workspace, command);
    } catch (java.io.IOException e) {
      System.err.println("sparktune: preflight: " + e.getMessage());
      return USAGE;
    }
    try (RunLock lock = held) {
      if ("file".equals(workspace.root().toUri().getScheme())) {
        RunLog.open(Paths.get(workspace.root().toUri()), command);
      }
      offline.recoverInterruptedCommits();
      List<String> problems = offline.preflight(options);
      if (!problems.isEmpty()) {
        problems.forEach(p -> System.err.println("sparktune: preflight: " + p));
        System.err.println("sparktune: nothing was run (" + problems.size() + " problem"
            + (problems.size() == 1 ? "" : "s") + " above)");
        return USAGE;
      }
      return runStartedStages(config, options, freshTraining);
    }
  }

  private static int runStartedStages(SparktuneConfig config, StageRunner.Options options, boolean freshTraining) {
    SparkSession spark = Sessions.start(config.spark());
    try {
      StageRunner runner = runner(config, spark, freshTraining);
      List<StageRunner.Outcome> outcomes = runner.run(options);
      printOutcomes(outcomes);
      printClusters(spark, config, outcomes);
      Workspace ws = new Workspace(config.workDir(), Paths.get(""), spark.sparkContext().hadoopConfiguration());
      if (outcomes.stream().anyMatch(o -> o.stage().equals(TrainStage.NAME))) {
        printTraining(spark, ws);
      }
      System.out.println("Outputs are under " + ws.root());
      try {
        System.out.println("report: " + new Report(spark, ws, config).write());
      } catch (Exception e) {
        // The stages succeeded; a report that cannot be drawn must not fail the run.
        System.err.println("sparktune: warning: could not write the report: " + e);
      }
      return OK;
    } finally {
      spark.stop();
    }
  }

  /** After a run that includes the train stage: the last metrics and where the adapter is. */
  static void printTraining(SparkSession spark, Workspace ws) {
    org.apache.hadoop.fs.Path dir = ws.stageDir(TrainStage.NAME);
    List<org.apache.spark.sql.Row> last = spark.read().parquet(ws.table(TrainStage.NAME, TrainStage.METRICS).toString())
        .orderBy(org.apache.spark.sql.functions.col("step").desc()).limit(1).collectAsList();
    if (!last.isEmpty()) {
      org.apache.spark.sql.Row r = last.get(0);
      Object eval = r.get(r.fieldIndex("eval_loss"));
      System.out.printf("train: %d steps, final loss %.4f%s%n", r.<Integer>getAs("step"), r.<Double>getAs("loss"),
          eval == null ? "" : String.format(", eval loss %.4f (perplexity %.2f)", (Double) eval,
              Math.exp((Double) eval)));
    }
    System.out.println("adapter (PEFT): " + new org.apache.hadoop.fs.Path(dir, "adapter"));
    System.out.println("best adapter:   " + new org.apache.hadoop.fs.Path(dir, "best"));
    System.out.println("metrics:        " + new org.apache.hadoop.fs.Path(dir, MetricsLog.FILE));
  }

  /** After a run that includes the cluster stage, the clusters table: what the selection did. */
  static void printClusters(SparkSession spark, SparktuneConfig config, List<StageRunner.Outcome> outcomes) {
    if (outcomes.stream().noneMatch(o -> o.stage().equals(dev.sparktune.cluster.ClusterStage.NAME))) {
      return;
    }
    Workspace ws = new Workspace(config.workDir(), Paths.get(""), spark.sparkContext().hadoopConfiguration());
    String path = ws.table(dev.sparktune.cluster.ClusterStage.NAME, dev.sparktune.cluster.ClusterStage.CLUSTERS)
        .toString();
    List<org.apache.spark.sql.Row> rows = spark.read().parquet(path).orderBy("cluster_id").limit(20).collectAsList();
    System.out.println("clusters (" + path + "):");
    System.out.printf("  %7s %7s %6s  %s%n", "cluster", "before", "after", "top terms");
    for (org.apache.spark.sql.Row r : rows) {
      List<String> terms = r.getList(r.fieldIndex("top_terms"));
      System.out.printf("  %7d %7d %6d  %s%n", r.<Integer>getAs("cluster_id"), r.<Long>getAs("size_before"),
          r.<Long>getAs("size_after"), String.join(", ", terms.subList(0, Math.min(6, terms.size()))));
    }
  }

  static void printOutcomes(List<StageRunner.Outcome> outcomes) {
    System.out.printf("%-10s %-22s %10s %10s %10s %10s %9s%n", "stage", "action", "in", "out", "rejected",
        "dropped", "seconds");
    for (StageRunner.Outcome o : outcomes) {
      Manifest m = o.manifest();
      String action = o.ran() ? "ran" : "skipped (up to date)";
      if (m == null) {
        System.out.printf("%-10s %-22s%n", o.stage(), action);
        continue;
      }
      Manifest.Counts c = m.counts();
      System.out.printf("%-10s %-22s %10d %10d %10d %10d %9s%n", o.stage(), action, c.in(), c.out(),
          c.rejected(), c.dropped(), o.ran() ? String.format("%.1f", m.durationSeconds()) : "-");
    }
  }

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = "Run the pipeline's stages in order, skipping those whose config and inputs are unchanged.")
  static final class RunCommand implements Callable<Integer> {
    @Mixin ConfigOptions configOptions = new ConfigOptions();
    @Mixin RunOptions runOptions = new RunOptions();

    @Option(names = "--from", paramLabel = "STAGE", description = "Start at this stage.")
    String from;

    @Option(names = "--to", paramLabel = "STAGE", description = "Stop after this stage.")
    String to;

    @Option(names = "--only", paramLabel = "STAGE", description = "Run only this stage.")
    String only;

    @Override
    public Integer call() throws java.io.IOException {
      SparktuneConfig config = configOptions.load();
      for (String s : new String[] {from, to, only}) {
        if (s != null && !Pipeline.stageNames().contains(s)) {
          throw new IllegalArgumentException("unknown stage '" + s + "'; stages are "
              + String.join(", ", Pipeline.stageNames()));
        }
      }
      return runStages(config, new StageRunner.Options(from, to, only, runOptions.force), runOptions.fresh, "run");
    }
  }

  @Command(mixinStandardHelpOptions = true)
  static final class StageCommand implements Callable<Integer> {
    private final String stage;
    @Mixin ConfigOptions configOptions = new ConfigOptions();
    @Mixin RunOptions runOptions = new RunOptions();

    StageCommand(String stage) {
      this.stage = stage;
    }

    @Override
    public Integer call() throws java.io.IOException {
      return runStages(configOptions.load(), new StageRunner.Options(null, null, stage, runOptions.force),
          runOptions.fresh, stage);
    }
  }

  @Command(name = "report", mixinStandardHelpOptions = true,
      description = "Write <work_dir>/report/index.html (one self-contained file: stage counts, drop reasons, "
          + "refusal phrases, clusters, token lengths, training curves with a diagnosis, sample generations) "
          + "from the outputs already in work_dir. `run` writes it too, as its last step.")
  static final class ReportCommand implements Callable<Integer> {
    @Mixin ConfigOptions configOptions = new ConfigOptions();

    @Override
    public Integer call() throws Exception {
      SparktuneConfig config = configOptions.load();
      SparkSession spark = Sessions.start(config.spark());
      try {
        Workspace ws = new Workspace(config.workDir(), Paths.get(""), spark.sparkContext().hadoopConfiguration());
        System.out.println("report: " + new Report(spark, ws, config).write());
        return OK;
      } finally {
        spark.stop();
      }
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Show each stage as up to date, stale or missing, with the reason. Starts no Spark job.")
  static final class StatusCommand implements Callable<Integer> {
    @Mixin ConfigOptions configOptions = new ConfigOptions();

    @Override
    public Integer call() {
      SparktuneConfig config = configOptions.load();
      StageRunner runner = runner(config, null);
      for (StageStatus s : runner.status()) {
        String detail = s.upToDate() ? "" : s.reason();
        if (s.manifest() != null) {
          Manifest.Counts c = s.manifest().counts();
          detail += (detail.isEmpty() ? "" : " ") + "[last run " + s.manifest().finishedAt() + ": " + c.out()
              + " out, " + c.rejected() + " rejected, " + c.dropped() + " dropped]";
        }
        System.out.printf("%-10s %-11s %s%n", s.stage(), s.label(), detail);
      }
      return OK;
    }
  }

  /** A bench's body, given the session. */
  interface BenchBody {
    void run(SparkSession spark) throws Exception;
  }

  /** Runs a bench in a fresh quiet session and prints the machine it ran on. */
  static int withBenchSession(String master, BenchBody body) throws Exception {
    SparkSession spark = Sessions.start(new SparktuneConfig.SparkSettings(master, "sparktune-bench",
        Map.of("spark.ui.enabled", "false", "spark.ui.showConsoleProgress", "false",
            "spark.sql.shuffle.partitions", "8")));
    try {
      body.run(spark);
      System.out.println("master " + spark.sparkContext().master() + ", " + Runtime.getRuntime().availableProcessors()
          + " cores, heap " + Runtime.getRuntime().maxMemory() / 1048576 + " MB");
      return OK;
    } finally {
      spark.stop();
    }
  }

  @Command(name = "bench-ingest", mixinStandardHelpOptions = true,
      description = "Benchmark: generate about --mb MB each of CSV, JSON lines, HTML pages and a MySQL dump "
          + "under --dir (kept for reruns) and report ingest records/s and MB/s per source type.")
  static final class BenchIngestCommand implements Callable<Integer> {
    @Option(names = "--mb", defaultValue = "100", description = "Input size per source type (default ${DEFAULT-VALUE}).")
    int mb;

    @Option(names = "--dir", defaultValue = "work/bench-ingest", description = "Where inputs and outputs go.")
    Path dir;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master (default ${DEFAULT-VALUE}).")
    String master;

    @Override
    public Integer call() throws Exception {
      return withBenchSession(master, spark -> {
        List<IngestBench.Result> results = IngestBench.run(spark, dir.toAbsolutePath(), mb);
        System.out.printf("%-6s %10s %8s %9s %12s %8s%n", "type", "records", "MB", "seconds", "records/s", "MB/s");
        for (IngestBench.Result r : results) {
          double mbs = r.bytes() / 1048576.0;
          System.out.printf("%-6s %10d %8.1f %9.1f %12.0f %8.2f%n", r.type(), r.records(), mbs, r.seconds(),
              r.records() / r.seconds(), mbs / r.seconds());
        }
      });
    }
  }

  @Command(name = "bench-clean", mixinStandardHelpOptions = true,
      description = "Benchmark: clean-stage throughput on --records synthetic instruction records (5%% refusal "
          + "boilerplate, 5%% exact and 5%% near duplicates), every rule and both dedups on.")
  static final class BenchCleanCommand implements Callable<Integer> {
    @Option(names = "--records", defaultValue = "100000", description = "Records (default ${DEFAULT-VALUE}).")
    int records;

    @Option(names = "--clean-config", paramLabel = "YAML",
        description = "The clean section to use instead of the bench's (all rules, both dedups), as inline YAML.")
    String cleanYaml;

    @Option(names = "--dir", defaultValue = "work/bench-clean", description = "Where inputs and outputs go.")
    Path dir;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master (default ${DEFAULT-VALUE}).")
    String master;

    @Override
    public Integer call() throws Exception {
      return withBenchSession(master, spark -> {
        Manifest m = CleanBench.run(spark, dir.toAbsolutePath(), records,
            cleanYaml != null ? cleanYaml : CleanBench.DEFAULT_CONFIG);
        System.out.printf("clean: %d records in %.1f s = %.0f records/s; %d out, dropped %s%n", m.counts().in(),
            m.durationSeconds(), m.counts().in() / m.durationSeconds(), m.counts().out(),
            m.counts().droppedByReason());
      });
    }
  }

  @Command(name = "bench-cluster", mixinStandardHelpOptions = true,
      description = "Benchmark: cluster-stage throughput (features + k-means + selection) on --records synthetic "
          + "instruction records.")
  static final class BenchClusterCommand implements Callable<Integer> {
    @Option(names = "--records", defaultValue = "100000", description = "Records (default ${DEFAULT-VALUE}).")
    int records;

    @Option(names = "--cluster-config", paramLabel = "YAML", defaultValue = "{k: '100', max_per_cluster: 2000}",
        description = "The cluster section, as inline YAML (default ${DEFAULT-VALUE}).")
    String clusterYaml;

    @Option(names = "--dir", defaultValue = "work/bench-clean", description = "Where inputs and outputs go.")
    Path dir;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master (default ${DEFAULT-VALUE}).")
    String master;

    @Override
    public Integer call() throws Exception {
      return withBenchSession(master, spark -> {
        Manifest m = CleanBench.runCluster(spark, dir.toAbsolutePath(), records, clusterYaml);
        System.out.printf("cluster: %d records in %.1f s = %.0f records/s; %d out, dropped %s%n", m.counts().in(),
            m.durationSeconds(), m.counts().in() / m.durationSeconds(), m.counts().out(),
            m.counts().droppedByReason());
      });
    }
  }

  @Command(name = "bench-tokenize", mixinStandardHelpOptions = true,
      description = "Benchmark: tokenize-stage tokens/s on --records synthetic records vs. DJL's raw batch-encode "
          + "rate on the same texts.")
  static final class BenchTokenizeCommand implements Callable<Integer> {
    @Option(names = "--records", defaultValue = "100000", description = "Records (default ${DEFAULT-VALUE}).")
    int records;

    @Option(names = "--tokenizer", defaultValue = "conf/samples/tokenizer/tokenizer.json",
        description = "tokenizer.json (default ${DEFAULT-VALUE}).")
    String tokenizer;

    @Option(names = "--dir", defaultValue = "work/bench-clean", description = "Where inputs and outputs go.")
    Path dir;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master (default ${DEFAULT-VALUE}).")
    String master;

    @Override
    public Integer call() throws Exception {
      return withBenchSession(master, spark -> System.out.println(
          CleanBench.runTokenize(spark, dir.toAbsolutePath(), records, Path.of(tokenizer).toAbsolutePath().toString())));
    }
  }

  /** Prints the sparktune and Spark versions. */
  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"sparktune " + Version.get() + " (Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION() + ")"};
    }
  }
}
