package dev.sparktune.cluster;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

import dev.sparktune.core.SqlOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.apache.spark.sql.catalyst.encoders.RowEncoder;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The cluster stage's {@code clusters} table: per cluster its size before and after the selection,
 * its top terms (by document frequency in the cluster, then term) and the three kept records nearest
 * its centroid (by distance, then id). The records' cluster, terms, distance, id and kept flag are
 * shuffled by cluster once and sorted by cluster within each task, which counts its clusters one
 * after the other; the table, one row per cluster, is then put in cluster order. (The Spark SQL it replaces, three aggregations, a window and
 * two joins, ran as nine jobs; {@code ClusterTableTest} holds the two equal.)
 */
final class ClusterTable {
  static final StructType SCHEMA = new StructType()
      .add("cluster_id", DataTypes.IntegerType, true)
      .add("size_before", DataTypes.LongType, false)
      .add("size_after", DataTypes.LongType, false)
      .add("top_terms", DataTypes.createArrayType(DataTypes.StringType, true), false)
      .add("example_ids", DataTypes.createArrayType(DataTypes.StringType, true), false);

  static final int EXAMPLES = 3;

  private ClusterTable() {}

  /**
   * @param records every record of the stage with {@code cluster_id}, {@code _terms},
   *     {@code centroid_distance}, {@code id} and {@code _kept} (selected, not dropped)
   */
  static Dataset<Row> of(Dataset<Row> records, int topTerms, int partitions) {
    Dataset<Row> narrow = records.select(col("cluster_id"), col("_terms"), col("_kept"),
        coalesce(col("centroid_distance"), lit(0.0)).as("_d"), col("id"));
    MapPartitionsFunction<Row, Row> summarize = rows -> summarize(rows, topTerms);
    return narrow.repartition(partitions, col("cluster_id")).sortWithinPartitions("cluster_id")
        .mapPartitions(summarize, ExpressionEncoder.apply(RowEncoder.encoderFor(SCHEMA)))
        .repartition(1).sortWithinPartitions("cluster_id");
  }

  /** One cluster's counts. */
  private static final class Counts {
    long before;
    long after;
    final Map<String, long[]> documentFrequency = new HashMap<>();
    /** The kept records nearest the centroid so far, the farthest of them first. */
    final PriorityQueue<Example> nearest = new PriorityQueue<>(Comparator.reverseOrder());

    /** The cluster's table row: top terms by frequency then term, examples nearest first. */
    Row row(Integer cluster, int topTerms) {
      List<Map.Entry<String, long[]>> terms = new ArrayList<>(documentFrequency.entrySet());
      terms.sort((a, b) -> a.getValue()[0] != b.getValue()[0] ? Long.compare(b.getValue()[0], a.getValue()[0])
          : SqlOrder.strings(a.getKey(), b.getKey()));
      String[] top = new String[Math.min(topTerms, terms.size())];
      for (int i = 0; i < top.length; i++) {
        top[i] = terms.get(i).getKey();
      }
      List<Example> examples = new ArrayList<>(nearest);
      examples.sort(Comparator.naturalOrder());
      // Arrays, not lists: the row encoder takes no java.util.List.
      return RowFactory.create(cluster, before, after, top, examples.stream().map(Example::id).toArray(String[]::new));
    }
  }

  /** A kept record's place in the examples order: distance as Spark SQL orders doubles, then id. */
  private record Example(double distance, String id) implements Comparable<Example> {
    @Override
    public int compareTo(Example o) {
      int c = distance == o.distance ? 0 : Double.compare(distance, o.distance); // -0.0 == 0.0, as Spark
      return c != 0 ? c : SqlOrder.strings(id, o.id);
    }
  }

  /**
   * The rows of whole clusters (hash-partitioned by cluster, sorted by cluster in the partition) to
   * one table row per cluster. One cluster is counted at a time, so a task holds one cluster's term
   * counts (bounded by its vocabulary, not by the records) and the finished rows (at most k).
   */
  static Iterator<Row> summarize(Iterator<Row> rows, int topTerms) {
    List<Row> out = new ArrayList<>();
    Counts c = null;
    Integer current = null;
    while (rows.hasNext()) {
      Row r = rows.next();
      Integer cluster = r.isNullAt(0) ? null : r.getInt(0);
      if (c == null || !java.util.Objects.equals(cluster, current)) {
        if (c != null) {
          out.add(c.row(current, topTerms));
        }
        c = new Counts();
        current = cluster;
      }
      c.before++;
      if (!r.isNullAt(1)) {
        for (String term : new HashSet<>(r.<String>getList(1))) {
          c.documentFrequency.computeIfAbsent(term, t -> new long[1])[0]++;
        }
      }
      if (r.getBoolean(2)) {
        c.after++;
        c.nearest.add(new Example(r.getDouble(3), r.getString(4)));
        if (c.nearest.size() > EXAMPLES) {
          c.nearest.poll();
        }
      }
    }
    if (c != null) {
      out.add(c.row(current, topTerms));
    }
    return out.iterator();
  }
}
