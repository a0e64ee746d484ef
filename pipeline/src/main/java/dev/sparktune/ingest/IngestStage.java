package dev.sparktune.ingest;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.substring;
import static org.apache.spark.sql.functions.to_json;
import static org.apache.spark.sql.functions.when;

import dev.sparktune.config.IngestConfig;
import dev.sparktune.config.SourceConfig;
import dev.sparktune.core.HadoopConf;
import dev.sparktune.core.InputFile;
import dev.sparktune.core.Schemas;
import dev.sparktune.core.Stage;
import dev.sparktune.core.StageContext;
import dev.sparktune.core.StageOutput;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first stage: reads every configured source into the canonical record table, and every unit it
 * cannot read into the rejects table with its reason.
 */
public final class IngestStage implements Stage {
  public static final String NAME = "ingest";
  private static final Logger LOG = LoggerFactory.getLogger(IngestStage.class);

  private final IngestConfig config;
  private final Map<String, List<InputFile>> files = new LinkedHashMap<>();

  public IngestStage(IngestConfig config) {
    this.config = config;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public int version() {
    return 2; // 2: a conversation is one record with its messages
  }

  @Override
  public IngestConfig config() {
    return config;
  }

  @Override
  public String checkCounts(dev.sparktune.core.Manifest.Counts counts) {
    Double limit = config.maxRejectRatio();
    if (limit == null || counts.in() == 0) {
      return null;
    }
    double ratio = (double) counts.rejected() / counts.in();
    return ratio <= limit ? null : String.format(java.util.Locale.ROOT,
        "%d of %d input records were rejected (%.1f %%), more than ingest.max_reject_ratio %.3f allows; "
            + "see <work_dir>/ingest/rejects", counts.rejected(), counts.in(), 100 * ratio, limit);
  }

  @Override
  public StructType outputSchema() {
    return Schemas.RECORD;
  }

  @Override
  public List<InputFile> externalInputs(StageContext context) throws IOException {
    files.clear();
    List<InputFile> all = new ArrayList<>();
    for (SourceConfig s : config.sources()) {
      List<InputFile> listed;
      if (s.type() == SourceConfig.SourceType.JDBC) {
        // A database table has no cheap change marker: a JDBC source is read again on every run.
        listed = List.of(new InputFile(JdbcSource.uri(s.jdbc()), -1, System.currentTimeMillis()));
      } else {
        listed = InputListing.list(context.workspace(), s.name(), s.path());
      }
      files.put(s.name(), listed);
      all.addAll(listed);
    }
    return all;
  }

  /**
   * The record id: a hash of the content alone (null and "" distinguished), so the same record from
   * two sources or two runs has the same id, and splits by id never move it. A conversation's
   * messages are part of it (and leave the id of any other record as it was).
   */
  static Column contentId() {
    Column[] parts = {
        coalesce(col("instruction"), lit("\u0000")),
        coalesce(col("input"), lit("\u0000")),
        coalesce(col("output"), lit("\u0000")),
        coalesce(col("text"), lit("\u0000")),
    };
    Column fields = concat_ws("\u001f", parts);
    Column withMessages = concat_ws("\u001f", fields, to_json(col("messages")));
    return substring(sha2(when(col("messages").isNull(), fields).otherwise(withMessages), 256), 1, 32);
  }

  /**
   * The sources in the order their tasks should start: the one with the biggest file first. A file
   * that cannot be split is one task, and Spark starts tasks in partition order, so a big one started
   * last would run alone at the end of the stage (the 200k peer corpus: its SQL dump, 4.6 s of a
   * 12 s job on the second core's idle time). Ties keep the configured order; JDBC sources go last.
   */
  private List<SourceConfig> biggestFileFirst(List<SourceConfig> sources) {
    List<SourceConfig> order = new ArrayList<>(sources);
    order.sort(java.util.Comparator.comparingLong((SourceConfig s) -> -files.getOrDefault(s.name(), List.of())
        .stream().mapToLong(InputFile::size).max().orElse(0)));
    return order;
  }

  @Override
  public StageOutput apply(StageContext context, Map<String, Dataset<Row>> inputs) {
    if (files.isEmpty()) {
      try {
        externalInputs(context);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    HadoopConf conf = new HadoopConf(context.hadoopConf());
    Dataset<Row> parsed = null;
    for (SourceConfig s : biggestFileFirst(config.sources())) {
      List<InputFile> sourceFiles = files.get(s.name());
      Dataset<Row> one;
      if (s.type() == SourceConfig.SourceType.JDBC) {
        LOG.info("ingest: source {} (jdbc): {}", s.name(), JdbcSource.uri(s.jdbc()));
        one = JdbcSource.read(context.spark(), s, config.maxSnippetChars(), System::getenv);
      } else {
        LOG.info("ingest: source {} ({}): {} file(s), {} bytes", s.name(), s.type().name().toLowerCase(),
            sourceFiles.size(), sourceFiles.stream().mapToLong(InputFile::size).sum());
        one = SourceRead.read(context.spark(), s, sourceFiles, conf, config.maxSnippetChars());
      }
      parsed = parsed == null ? one : parsed.union(one);
    }
    // Parsed once, read twice (records, rejects). On disk, not in memory: one big file is one
    // partition, and the heap stays small however large it is. Every parsed row is in exactly one of
    // the two tables (reason null or not), so what entered is what they hold: no `entered` table,
    // which cost a third read of the cache, every parsed row deserialized again (0.8 s of 200,000).
    Dataset<Row> cached = parsed.persist(StorageLevel.DISK_ONLY());
    Dataset<Row> data = cached.filter(col("reason").isNull()).select(
        contentId().as("id"), col("source"), col("source_type"), col("uri"), col("locator"),
        col("instruction"), col("input"), col("output"), col("text"), col("meta"), col("messages"));
    Dataset<Row> rejects = cached.filter(col("reason").isNotNull()).select(
        col("source"), col("source_type"), col("uri"), col("locator"), col("reason"), col("detail"), col("raw"));
    return new StageOutput(data, rejects, null, Map.of(), null, cached::unpersist);
  }
}
