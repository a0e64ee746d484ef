package dev.sparktune.core;

import static dev.sparktune.core.StageRunner.DATA;
import static dev.sparktune.core.StageRunner.DROPPED;
import static dev.sparktune.core.StageRunner.REJECTS;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

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

  /** The counts of the tables written under {@code staging}; each table's row count goes into {@code tables}. */
  Manifest.Counts count(StageOutput output, Path staging, Map<String, Long> tables) {
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
    Map<String, Manifest.SourceCounts> sources = perSource ? sourceCounts(bySource) : new TreeMap<>();
    checkAccounted(in, out, rejected, dropped, sources);
    return new Manifest.Counts(in, out, rejected, dropped, rejectedBy, droppedBy, sources);
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
      for (Row r : df.groupBy(keys.stream().map(df::col).toArray(Column[]::new)).count().collectAsList()) {
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
}
