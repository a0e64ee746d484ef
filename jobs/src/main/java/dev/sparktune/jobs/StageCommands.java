package dev.sparktune.jobs;

import dev.sparktune.Pipeline;
import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.RunLock;
import dev.sparktune.core.Sessions;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.StageStatus;
import dev.sparktune.core.Workspace;
import dev.sparktune.report.Report;
import java.io.IOException;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The commands that run stages or read their state: run, one command per stage, status, report. */
final class StageCommands {
  private StageCommands() {}

  /** One line on what a stage does, for its command's help. */
  static String describe(String stage) {
    return switch (stage) {
      case "ingest" -> "Read every configured source (CSV, JSON, HTML pages, SQL dumps, JDBC tables) into the "
          + "canonical record table; unreadable input goes to the rejects table with its reason.";
      case "clean" -> "Normalize text, drop or strip refusal boilerplate (audited, counted per phrase), "
          + "apply quality rules and remove exact and near duplicates; every drop is kept with its reason.";
      case "cluster" -> "Cluster records with k-means on TF-IDF (or MiniLM) features and, as configured, drop "
          + "semantic duplicates within a cluster and cap each cluster's size; writes a table of the clusters.";
      case "tokenize" -> "Render records with the prompt template, tokenize with the base model's "
          + "tokenizer.json, mask the prompt, split train/validation by id hash, and write a Hugging Face dataset.";
      case "train" -> "Fine-tune a LoRA adapter on the tokenized train split in a Spark barrier stage of "
          + "train.num_workers tasks (default 1; AdamW, schedule, eval, checkpoints it resumes from) and write "
          + "it in PEFT format with metrics.";
      default -> throw new IllegalArgumentException("unknown stage " + stage);
    };
  }

  static StageRunner runner(SparktuneConfig config, SparkSession spark, boolean freshTraining) {
    Configuration hadoop = spark != null ? spark.sparkContext().hadoopConfiguration() : hadoopConf(config);
    Workspace ws = new Workspace(config.workDir(), Paths.get(""), hadoop);
    return new StageRunner(spark, ws, Pipeline.stages(config, freshTraining));
  }

  /** The config's spark.hadoop.* properties, for reading the work directory before Spark starts. */
  static Configuration hadoopConf(SparktuneConfig config) {
    Configuration conf = new Configuration();
    for (Map.Entry<String, String> e : config.spark().conf().entrySet()) {
      if (e.getKey().startsWith("spark.hadoop.")) {
        conf.set(e.getKey().substring("spark.hadoop.".length()), e.getValue());
      }
    }
    return conf;
  }

  /** Prints one line per preflight problem; returns whether there were any. */
  static boolean refused(List<String> problems) {
    if (problems.isEmpty()) {
      return false;
    }
    problems.forEach(p -> System.err.println("sparktune: preflight: " + p));
    System.err.println("sparktune: nothing was run (" + problems.size() + " problem"
        + (problems.size() == 1 ? "" : "s") + " above)");
    return true;
  }

  /**
   * Takes the work directory's lock, recovers interrupted commits, runs the preflight checks and
   * only then starts Spark and the stages. A held lock or a failed check ends with exit code 2 and
   * one line per problem, before any Spark job.
   */
  static int runStages(SparktuneConfig config, StageRunner.Options options, boolean freshTraining,
      String command) throws IOException {
    Workspace workspace = new Workspace(config.workDir(), Paths.get(""), hadoopConf(config));
    StageRunner offline = new StageRunner(null, workspace, Pipeline.stages(config, freshTraining));
    RunLock held;
    try {
      held = RunLock.acquire(workspace, command);
    } catch (IOException e) {
      System.err.println("sparktune: preflight: " + e.getMessage());
      return Main.USAGE;
    }
    try (RunLock lock = held) {
      if ("file".equals(workspace.root().toUri().getScheme())) {
        RunLog.open(Paths.get(workspace.root().toUri()), command);
      }
      offline.recoverInterruptedCommits();
      warnAboutMissingStages(config, options);
      if (refused(offline.preflight(options))) {
        return Main.USAGE;
      }
      return runStartedStages(config, options, freshTraining);
    }
  }

  /**
   * A config without a {@code tokenize} (or {@code train}) section has no such stage: say so once
   * rather than stop after the last configured stage without a word.
   */
  private static void warnAboutMissingStages(SparktuneConfig config, StageRunner.Options options) {
    if (options.only() != null || options.to() != null) {
      return;
    }
    if (config.tokenize() == null) {
      System.err.println("sparktune: note: the config has no tokenize section, so the run ends after the "
          + (config.cluster().enabled() ? "cluster" : "clean") + " stage (no tokenize or train stage)");
    } else if (config.train() == null) {
      System.err.println("sparktune: note: the config has no train section, so the run ends after the tokenize "
          + "stage (no train stage)");
    }
  }

  private static int runStartedStages(SparktuneConfig config, StageRunner.Options options, boolean freshTraining) {
    SparkSession spark = Sessions.start(config.spark());
    try {
      List<StageRunner.Outcome> outcomes = runner(config, spark, freshTraining).run(options);
      Workspace ws = new Workspace(config.workDir(), Paths.get(""), spark.sparkContext().hadoopConfiguration());
      RunSummary.print(spark, ws, outcomes);
      try {
        // Stages that were all up to date leave the same report to draw: it stays as it is.
        Report report = new Report(spark, ws, config);
        Path current = report.current();
        System.out.println("report: " + (current != null ? current + " (up to date)" : report.write()));
      } catch (Exception e) {
        // The stages succeeded; a report that cannot be drawn must not fail the run.
        System.err.println("sparktune: warning: could not write the report: " + e);
      }
      return Main.OK;
    } finally {
      spark.stop();
    }
  }

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = "Run the pipeline's stages in order, skipping those whose config and inputs are unchanged. "
          + "The stages are those the config has sections for: tokenize and train need their sections.")
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
    public Integer call() throws IOException {
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

  /** One command per stage, named after it: {@code run --only <stage>}. */
  @Command(mixinStandardHelpOptions = true)
  static final class StageCommand implements Callable<Integer> {
    private final String stage;
    @Mixin ConfigOptions configOptions = new ConfigOptions();
    @Mixin RunOptions runOptions = new RunOptions();

    StageCommand(String stage) {
      this.stage = stage;
    }

    @Override
    public Integer call() throws IOException {
      return runStages(configOptions.load(), new StageRunner.Options(null, null, stage, runOptions.force),
          runOptions.fresh, stage);
    }
  }

  @Command(name = "report", mixinStandardHelpOptions = true,
      description = "Write <work_dir>/report/index.html (one self-contained file: stage counts, drop reasons, "
          + "refusal phrases, clusters, token lengths, training curves with a diagnosis, sample generations) "
          + "from the outputs already in work_dir. `run` writes it too, as its last step, unless nothing changed.")
  static final class ReportCommand implements Callable<Integer> {
    @Mixin ConfigOptions configOptions = new ConfigOptions();

    @Override
    public Integer call() throws Exception {
      SparktuneConfig config = configOptions.load();
      SparkSession spark = Sessions.start(config.spark());
      try {
        Workspace ws = new Workspace(config.workDir(), Paths.get(""), spark.sparkContext().hadoopConfiguration());
        System.out.println("report: " + new Report(spark, ws, config).write());
        return Main.OK;
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
      StageRunner runner = runner(configOptions.load(), null, false);
      for (StageStatus s : runner.status()) {
        String detail = s.upToDate() ? "" : s.reason();
        if (s.manifest() != null) {
          Manifest.Counts c = s.manifest().counts();
          detail += (detail.isEmpty() ? "" : " ") + "[last run " + s.manifest().finishedAt() + ": " + c.out()
              + " out, " + c.rejected() + " rejected, " + c.dropped() + " dropped]";
        }
        System.out.printf("%-10s %-11s %s%n", s.stage(), s.label(), detail);
      }
      return Main.OK;
    }
  }
}
