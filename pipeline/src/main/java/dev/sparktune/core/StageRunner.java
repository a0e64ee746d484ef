package dev.sparktune.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs stages in pipeline order: skips the ones whose fingerprint matches their manifest, reads and
 * checks their inputs, writes their outputs to a staging folder, checks that every record that
 * entered is accounted for, writes the manifest, and only then swaps the folder into place. A stage
 * that fails leaves the previous output and manifest untouched.
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
  private final Map<String, List<InputFile>> inputCache = new HashMap<>();

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
      StageStatus s = statusOf(stage, expected);
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
        inputsOf(stage);
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
      recoverInterruptedCommit(fs, stage.name());
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
      StageStatus status = statusOf(stage, expected);
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

  // ---------------------------------------------------------------- fingerprints and status

  private List<InputFile> inputsOf(Stage stage) throws IOException {
    List<InputFile> cached = inputCache.get(stage.name());
    if (cached == null) {
      cached = List.copyOf(stage.externalInputs(new StageContext(spark, workspace)));
      inputCache.put(stage.name(), cached);
    }
    return cached;
  }

  private String fingerprint(Stage stage, Map<String, String> upstream, List<InputFile> inputs) {
    Map<String, Object> parts = new TreeMap<>();
    parts.put("stage", stage.name());
    parts.put("stage_version", stage.version());
    parts.put("sparktune_version", Version.get());
    parts.put("config", configJson(stage));
    parts.put("upstream", new TreeMap<>(upstream));
    parts.put("inputs", inputs);
    try {
      byte[] bytes = Manifest.JSON.writeValueAsBytes(parts);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot fingerprint stage " + stage.name(), e);
    }
  }

  private static JsonNode configJson(Stage stage) {
    return Manifest.JSON.valueToTree(stage.config());
  }

  private StageStatus statusOf(Stage stage, Map<String, String> expectedUpstream) {
    Map<String, String> upstream = new TreeMap<>();
    for (String up : stage.upstream()) {
      upstream.put(up, expectedUpstream.get(up));
    }
    List<InputFile> inputs;
    try {
      inputs = inputsOf(stage);
    } catch (IOException | RuntimeException e) {
      return new StageStatus(stage.name(), StageStatus.State.UNKNOWN, "cannot list inputs: " + e.getMessage(), null,
          readManifest(stage.name()));
    }
    String expected = upstream.containsValue(null) ? null : fingerprint(stage, upstream, inputs);
    Manifest manifest = readManifest(stage.name());
    if (manifest == null) {
      return new StageStatus(stage.name(), StageStatus.State.MISSING, "never run", expected, null);
    }
    if (!exists(workspace.table(stage.name(), DATA))) {
      return new StageStatus(stage.name(), StageStatus.State.MISSING, "output deleted", expected, manifest);
    }
    if (expected == null) {
      return new StageStatus(stage.name(), StageStatus.State.STALE, "an upstream stage cannot be checked", null, manifest);
    }
    if (expected.equals(manifest.fingerprint())) {
      return new StageStatus(stage.name(), StageStatus.State.UP_TO_DATE, "up to date", expected, manifest);
    }
    return new StageStatus(stage.name(), StageStatus.State.STALE, staleReason(stage, manifest, upstream, inputs),
        expected, manifest);
  }

  private String staleReason(Stage stage, Manifest m, Map<String, String> upstream, List<InputFile> inputs) {
    List<String> reasons = new ArrayList<>();
    if (!Version.get().equals(m.sparktuneVersion())) {
      reasons.add("sparktune version " + m.sparktuneVersion() + " -> " + Version.get());
    }
    if (stage.version() != m.stageVersion()) {
      reasons.add("stage version " + m.stageVersion() + " -> " + stage.version());
    }
    List<String> changed = new ArrayList<>();
    diff(stage.name(), m.config(), configJson(stage), changed);
    if (!changed.isEmpty()) {
      reasons.add("config changed: " + abbreviate(changed));
    }
    for (Map.Entry<String, String> e : upstream.entrySet()) {
      if (!e.getValue().equals(m.upstream() == null ? null : m.upstream().get(e.getKey()))) {
        reasons.add("upstream " + e.getKey() + " changed");
      }
    }
    String files = diffInputs(m.inputs() == null ? List.of() : m.inputs(), inputs);
    if (files != null) {
      reasons.add(files);
    }
    return reasons.isEmpty() ? "fingerprint changed" : String.join("; ", reasons);
  }

  private static String diffInputs(List<InputFile> before, List<InputFile> now) {
    Map<String, InputFile> old = new LinkedHashMap<>();
    before.forEach(f -> old.put(f.path(), f));
    List<String> added = new ArrayList<>();
    List<String> modified = new ArrayList<>();
    for (InputFile f : now) {
      InputFile o = old.remove(f.path());
      if (o == null) {
        added.add(f.path());
      } else if (!o.equals(f)) {
        modified.add(f.path());
      }
    }
    if (added.isEmpty() && modified.isEmpty() && old.isEmpty()) {
      return null;
    }
    List<String> parts = new ArrayList<>();
    if (!modified.isEmpty()) {
      parts.add(modified.size() + " modified (" + abbreviate(modified) + ")");
    }
    if (!added.isEmpty()) {
      parts.add(added.size() + " added (" + abbreviate(added) + ")");
    }
    if (!old.isEmpty()) {
      parts.add(old.size() + " removed (" + abbreviate(new ArrayList<>(old.keySet())) + ")");
    }
    return "input files " + String.join(", ", parts);
  }

  private static String abbreviate(List<String> items) {
    return items.size() <= 3 ? String.join(", ", items)
        : String.join(", ", items.subList(0, 3)) + " and " + (items.size() - 3) + " more";
  }

  private static void diff(String path, JsonNode a, JsonNode b, List<String> out) {
    if (a != null && b != null && a.isNumber() && b.isNumber()) {
      // 42 read back from a manifest is an IntNode, the live config's Long 42 a LongNode
      if (a.decimalValue().compareTo(b.decimalValue()) != 0) {
        out.add(path);
      }
      return;
    }
    if (a == null || b == null || a.getNodeType() != b.getNodeType()) {
      if (a == null ? b != null : !a.equals(b)) {
        out.add(path);
      }
      return;
    }
    if (a.isObject()) {
      Set<String> keys = new TreeSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        diff(path + "." + k, a.get(k), b.get(k), out);
      }
    } else if (a.isArray() && a.size() == b.size()) {
      for (int i = 0; i < a.size(); i++) {
        diff(path + "[" + i + "]", a.get(i), b.get(i), out);
      }
    } else if (!a.equals(b)) {
      out.add(path);
    }
  }

  private Manifest readManifest(String stage) {
    Path path = workspace.manifest(stage);
    try {
      FileSystem fs = workspace.fs(path);
      return fs.exists(path) ? Manifest.read(fs, path) : null;
    } catch (IOException e) {
      LOG.warn("{}: cannot read manifest {} ({}); treating the stage as not run", stage, path, e.getMessage());
      return null;
    }
  }

  private boolean exists(Path path) {
    try {
      return workspace.fs(path).exists(path);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String shortFp(String fp) {
    return fp == null ? "?" : fp.substring(0, 12);
  }

  // ---------------------------------------------------------------- running one stage

  private Manifest runStage(Stage stage) {
    Instant started = Instant.now();
    Path staging = new Path(workspace.stagingRoot(), stage.name() + "-" + UUID.randomUUID());
    StageOutput output = null;
    try {
      FileSystem fs = workspace.fs(workspace.root());
      recoverInterruptedCommit(fs, stage.name());
      Map<String, String> upstreamFps = new TreeMap<>();
      Map<String, Dataset<Row>> inputs = new LinkedHashMap<>();
      long inputRecords = -1; // the first upstream's output count, for the progress line
      for (String up : stage.upstream()) {
        Manifest um = readManifest(up);
        Path table = workspace.table(up, DATA);
        if (um == null || !fs.exists(table)) {
          throw new IllegalStateException("needs the output of stage " + up
              + ", which does not exist yet; run `sparktune run --to " + up + "` first");
        }
        Dataset<Row> df = spark.read().parquet(table.toString());
        StructType required = stage.requiredInputSchemas().get(up);
        if (required != null) {
          checkHasColumns(df.schema(), required, up + "/" + DATA);
        }
        inputs.put(up, df);
        upstreamFps.put(up, um.fingerprint());
        if (up.equals(stage.upstream().get(0))) {
          inputRecords = um.counts().out();
        }
      }
      List<InputFile> files = inputsOf(stage);
      String fingerprint = fingerprint(stage, upstreamFps, files);
      if (progress != null) {
        progress.begin(stage.name(), inputRecords);
      }

      output = stage.apply(new StageContext(spark, workspace), inputs);
      checkSchema(output.data().schema(), stage.outputSchema(), "data");
      for (Map.Entry<String, Dataset<Row>> loss : losses(output).entrySet()) {
        if (!List.of(loss.getValue().columns()).contains("reason")) {
          throw new IllegalStateException("table " + loss.getKey() + " has no 'reason' column");
        }
      }

      fs.mkdirs(staging);
      Map<String, Long> tables = new TreeMap<>();
      write(output.data(), new Path(staging, DATA));
      for (Map.Entry<String, Dataset<Row>> loss : losses(output).entrySet()) {
        write(loss.getValue(), new Path(staging, loss.getKey()));
      }
      for (Map.Entry<String, Dataset<Row>> extra : output.extras().entrySet()) {
        write(extra.getValue(), new Path(staging, extra.getKey()));
      }
      Manifest.Counts counts = count(stage.name(), output, staging, tables);
      java.util.function.Function<String, Dataset<Row>> written =
          table -> spark.read().parquet(new Path(staging, table).toString());
      Map<String, Map<String, Long>> breakdowns = stage.breakdowns(written);
      stage.writeFiles(new StageContext(spark, workspace), written, staging);
      Instant finished = Instant.now();
      Manifest manifest = new Manifest(stage.name(), fingerprint, Version.get(), stage.version(), configJson(stage),
          upstreamFps, files, counts, tables, breakdowns, started.toString(), finished.toString(),
          Duration.between(started, finished).toMillis() / 1000.0);
      manifest.write(fs, new Path(staging, Workspace.MANIFEST));
      output.release().run();
      output = null;
      KillPoints.reach(stage.name() + ":staged");
      commit(fs, staging, workspace.stageDir(stage.name()));
      if (progress != null) {
        progress.end();
      }
      LOG.info("{}: {} in, {} out, {} rejected, {} dropped in {} s", stage.name(), counts.in(), counts.out(),
          counts.rejected(), counts.dropped(), String.format("%.1f", manifest.durationSeconds()));
      return manifest;
    } catch (Exception e) {
      if (progress != null) {
        progress.abandon();
      }
      // Spark throws SparkException (checked) without declaring it.
      if (output != null) {
        try {
          output.release().run();
        } catch (RuntimeException ignored) {
          // the failure below is what matters
        }
      }
      deleteQuietly(staging);
      if (e instanceof StageFailedException sfe) {
        throw sfe;
      }
      throw new StageFailedException(stage.name(), describe(e) + " (previous output left untouched)", e);
    }
  }

  private static Map<String, Dataset<Row>> losses(StageOutput output) {
    Map<String, Dataset<Row>> losses = new LinkedHashMap<>();
    if (output.rejected() != null) {
      losses.put(REJECTS, output.rejected());
    }
    if (output.dropped() != null) {
      losses.put(DROPPED, output.dropped());
    }
    return losses;
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

  private void write(Dataset<Row> table, Path path) {
    table.write().mode(SaveMode.ErrorIfExists).parquet(path.toString());
  }

  private Manifest.Counts count(String stage, StageOutput output, Path staging, Map<String, Long> tables)
      throws IOException {
    Map<String, long[]> bySource = new TreeMap<>();
    long out = countTable(new Path(staging, DATA), tables, DATA, bySource, 1, null);
    Map<String, Long> rejectedBy = new TreeMap<>();
    Map<String, Long> droppedBy = new TreeMap<>();
    long rejected = output.rejected() == null ? 0
        : countTable(new Path(staging, REJECTS), tables, REJECTS, bySource, 2, rejectedBy);
    long dropped = output.dropped() == null ? 0
        : countTable(new Path(staging, DROPPED), tables, DROPPED, bySource, 3, droppedBy);
    for (String extra : output.extras().keySet()) {
      tables.put(extra, spark.read().parquet(new Path(staging, extra).toString()).count());
    }
    long in = 0;
    Dataset<Row> entered = output.entered();
    boolean perSource = List.of(entered.columns()).contains("source")
        && List.of(output.data().columns()).contains("source");
    if (perSource) {
      for (Row r : entered.groupBy("source").count().collectAsList()) {
        long n = r.getLong(1);
        bySource.computeIfAbsent(String.valueOf(r.get(0)), k -> new long[4])[0] = n;
        in += n;
      }
    } else {
      in = entered.count();
    }
    List<String> broken = new ArrayList<>();
    if (in != out + rejected + dropped) {
      broken.add("in=" + in + ", out=" + out + ", rejected=" + rejected + ", dropped=" + dropped);
    }
    Map<String, Manifest.SourceCounts> sources = new TreeMap<>();
    if (perSource) {
      for (Map.Entry<String, long[]> e : bySource.entrySet()) {
        long[] c = e.getValue();
        sources.put(e.getKey(), new Manifest.SourceCounts(c[0], c[1], c[2], c[3]));
        if (c[0] != c[1] + c[2] + c[3]) {
          broken.add("source " + e.getKey() + ": in=" + c[0] + ", out=" + c[1] + ", rejected=" + c[2]
              + ", dropped=" + c[3]);
        }
      }
    }
    if (!broken.isEmpty()) {
      throw new IllegalStateException("records unaccounted for (in != out + rejected + dropped): "
          + String.join("; ", broken));
    }
    return new Manifest.Counts(in, out, rejected, dropped, rejectedBy, droppedBy, sources);
  }

  private long countTable(Path path, Map<String, Long> tables, String name, Map<String, long[]> bySource, int slot,
      Map<String, Long> byReason) {
    Dataset<Row> df = spark.read().parquet(path.toString());
    List<String> cols = List.of(df.columns());
    long total = 0;
    List<String> keys = new ArrayList<>();
    if (cols.contains("source")) {
      keys.add("source");
    }
    if (byReason != null) {
      keys.add("reason");
    }
    if (keys.isEmpty()) {
      total = df.count();
    } else {
      for (Row r : df.groupBy(keys.stream().map(df::col).toArray(org.apache.spark.sql.Column[]::new))
          .count().collectAsList()) {
        long n = r.getLong(keys.size());
        total += n;
        if (cols.contains("source")) {
          bySource.computeIfAbsent(String.valueOf(r.get(0)), k -> new long[4])[slot] += n;
        }
        if (byReason != null) {
          byReason.merge(String.valueOf(r.get(keys.size() - 1)), n, Long::sum);
        }
      }
    }
    tables.put(name, total);
    return total;
  }

  private static void checkHasColumns(StructType actual, StructType required, String table) {
    for (StructField f : required.fields()) {
      StructField found = find(actual, f.name());
      if (found == null) {
        throw new IllegalStateException(table + " has no column '" + f.name() + "' (columns: "
            + String.join(", ", actual.fieldNames()) + ")");
      }
      if (!DataType.equalsIgnoreNullability(found.dataType(), f.dataType())) {
        throw new IllegalStateException(table + " column '" + f.name() + "' is " + found.dataType().simpleString()
            + ", expected " + f.dataType().simpleString());
      }
    }
  }

  private static void checkSchema(StructType actual, StructType declared, String table) {
    if (!DataType.equalsIgnoreNullability(actual, declared)) {
      throw new IllegalStateException("table " + table + " has schema " + actual.simpleString()
          + " but the stage declares " + declared.simpleString());
    }
  }

  private static StructField find(StructType schema, String name) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    return null;
  }

  // ---------------------------------------------------------------- atomic commit

  private void commit(FileSystem fs, Path staging, Path target) throws IOException {
    Path old = new Path(staging.getParent(), staging.getName() + ".old");
    boolean hadOld = fs.exists(target);
    if (hadOld && !fs.rename(target, old)) {
      throw new IOException("cannot move the previous output " + target + " aside");
    }
    KillPoints.reach(target.getName() + ":aside");
    if (!fs.rename(staging, target)) {
      if (hadOld) {
        fs.rename(old, target);
      }
      throw new IOException("cannot move " + staging + " into place at " + target);
    }
    KillPoints.reach(target.getName() + ":committed");
    if (hadOld) {
      fs.delete(old, true);
    }
  }

  /**
   * Cleans up after a process that died mid-stage: staging folders are deleted, and an old output
   * moved aside by an interrupted commit is put back if nothing replaced it.
   */
  private void recoverInterruptedCommit(FileSystem fs, String stage) throws IOException {
    Path root = workspace.stagingRoot();
    if (!fs.exists(root)) {
      return;
    }
    Path target = workspace.stageDir(stage);
    for (FileStatus st : fs.listStatus(root)) {
      String n = st.getPath().getName();
      if (!n.startsWith(stage + "-")) {
        continue;
      }
      if (n.endsWith(".old") && !fs.exists(target)) {
        LOG.warn("{}: restoring the previous output from an interrupted commit ({})", stage, st.getPath());
        fs.rename(st.getPath(), target);
      } else {
        fs.delete(st.getPath(), true);
      }
    }
  }

  private void deleteQuietly(Path path) {
    try {
      workspace.fs(path).delete(path, true);
    } catch (IOException e) {
      LOG.warn("cannot delete staging folder {}: {}", path, e.getMessage());
    }
  }
}
