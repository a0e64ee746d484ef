package dev.sparktune.core;

import dev.sparktune.config.SparktuneConfig.SparkSettings;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.RuntimeConfig;
import org.apache.spark.sql.SparkSession;

/** Starts (or joins) the Spark session a command runs in. */
public final class Sessions {
  private Sessions() {}

  /**
   * Returns the session for these settings. Under spark-submit the master and any property given on
   * the command line win; otherwise {@code master} from config is used.
   */
  public static SparkSession start(SparkSettings settings) {
    return SparkSession.builder().config(conf(settings)).getOrCreate();
  }

  /**
   * The properties a session starts with: those given to spark-submit (or as {@code spark.*} system
   * properties) first, then the config's {@code spark.conf}, then the defaults below for what neither
   * sets.
   */
  static SparkConf conf(SparkSettings settings) {
    SparkConf conf = new SparkConf(true);
    for (Map.Entry<String, String> e : settings.conf().entrySet()) {
      conf.setIfMissing(e.getKey(), e.getValue());
    }
    if (!conf.contains("spark.master")) {
      conf.setMaster(settings.master());
    }
    if (!conf.contains("spark.app.name")) {
      conf.setAppName(settings.appName());
    }
    // Progress is one line per pipeline stage (Progress), not Spark's [Stage N:===>] bars.
    conf.setIfMissing("spark.ui.showConsoleProgress", "false");
    // On one machine, 200 shuffle partitions cost ~50 ms of task overhead each, and a shuffle read
    // by a cached plan is not coalesced by adaptive execution: default to a few per core there.
    int cores = localCores(conf.get("spark.master"));
    if (cores > 0) {
      conf.setIfMissing("spark.sql.shuffle.partitions", String.valueOf(Math.max(4, 2 * cores)));
      // Cached tables uncompressed: choosing and applying a columnar encoding per batch and column is
      // CPU the cores are short of on one machine (200k corpus: ~1.4 s less wall, ~3 s less CPU), and
      // the stages cache only what their next pass reads; the 1M run still fits 4 GB (docs/benchmarks.md).
      conf.setIfMissing(CACHE_COMPRESSED, "false");
      // Spark's generated code off: Janino and the JIT compile each query's classes again, and on a
      // few cores that compiling takes CPU from the tasks, more than the generated code saves in a
      // local run's short queries; the interpreted operators and expressions are Spark's own
      // classes, compiled once for all queries (and profiled in the AOT cache). 200k corpus: ~1.2 s
      // less wall, ~3.3 s less CPU (docs/benchmarks.md, fifteenth session).
      conf.setIfMissing(WHOLE_STAGE_CODEGEN, "false");
      conf.setIfMissing(CODEGEN_FACTORY_MODE, "NO_CODEGEN");
      // Adaptive execution off: it plans each query again at every shuffle, with jobs of its own,
      // to coalesce partitions and pick joins, where here the shuffles already have a few partitions
      // per core (above) and the stages hint their broadcasts. 200k corpus: ~0.6 s less wall, ~0.8 s
      // with near dedup; the same outputs (docs/benchmarks.md, fifteenth session).
      conf.setIfMissing(ADAPTIVE, "false");
      // Cached tables as binary rows, not columns: see RowBatchSerializer.
      conf.setIfMissing(CACHE_SERIALIZER, RowBatchSerializer.class.getName());
      // A task result over 1 MB (Spark's default) is put in the block manager and fetched from there;
      // in one JVM handing it over directly is cheaper. The k-means iterations return ~2.6 MB of
      // partial sums per task on the 200k corpus: 20 iterations ~0.35 s less (docs/benchmarks.md).
      conf.setIfMissing(DIRECT_RESULT_SIZE, "64m");
    }
    // Cached tables in batches of 1,000 rows, not Spark's 10,000: see CACHE_BATCH_ROWS.
    conf.setIfMissing(CACHE_BATCH_SIZE, String.valueOf(CACHE_BATCH_ROWS));
    // Java serialization keeps every object of a stream reachable until its periodic reset, which
    // runs a small heap out of memory when a large cached partition is read back; Kryo does not.
    conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
    // The train stage's rendezvous is one allGather per attempt; Spark's default waits a year for a
    // missing task. Ten minutes covers loading a large model on every rank.
    conf.setIfMissing("spark.barrier.sync.timeout", "600s");
    return conf;
  }

  /**
   * What {@code work} returns, run with the session's property {@code key} at {@code value}; the
   * property is then as it was (unset again when it was not set). For the properties Spark reads
   * when a plan is declared or a write planned, this gives one call its own value. It relies on the
   * stages running one after the other on the driver's thread: a job planned by another thread in
   * the meantime would see the value too.
   */
  public static <T> T withSetting(SparkSession spark, String key, String value, Supplier<T> work) {
    RuntimeConfig conf = spark.conf();
    scala.Option<String> before = conf.getAll().get(key);
    conf.set(key, value);
    try {
      return work.get();
    } finally {
      if (before.isDefined()) {
        conf.set(key, before.get());
      } else {
        conf.unset(key);
      }
    }
  }

  /** Spark's setting for whether cached tables are compressed (true unless set; false on local masters). */
  public static final String CACHE_COMPRESSED = "spark.sql.inMemoryColumnarStorage.compressed";

  /** Spark's (static) setting for the format of cached tables (RowBatchSerializer on local masters). */
  public static final String CACHE_SERIALIZER = "spark.sql.cache.serializer";

  /** Spark's setting for the largest task result sent to the driver directly (1m unless set; 64m on local masters). */
  public static final String DIRECT_RESULT_SIZE = "spark.task.maxDirectResultSize";

  /** Spark's setting for adaptive query execution (true unless set; false on local masters). */
  public static final String ADAPTIVE = "spark.sql.adaptive.enabled";

  /** Spark's setting for whole-stage code generation (true unless set; false on local masters). */
  public static final String WHOLE_STAGE_CODEGEN = "spark.sql.codegen.wholeStage";

  /**
   * Spark's (internal) setting for how expressions are evaluated: generated code with an interpreted
   * fallback unless set ({@code FALLBACK}); {@code NO_CODEGEN}, interpreted only, on local masters.
   */
  public static final String CODEGEN_FACTORY_MODE = "spark.sql.codegen.factoryMode";

  /** Spark's setting for the rows of one batch of a cached table. */
  public static final String CACHE_BATCH_SIZE = "spark.sql.inMemoryColumnarStorage.batchSize";

  /**
   * Rows per batch of a cached table. While a task caches a partition, Spark checks the memory it
   * holds once every 16 batches, so what a task holds before it is counted grows with the batch: at
   * 10,000 rows a batch of the tokenize stage's token arrays is 30-60 MB, a task held up to ~1 GB it
   * had not accounted for, and 1,000,000 records ran a 4 GB heap out of memory. At 1,000 the same run
   * completes, and the 200,000-record runs are as fast as before (docs/benchmarks.md, ninth session).
   */
  public static final int CACHE_BATCH_ROWS = 1_000;

  /** The cores of a {@code local[N]} / {@code local[*]} / {@code local} master, or 0 for a cluster. */
  static int localCores(String master) {
    if (master.equals("local")) {
      return 1;
    }
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("local\\[(\\*|\\d+)(,\\d+)?\\]").matcher(master);
    if (!m.matches()) {
      return 0;
    }
    return m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(1));
  }
}
