package dev.sparktune.clean;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.least;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.udf;

import dev.sparktune.config.CleanConfig;
import dev.sparktune.core.ChatMessage;
import dev.sparktune.core.Schemas;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Near-duplicate removal with MinHash and LSH banding: word shingles and bands x rows MinHash values
 * per record ({@link MinHasher}, a UDF: the same in Spark's higher-order array functions ran 100x
 * slower; the records come with their sketch, {@link #SKETCH}, made where the clean stage judges them,
 * and the shingles are made again only for the few candidates), a record is a candidate of another
 * when all rows of some band agree (AND within a band,
 * OR across bands), candidates are verified by their exact Jaccard similarity (built-in
 * array_intersect/array_union), and the connected components of the verified pairs are resolved by
 * min-label propagation: each component keeps its smallest record (id, then source, uri, locator).
 */
final class NearDuplicates {
  private static final Logger LOG = LoggerFactory.getLogger(NearDuplicates.class);
  private static final int MAX_ITERATIONS = 100;

  private NearDuplicates() {}

  /** The reason of the records it drops, and their detail before the kept record's id. */
  static final String REASON = "near_duplicate";
  private static final String DETAIL = "near duplicate of ";

  /** A record's unique key, ordered as records are (id first): id, source, uri and locator joined by U+001F. */
  private static Column recordKey() {
    return concat_ws("\u001f", col("id"), col("source"), col("uri"), col("locator"));
  }

  /** The column of a record's MinHash sketch (see {@link #sketch}) that {@link #split} reads. */
  static final String SKETCH = "_sketch";

  /** A sketch: the record's number of distinct shingles and its band keys (none without words). */
  static final StructType SKETCH_TYPE = new StructType()
      .add("n", DataTypes.IntegerType, false)
      .add("bands", DataTypes.createArrayType(DataTypes.LongType, false), false);

  /**
   * A record's sketch, of the words of its instruction, input, output, text and messages' contents in
   * that order (as {@code concat_ws(" ", ...)} would join them).
   */
  static Column sketch(CleanConfig.Dedup dd) {
    MinHasher hasher = new MinHasher(dd.shingleWords(), dd.bands(), dd.rows());
    UDF1<Row, Row> f = fields -> {
      long[] sh = hasher.shingles(texts(fields));
      return RowFactory.create(sh.length, sh.length == 0 ? new long[0] : hasher.bandKeys(sh)); // no boxing
    };
    return udf(f, SKETCH_TYPE).apply(textFields());
  }

  /** The records with their {@link #SKETCH} column, as {@link #split} takes them. */
  static Dataset<Row> sketched(Dataset<Row> records, CleanConfig.Dedup dd) {
    return records.withColumn(SKETCH, sketch(dd));
  }

  /** A record's distinct shingles, sorted (the sets whose Jaccard similarity is checked). */
  private static Column shingles(CleanConfig.Dedup dd) {
    MinHasher hasher = new MinHasher(dd.shingleWords(), dd.bands(), dd.rows());
    UDF1<Row, long[]> f = fields -> hasher.shingles(texts(fields));
    return udf(f, DataTypes.createArrayType(DataTypes.LongType, false)).apply(textFields());
  }

  private static Column textFields() {
    return struct(col("instruction"), col("input"), col("output"), col("text"), col("messages"));
  }

  private static List<String> texts(Row fields) {
    List<String> texts = new ArrayList<>(8);
    for (int i = 0; i < 4; i++) {
      texts.add(fields.isNullAt(i) ? null : fields.getString(i));
    }
    List<ChatMessage> messages = Schemas.messagesOf(fields, 4);
    for (int i = 0; messages != null && i < messages.size(); i++) {
      texts.add(messages.get(i).content());
    }
    return texts;
  }

  /** The records (with {@link #SKETCH}) split into kept and near duplicates. */
  static DedupSplit split(Dataset<Row> records, CleanConfig.Dedup dd, SparkSession spark) {
    return split(records, dd, spark, BROADCAST_BUCKETS, BROADCAST_KEYS, NearDuplicatesOnDriver.MEMBER_LIMIT,
        NearDuplicatesOnDriver.SHINGLE_LIMIT);
  }

  /**
   * {@link #split(Dataset, CleanConfig.Dedup, SparkSession)} with the broadcast limits and the limits
   * of the driver path given (tests: 0, the shuffle joins and the distributed pairs).
   */
  static DedupSplit split(Dataset<Row> records, CleanConfig.Dedup dd, SparkSession spark, long maxBroadcastBuckets,
      long maxBroadcastKeys, long maxDriverMembers, long maxDriverShingles) {
    // A unique, ordered key per record: id first, so "smallest key" is "smallest id".
    Dataset<Row> keyed = records.withColumn("_rk", recordKey());
    Dataset<Row> sketched = keyed.select(col("_rk"), col(SKETCH).as("_s"))
        .filter(col("_s.n").gt(0))
        .persist(StorageLevel.MEMORY_AND_DISK());
    SharedBuckets.Shared shared = SharedBuckets.find(sketched, maxBroadcastBuckets);
    // Few enough candidates for the driver: their rows are collected at once (one job), and their
    // shingles, each record once, counted from them.
    List<Row> collected = shared != null && shared.members() <= maxDriverMembers
        ? SharedBuckets.members(spark, sketched, shared.values()).collectAsList() : null;
    long shingles = collected == null ? -1 : NearDuplicatesOnDriver.shingles(collected);
    boolean onDriver = shingles >= 0 && shingles <= maxDriverShingles;
    Labels found;
    if (onDriver) {
      LOG.info("near duplicates: {} rows in shared band buckets, candidates checked on the driver ({} shingles)",
          collected.size(), shingles);
      NearDuplicatesOnDriver.Result r = NearDuplicatesOnDriver.run(keyed, shingles(dd), collected, dd, spark);
      found = new Labels(r.labels(), r.edges());
    } else {
      Members candidates = collected != null
          ? new Members(spark.createDataFrame(collected, SharedBuckets.MEMBERS).persist(StorageLevel.MEMORY_AND_DISK()),
              collected.size())
          : members(spark, sketched, shared, maxBroadcastBuckets);
      LOG.info("near duplicates: {} rows in shared band buckets, candidates checked by Spark", candidates.count());
      Dataset<Row> edges = verifiedPairs(keyed, candidates.rows(), dd, maxBroadcastKeys);
      long edgeCount = edges.count();
      found = new Labels(edgeCount <= DRIVER_EDGE_LIMIT ? componentsOnDriver(edges, spark) : components(edges),
          edgeCount);
      candidates.rows().unpersist();
    }
    Dataset<Row> labels = found.labels();
    long edgeCount = found.edges();
    LOG.info("near duplicates: {} verified pairs", edgeCount);
    return apart(keyed, labels, maxBroadcastKeys, sketched::unpersist);
  }

  /**
   * The {@code keyed} records (key {@code _rk}) split by the component {@code labels} (v, label) into
   * kept and near duplicates; {@code release} is run with the split's own release.
   */
  private static DedupSplit apart(Dataset<Row> keyed, Dataset<Row> labels, long maxLookupKeys, Runnable release) {
    Dataset<Row> dupes = labels.filter(col("label").notEqual(col("v")));
    if (dupes.count() <= maxLookupKeys) {
      // Few: each task looks its records up in a map of them (v -> the kept record's id), so kept and
      // dropped are each one filter of the records where they lie.
      Map<String, String> of = new HashMap<>();
      for (Row r : dupes.collectAsList()) {
        String label = r.getString(1);
        int end = label.indexOf('\u001f');
        of.put(r.getString(0), end < 0 ? label : label.substring(0, end));
      }
      Broadcast<Map<String, String>> lookupTable = JavaSparkContext
          .fromSparkContext(keyed.sparkSession().sparkContext()).broadcast(of);
      UDF1<String, String> lookup = rk -> lookupTable.value().get(rk);
      // Of the record columns (not _rk), so that it also applies where the records came from.
      Column duplicateOf = udf(lookup, DataTypes.StringType).apply(recordKey());
      return DedupSplit.lookedUp(keyed, duplicateOf, Schemas.recordColumns(), REASON, DETAIL, () -> {
        release.run();
        lookupTable.destroy();
      });
    }
    Dataset<Row> joined = keyed.join(dupes, keyed.col("_rk").equalTo(dupes.col("v")), "left");
    Column isDupe = col("label").isNotNull();
    Dataset<Row> kept = joined.filter(isDupe.unary_$bang()).select(Schemas.recordColumns());
    Dataset<Row> dropped = joined.filter(isDupe).select(Schemas.droppedColumns(lit(REASON),
        concat_ws("", lit(DETAIL), expr("split(label, '\u001f')[0]"))));
    return new DedupSplit(kept, dropped, release);
  }

  /**
   * The (key, band, bucket) rows of the sketched records ({@code _rk}, {@code _s}) in band buckets
   * that two or more records share, cached and computed. Nearly all buckets hold one record; the
   * shared ones are found from the bucket values alone (no record keys in the shuffle), then the
   * records in those few are picked out where they lie: by {@link SharedBuckets} when at most
   * {@code maxBroadcastBuckets} are shared, else by Spark SQL's count and a shuffle join.
   */
  private static Members members(SparkSession spark, Dataset<Row> sketched, SharedBuckets.Shared found,
      long maxBroadcastBuckets) {
    if (found != null) {
      Dataset<Row> members = SharedBuckets.members(spark, sketched, found.values())
          .persist(StorageLevel.MEMORY_AND_DISK());
      return new Members(members, members.count());
    }
    Dataset<Row> shared = sketched.select(expr("posexplode(_s.bands)").as(new String[] {"_band", "_bucket"}))
        .groupBy("_band", "_bucket").count().filter(col("count").gt(1)).select("_band", "_bucket")
        .persist(StorageLevel.MEMORY_AND_DISK());
    Dataset<Row> members = sketched.select(col("_rk"), expr("posexplode(_s.bands)").as(new String[] {"_band", "_bucket"}),
            col("_s.n").as("_n"))
        .join(small(shared, maxBroadcastBuckets), new String[] {"_band", "_bucket"})
        .persist(StorageLevel.MEMORY_AND_DISK());
    long count = members.count();
    shared.unpersist();
    return new Members(members, count);
  }

  /** The members of shared buckets (key, band, bucket, the key's number of shingles), cached, and how many rows they are. */
  private record Members(Dataset<Row> rows, long count) {}

  /** The (v, label) rows of the records in components, and how many verified pairs linked them. */
  private record Labels(Dataset<Row> labels, long edges) {}

  /**
   * The candidate pairs (a, b, jaccard) of the members' records whose Jaccard similarity reaches
   * the threshold, checkpointed. The shingles are made again from the {@code keyed} records' texts, for
   * the candidates only.
   */
  private static Dataset<Row> verifiedPairs(Dataset<Row> keyed, Dataset<Row> members, CleanConfig.Dedup dd,
      long maxBroadcastKeys) {
    int max = dd.maxBucketSize();
    Dataset<Row> pairs = members.groupBy("_band", "_bucket").agg(expr("sort_array(collect_set(_rk))").as("_ids"))
        .select(expr("explode(CASE WHEN size(_ids) <= " + max
            + " THEN flatten(transform(sequence(0, size(_ids) - 2), i -> transform(sequence(i + 1, size(_ids) - 1),"
            + " j -> named_struct('a', _ids[i], 'b', _ids[j])))) "
            + "ELSE transform(sequence(1, size(_ids) - 1), j -> named_struct('a', _ids[0], 'b', _ids[j])) END)")
            .as("_p"))
        .select(col("_p.a").as("a"), col("_p.b").as("b")).distinct();
    Dataset<Row> shingled = keyed.join(small(members.select("_rk").distinct(), maxBroadcastKeys), "_rk")
        .select(col("_rk"), shingles(dd).as("_sh"))
        .persist(StorageLevel.MEMORY_AND_DISK()); // the candidates only; both sides of the pairs read it
    Dataset<Row> sa = shingled.select(col("_rk").as("a"), col("_sh").as("sa"));
    Dataset<Row> sb = shingled.select(col("_rk").as("b"), col("_sh").as("sb"));
    Dataset<Row> edges = pairs.join(sa, "a").join(sb, "b")
        .withColumn("jaccard", expr("size(array_intersect(sa, sb)) / size(array_union(sa, sb))"))
        .filter(col("jaccard").geq(dd.threshold()))
        .select("a", "b", "jaccard")
        .localCheckpoint();
    shingled.unpersist();
    return edges;
  }

  /** Up to this many shared buckets (an int and a long each, ~16 MB) are broadcast to the records' tasks. */
  static final long BROADCAST_BUCKETS = 1_000_000;

  /** Up to this many candidate record keys (id, source, uri, locator: ~100 bytes each) are broadcast. */
  static final long BROADCAST_KEYS = 200_000;

  /** {@code table} with a broadcast hint when it has at most {@code maxRows} rows, else as it is (joined by a shuffle). */
  private static Dataset<Row> small(Dataset<Row> table, long maxRows) {
    return table.count() <= maxRows ? broadcast(table) : table;
  }

  /** Up to this many verified pairs, components are found with union-find on the driver. */
  static final long DRIVER_EDGE_LIMIT = 2_000_000;

  /** Union-find over collected edges: (v, label = smallest v in its component), for non-singletons. */
  static Dataset<Row> componentsOnDriver(Dataset<Row> edges, SparkSession spark) {
    java.util.Map<String, String> parent = new java.util.HashMap<>();
    for (Row r : edges.select("a", "b").collectAsList()) {
      union(parent, r.getString(0), r.getString(1));
    }
    return labels(parent, spark);
  }

  /** The union-find forest as a table: (v, label = the root of v's component), for every linked v. */
  static Dataset<Row> labels(java.util.Map<String, String> parent, SparkSession spark) {
    java.util.List<Row> rows = new java.util.ArrayList<>(parent.size());
    for (String v : parent.keySet()) {
      rows.add(RowFactory.create(v, find(parent, v)));
    }
    StructType schema = new StructType().add("v", DataTypes.StringType, false).add("label", DataTypes.StringType, false);
    return spark.createDataFrame(rows, schema);
  }

  private static String find(java.util.Map<String, String> parent, String v) {
    String root = v;
    while (!parent.get(root).equals(root)) {
      root = parent.get(root);
    }
    for (String x = v; !x.equals(root); ) {
      String next = parent.get(x);
      parent.put(x, root);
      x = next;
    }
    return root;
  }

  /** Links the two components under the smaller root, so every root is its component's minimum. */
  static void union(java.util.Map<String, String> parent, String a, String b) {
    parent.putIfAbsent(a, a);
    parent.putIfAbsent(b, b);
    String ra = find(parent, a);
    String rb = find(parent, b);
    if (ra.equals(rb)) {
      return;
    }
    if (ra.compareTo(rb) < 0) {
      parent.put(rb, ra);
    } else {
      parent.put(ra, rb);
    }
  }

  /** Min-label propagation over an undirected edge list (a, b): returns (v, label = smallest v in its component). */
  static Dataset<Row> components(Dataset<Row> edges) {
    Dataset<Row> undirected = edges.select(col("a").as("src"), col("b").as("dst"))
        .union(edges.select(col("b").as("src"), col("a").as("dst")))
        .localCheckpoint();
    Dataset<Row> labels = undirected.select(col("src").as("v")).distinct()
        .withColumn("label", col("v")).localCheckpoint();
    for (int i = 0; i < MAX_ITERATIONS; i++) {
      Dataset<Row> proposed = undirected.join(labels, undirected.col("src").equalTo(labels.col("v")))
          .select(col("dst").as("v"), col("label").as("proposal"));
      Dataset<Row> next = labels.join(proposed.groupBy("v").agg(min("proposal").as("proposal")), "v")
          .select(col("v"), least(col("label"), col("proposal")).as("label")).localCheckpoint();
      long changed = next.join(labels.withColumnRenamed("label", "old"), "v")
          .filter(col("label").notEqual(col("old"))).count();
      labels = next;
      if (changed == 0) {
        return labels;
      }
    }
    LOG.warn("near-duplicate components did not converge in {} iterations; some chains stay split",
        MAX_ITERATIONS);
    return labels;
  }
}
