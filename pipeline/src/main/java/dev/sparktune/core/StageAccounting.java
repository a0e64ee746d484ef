package dev.sparktune.core;

import static dev.sparktune.core.StageRunner.DATA;
import static dev.sparktune.core.StageRunner.DROPPED;
import static dev.sparktune.core.StageRunner.REJECTS;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;

/**
 * Counts a stage's staged output tables: records in, out, rejected and dropped (by reason, and per
 * source where the tables have a {@code source} column), and checks that every record that entered
 * is accounted for: {@code in == out + rejected + dropped}, in total and per source.
 */
final class StageAccounting {
  private final SparkSession spark;

  StageAccounting(SparkSession spark) {
    this.spark = spark;
  }

  /**
   * The counts of the tables written under {@code staging}; each table's row count goes into
   * {@code tables}. One aggregation counts them all (and what entered) by table, source and reason:
   * a query per table cost a few Spark jobs each, which added up to seconds per stage. A stage that
   * creates its records (ingest) gives no {@code entered} table: what entered is what it wrote.
   */
  Manifest.Counts count(StageOutput output, Path staging, Map<String, Long> tables) {
    Dataset<Row> entered = output.entered();
    boolean perSource = (entered == null || List.of(entered.columns()).contains("source"))
        && List.of(output.data().columns()).contains("source");
    List<String> names = new ArrayList<>();
    names.add(DATA);
    if (output.rejected() != null) {
      names.add(REJECTS);
    }
    if (output.dropped() != null) {
      names.add(DROPPED);
    }
    names.addAll(output.extras().keySet());
    Dataset<Row> all = entered == null ? null : keyed(entered, -1, perSource, false);
    for (int t = 0; t < names.size(); t++) {
      Dataset<Row> table = StageTables.readWritten(spark, output, staging, names.get(t));
      String name = names.get(t);
      Dataset<Row> rows = keyed(table, t, List.of(table.columns()).contains("source"),
          name.equals(REJECTS) || name.equals(DROPPED));
      all = all == null ? rows : all.unionAll(rows);
    }
    Map<String, long[]> bySource = new TreeMap<>();
    Map<String, Long> rejectedBy = new TreeMap<>();
    Map<String, Long> droppedBy = new TreeMap<>();
    long in = 0;
    for (String name : names) {
      tables.put(name, 0L);
    }
    for (Row r : all.groupBy("_t", "_s", "_r").count().collectAsList()) {
      int t = r.getInt(0);
      long n = r.getLong(3);
      String name = t < 0 ? null : names.get(t);
      int slot = t < 0 ? 0 : name.equals(DATA) ? 1 : name.equals(REJECTS) ? 2 : name.equals(DROPPED) ? 3 : -1;
      if (t < 0) {
        in += n;
      } else {
        tables.merge(name, n, Long::sum);
      }
      if (slot >= 0 && !r.isNullAt(1)) {
        bySource.computeIfAbsent(r.getString(1), k -> new long[4])[slot] += n;
      }
      if (slot == 2 || slot == 3) {
        (slot == 2 ? rejectedBy : droppedBy).merge(String.valueOf(r.get(2)), n, Long::sum);
      }
    }
    long out = tables.get(DATA);
    long rejected = tables.getOrDefault(REJECTS, 0L);
    long dropped = tables.getOrDefault(DROPPED, 0L);
    if (entered == null) { // a source stage: what entered is what it wrote
      in = out + rejected + dropped;
      bySource.values().forEach(c -> c[0] = c[1] + c[2] + c[3]);
    }
    Map<String, Manifest.SourceCounts> sources = perSource ? sourceCounts(bySource) : new TreeMap<>();
    checkAccounted(in, out, rejected, dropped, sources);
    return new Manifest.Counts(in, out, rejected, dropped, rejectedBy, droppedBy, sources);
  }

  /**
   * A table's rows as (table, source, reason); table -1 is what entered. A null source counts under
   * "null", as {@code String.valueOf} names it.
   */
  private static Dataset<Row> keyed(Dataset<Row> table, int t, boolean source, boolean reason) {
    Column nullText = lit(null).cast(DataTypes.StringType);
    return table.select(lit(t).as("_t"),
        source ? coalesce(col("source").cast(DataTypes.StringType), lit("null")).as("_s") : nullText.as("_s"),
        reason ? col("reason").cast(DataTypes.StringType).as("_r") : nullText.as("_r"));
  }

  private static Map<String, Manifest.SourceCounts> sourceCounts(Map<String, long[]> bySource) {
    Map<String, Manifest.SourceCounts> sources = new TreeMap<>();
    for (Map.Entry<String, long[]> e : bySource.entrySet()) {
      long[] c = e.getValue();
      sources.put(e.getKey(), new Manifest.SourceCounts(c[0], c[1], c[2], c[3]));
    }
    return sources;
  }

  private static void checkAccounted(long in, long out, long rejected, long dropped,
      Map<String, Manifest.SourceCounts> sources) {
    List<String> broken = new ArrayList<>();
    if (in != out + rejected + dropped) {
      broken.add("in=" + in + ", out=" + out + ", rejected=" + rejected + ", dropped=" + dropped);
    }
    for (Map.Entry<String, Manifest.SourceCounts> e : sources.entrySet()) {
      Manifest.SourceCounts c = e.getValue();
      if (c.in() != c.out() + c.rejected() + c.dropped()) {
        broken.add("source " + e.getKey() + ": in=" + c.in() + ", out=" + c.out() + ", rejected=" + c.rejected()
            + ", dropped=" + c.dropped());
      }
    }
    if (!broken.isEmpty()) {
      throw new IllegalStateException("records unaccounted for (in != out + rejected + dropped): "
          + String.join("; ", broken));
    }
  }
}
