package dev.sparktune.cluster;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

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
 * shuffled by cluster once and each task counts the clusters it holds; the table, one row per
 * cluster, is then put in cluster order. (The Spark SQL it replaces, three aggregations, a window and
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
    return narrow.repartition(partitions, col("cluster_id"))
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
  }

  /** A kept record's place in the examples order: distance as Spark SQL orders doubles, then id. */
  private record Example(double distance, String id) implements Comparable<Example> {
    @Override
    public int compareTo(Example o) {
      int c = distance == o.distance ? 0 : Double.compare(distance, o.distance); // -0.0 == 0.0, as Spark
      return c != 0 ? c : utf8Order(id, o.id);
    }
  }

  /** The rows of whole clusters (hash-partitioned by cluster) to one table row per cluster. */
  static Iterator<Row> summarize(Iterator<Row> rows, int topTerms) {
    Map<Integer, Counts> clusters = new HashMap<>();
    while (rows.hasNext()) {
      Row r = rows.next();
      Counts c = clusters.computeIfAbsent(r.isNullAt(0) ? null : r.getInt(0), k -> new Counts());
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
    List<Row> out = new ArrayList<>(clusters.size());
    for (Map.Entry<Integer, Counts> e : clusters.entrySet()) {
      Counts c = e.getValue();
      List<Map.Entry<String, long[]>> terms = new ArrayList<>(c.documentFrequency.entrySet());
      terms.sort((a, b) -> a.getValue()[0] != b.getValue()[0] ? Long.compare(b.getValue()[0], a.getValue()[0])
          : utf8Order(a.getKey(), b.getKey()));
      List<String> top = new ArrayList<>();
      for (int i = 0; i < Math.min(topTerms, terms.size()); i++) {
        top.add(terms.get(i).getKey());
      }
      List<Example> examples = new ArrayList<>(c.nearest);
      examples.sort(Comparator.naturalOrder());
      out.add(RowFactory.create(e.getKey(), c.before, c.after, top.toArray(String[]::new),
          examples.stream().map(Example::id).toArray(String[]::new))); // arrays: the row encoder takes no List
    }
    return out.iterator();
  }

  /** Spark SQL's string order: UTF-8 bytes, which is code point order (Java's compareTo is UTF-16's). */
  static int utf8Order(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int x = a.codePointAt(i);
      int y = b.codePointAt(j);
      if (x != y) {
        return Integer.compare(x, y);
      }
      i += Character.charCount(x);
      j += Character.charCount(y);
    }
    return Boolean.compare(i < a.length(), j < b.length());
  }
}
