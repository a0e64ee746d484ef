package dev.sparktune.clean;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;

import dev.sparktune.config.CleanConfig;
import dev.sparktune.core.SqlOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

/**
 * The candidate pairs, their Jaccard check and the components on the driver, for when the records
 * in shared band buckets and their shingles are few (as they are when near duplicates are a few percent of a corpus).
 * The same rules as the distributed plan of {@link NearDuplicates}: a bucket's keys in binary
 * (UTF-8) order as {@code sort_array} sorts them, all pairs of a bucket up to
 * {@code max_bucket_size} keys and its smallest key with each other beyond, set Jaccard of the
 * shingles at or above the threshold. It saves the dozen small Spark jobs of the distributed plan,
 * about 4 s of a 200,000-record clean stage.
 */
final class NearDuplicatesOnDriver {
  /** Up to this many (key, band, bucket) member rows (~100 bytes each) are collected. */
  static final long MEMBER_LIMIT = 200_000;

  /**
   * Up to this many shingles of the candidate records (each record once) are held, 8 bytes each
   * (64 MB at most): the executors make them from the texts and send the driver primitive arrays.
   */
  static final long SHINGLE_LIMIT = 8_000_000;

  private NearDuplicatesOnDriver() {}

  private record Bucket(int band, long value) {}

  /** The labels (v, label = smallest key of its component) and the number of verified pairs. */
  record Result(Dataset<Row> labels, long edges) {}

  /**
   * The pairs, checks and components of the collected {@code members} rows ({@link SharedBuckets#MEMBERS}:
   * band, bucket, key, shingle count); the candidates' shingles are made by {@code shingler} from the
   * {@code keyed} records (key column {@code _rk}), sorted and distinct as {@link MinHasher#shingles} gives them.
   */
  static Result run(Dataset<Row> keyed, Column shingler, List<Row> members, CleanConfig.Dedup dd,
      SparkSession spark) {
    Map<Bucket, TreeSet<String>> buckets = new HashMap<>();
    Set<String> candidateKeys = new TreeSet<>();
    for (Row r : members) {
      buckets.computeIfAbsent(new Bucket(r.getInt(0), r.getLong(1)),
          b -> new TreeSet<>(SqlOrder::strings)).add(r.getString(2));
      candidateKeys.add(r.getString(2));
    }
    Dataset<Row> candidates = spark.createDataFrame(candidateKeys.stream().map(k -> RowFactory.create(k)).toList(),
        new StructType().add("_rk", DataTypes.StringType, false));
    // One job over every partition (a local iterator ran one job per partition, one after another),
    // the shingles coming back as primitive arrays.
    List<Tuple2<String, long[]>> shingled = keyed.join(broadcast(candidates), "_rk").select(col("_rk"), shingler)
        .queryExecution().toRdd().toJavaRDD()
        .map(r -> new Tuple2<>(r.getUTF8String(0).toString(), r.getArray(1).toLongArray()))
        .collect(); // MinHasher.shingles gives them sorted and distinct, as the Jaccard needs
    Map<String, long[]> shingles = new HashMap<>();
    for (Tuple2<String, long[]> t : shingled) {
      shingles.put(t._1(), t._2());
    }
    Set<List<String>> pairs = new HashSet<>();
    for (TreeSet<String> bucket : buckets.values()) {
      String[] keys = bucket.toArray(String[]::new);
      boolean all = keys.length <= dd.maxBucketSize();
      for (int i = 0; i < (all ? keys.length - 1 : Math.min(1, keys.length - 1)); i++) {
        for (int j = i + 1; j < keys.length; j++) {
          pairs.add(List.of(keys[i], keys[j]));
        }
      }
    }
    Map<String, String> parent = new HashMap<>();
    long edges = 0;
    for (List<String> p : pairs) {
      if (jaccard(shingles.get(p.get(0)), shingles.get(p.get(1))) >= dd.threshold()) {
        NearDuplicates.union(parent, p.get(0), p.get(1));
        edges++;
      }
    }
    return new Result(NearDuplicates.labels(parent, spark), edges);
  }

  /** The shingles the driver would hold for the collected members: each record's count, once. */
  static long shingles(List<Row> members) {
    Map<String, Integer> counts = new HashMap<>();
    for (Row r : members) {
      counts.put(r.getString(2), r.getInt(3));
    }
    long total = 0;
    for (int n : counts.values()) {
      total += n;
    }
    return total;
  }

  /** |a ∩ b| / |a ∪ b| of two sorted arrays without repeats, as Spark's array_intersect / array_union sizes. */
  static double jaccard(long[] a, long[] b) {
    int i = 0;
    int j = 0;
    int common = 0;
    while (i < a.length && j < b.length) {
      if (a[i] == b[j]) {
        common++;
        i++;
        j++;
      } else if (a[i] < b[j]) {
        i++;
      } else {
        j++;
      }
    }
    return (double) common / (a.length + b.length - common);
  }
}
