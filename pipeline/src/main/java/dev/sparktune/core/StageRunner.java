package dev.sparktune.core;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs stages in pipeline order: skips the ones whose fingerprint matches their manifest
 * ({@link Fingerprints}), reads and checks their inputs and writes their outputs to a staging folder
 * ({@link StageTables}), checks that every record that entered is accounted for
 * ({@link StageAccounting}), writes the manifest, and only then swaps the folder into place
 * ({@link OutputCommit}). A stage that fails leaves the previous output and manifest untouched.
 */
public final class StageRunner {
  public static final String DATA = "data";
  public static final String REJECTS = "rejects";
  public static final String DROPPED = "dropped";

  private static final Logger LOG = LoggerFactory.getLogger(StageRunner.class);

  private final SparkSession spark;
  private final Progress progress;
  private final Workspace workspace;
  private final List<Stage> stages;
  private final Fingerprints fingerprints;
  private final StageTables tables;
  private final StageAccounting accounting;
  private final OutputCommit commit;

  /** What to run. {@code only} wins over {@code from}/{@code to}; null means unbounded. */
  public record Options(String from, String to, String only, boolean force) {
    public static Options all() {
      return new Options(null, null, null, false);
    }
  }

  /** What happened to one stage in a run. */
  public record Outcome(String stage, boolean ran, String reason, Manifest manifest) {}

  public StageRunner(SparkSession spark, Workspace workspace, List<Stage> stages) {
    this.spark = spark;
    this.progress = spark == null ? null : Progress.of(spark); // status runs without Spark
    this.workspace = workspace;
    this.stages = List.copyOf(stages);
    this.fingerprints = new Fingerprints(spark, workspace);
    this.tables = new StageTables(spark, workspace, fingerprints);
    this.accounting = new StageAccounting(spark);
    this.commit = new OutputCommit(workspace);
    Set<String> seen = new TreeSet<>();
    for (Stage s : stages) {
      for (String up : s.upstream()) {
        if (!seen.contains(up)) {
          throw new IllegalArgumentException("stage " + s.name() + " reads " + up + ", which does not come before it");
        }
      }
      seen.add(s.name());
    }
  }

  public List<String> stageNames() {
    return stages.stream().map(Stage::name).toList();
  }

  /** The status of every stage, as {@code sparktune status} shows it. */
  public List<StageStatus> status() {
    Map<String, String> expected = new HashMap<>();
    List<StageStatus> out = new ArrayList<>();
    for (Stage stage : stages) {
      StageStatus s = fingerprints.statusOf(stage, expected);
      expected.put(stage.name(), s.expectedFingerprint());
      out.add(s);
    }
    return out;
  }

  /** The first and last index of the stages {@code options} selects. */
  private int[] range(Options options) {
    int first = 0;
    int last = stages.size() - 1;
    if (options.only() != null) {
      first = last = indexOf(options.only());
    } else {
      if (options.from() != null) {
        first = indexOf(options.from());
      }
      if (options.to() != null) {
        last = indexOf(options.to());
      }
      if (first > last) {
        throw new IllegalArgumentException("--from " + options.from() + " comes after --to " + options.to());
      }
    }
    return new int[] {first, last};
  }

  /**
   * What would stop the selected stages before they start, one line each naming the stage and the
   * file or key at fault: inputs that do not exist or cannot be read ({@link Stage#externalInputs})
   * and each stage's own {@link Stage#preflight} checks. Starts no Spark job; empty when all is well.
   */
  public List<String> preflight(Options options) {
    int[] range = range(options);
    List<String> problems = new ArrayList<>();
    StageContext context = new StageContext(spark, workspace);
    for (int i = range[0]; i <= range[1]; i++) {
      Stage stage = stages.get(i);
      try {
        fingerprints.inputsOf(stage);
        for (String p : stage.preflight(context)) {
          problems.add(stage.name() + ": " + p);
        }
      } catch (IOException | RuntimeException e) {
        problems.add(stage.name() + ": " + describe(e));
      }
    }
    return problems;
  }

  /**
   * Cleans up after runs that died mid-stage, for every stage: their staging folders are deleted,
   * and an old output moved aside by an interrupted commit is put back if nothing replaced it. Only
   * safe while holding the work directory's {@link RunLock}.
   */
  public void recoverInterruptedCommits() throws IOException {
    FileSystem fs = workspace.fs(workspace.root());
    for (Stage stage : stages) {
      commit.recover(fs, stage.name());
    }
  }

  /** Runs the selected stages in order, skipping those that are up to date unless forced. */
  public List<Outcome> run(Options options) {
    int[] range = range(options);
    int first = range[0];
    int last = range[1];
    Map<String, String> expected = new HashMap<>();
    Set<String> current = new TreeSet<>();
    List<Outcome> outcomes = new ArrayList<>();
    for (int i = 0; i < stages.size(); i++) {
      Stage stage = stages.get(i);
      StageStatus status = fingerprints.statusOf(stage, expected);
      expected.put(stage.name(), status.expectedFingerprint());
      if (i < first || i > last) {
        if (status.upToDate()) {
          current.add(stage.name());
        }
        continue;
      }
      if (status.upToDate() && !options.force()) {
        LOG.info("{}: up to date (fingerprint {}), skipped", stage.name(), shortFp(status.expectedFingerprint()));
        outcomes.add(new Outcome(stage.name(), false, "up to date", status.manifest()));
        current.add(stage.name());
        check(stage, status.manifest());
        continue;
      }
      for (String up : stage.upstream()) {
        if (!current.contains(up)) {
          LOG.warn("{}: upstream stage {} is not up to date; reading its existing output "
              + "(run with --from {} to refresh it)", stage.name(), up, up);
        }
      }
      String why = options.force() ? "forced" : status.reason();
      LOG.info("{}: running ({})", stage.name(), why);
      Manifest m = runStage(stage);
      outcomes.add(new Outcome(stage.name(), true, why, m));
      check(stage, m);
      if (m.fingerprint().equals(status.expectedFingerprint())) {
        current.add(stage.name());
      }
    }
    return outcomes;
  }

  /** A stage's own limits on its committed output (e.g. too many rejects) stop the run before later stages. */
  private static void check(Stage stage, Manifest m) {
    String problem = m == null ? null : stage.checkCounts(m.counts());
    if (problem != null) {
      throw new StageFailedException(stage.name(), problem + " (its output is written, with the reasons; "
          + "later stages did not run)", null);
    }
  }

  private int indexOf(String name) {
    for (int i = 0; i < stages.size(); i++) {
      if (stages.get(i).name().equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException("unknown stage '" + name + "'; stages are " + String.join(", ", stageNames()));
  }

  private static String shortFp(String fp) {
    return fp == null ? "?" : fp.substring(0, 12);
  }

  // ---------------------------------------------------------------- running one stage

  private Manifest runStage(Stage stage) {
    Instant started = Instant.now();
    Path staging = commit.newStaging(stage.name());
    StageOutput output = null;
    try {
      FileSystem fs = workspace.fs(workspace.root());
      commit.recover(fs, stage.name());
      StageTables.Upstream upstream = tables.readUpstream(fs, stage);
      List<InputFile> files = fingerprints.inputsOf(stage);
      String fingerprint = fingerprints.fingerprint(stage, upstream.fingerprints(), files);
      if (progress != null) {
        progress.begin(stage.name(), upstream.records());
      }

      output = stage.apply(new StageContext(spark, workspace), upstream.tables());
      StageTables.checkOutput(output, stage.outputSchema());

      fs.mkdirs(staging);
      StageTables.write(output, staging);
      Manifest manifest = stageManifest(fs, stage, output, staging, started, fingerprint, upstream, files);
      output.release().run();
      output = null;
      KillPoints.reach(stage.name() + ":staged");
      commit.commit(fs, staging, stage.name());
      if (progress != null) {
        progress.end();
      }
      Manifest.Counts counts = manifest.counts();
      LOG.info("{}: {} in, {} out, {} rejected, {} dropped in {} s", stage.name(), counts.in(), counts.out(),
          counts.rejected(), counts.dropped(), String.format("%.1f", manifest.durationSeconds()));
      return manifest;
    } catch (Exception e) { // Spark throws SparkException (checked) without declaring it
      throw failed(stage, output, staging, e);
    }
  }

  /**
   * Counts the staged tables, lets the stage compute its breakdowns and write its own files into
   * the staging folder, and writes the manifest there: the stage's output is then complete.
   */
  private Manifest stageManifest(FileSystem fs, Stage stage, StageOutput output, Path staging, Instant started,
      String fingerprint, StageTables.Upstream upstream, List<InputFile> files) throws IOException {
    Map<String, Long> tableCounts = new TreeMap<>();
    Manifest.Counts counts = accounting.count(output, staging, tableCounts);
    Function<String, Dataset<Row>> written = table -> StageTables.readWritten(spark, output, staging, table);
    Map<String, Map<String, Long>> breakdowns = stage.breakdowns(written);
    stage.writeFiles(new StageContext(spark, workspace), written, staging);
    Instant finished = Instant.now();
    Manifest manifest = new Manifest(stage.name(), fingerprint, Version.get(), stage.version(),
        Fingerprints.configJson(stage), upstream.fingerprints(), files, counts, tableCounts, breakdowns,
        started.toString(), finished.toString(), Duration.between(started, finished).toMillis() / 1000.0);
    manifest.write(fs, new Path(staging, Workspace.MANIFEST));
    return manifest;
  }

  /** Cleans up after a failed stage (its output released, its staging folder deleted) and says why it failed. */
  private StageFailedException failed(Stage stage, StageOutput output, Path staging, Exception e) {
    if (progress != null) {
      progress.abandon();
    }
    if (output != null) {
      try {
        output.release().run();
      } catch (RuntimeException ignored) {
        // the failure below is what matters
      }
    }
    commit.deleteQuietly(staging);
    if (e instanceof StageFailedException sfe) {
      return sfe;
    }
    return new StageFailedException(stage.name(), describe(e) + " (previous output left untouched)", e);
  }

  /** The most useful message of a Spark failure: the root cause's, not the job-abort wrapper's. */
  static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    if (root != e && e.getMessage() != null && !(e.getClass().getName().startsWith("org.apache.spark"))) {
      return e.getMessage().equals(msg) ? msg : e.getMessage() + ": " + msg;
    }
    return msg;
  }
}
