package dev.sparktune.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import dev.sparktune.config.CleanConfig;
import dev.sparktune.core.Schemas;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/**
 * The distributed near-duplicate split against the same rules written plainly in Java: MinHash band
 * buckets, all pairs of a bucket (a bucket over the size limit pairs its smallest key with the
 * rest), exact Jaccard at or above the threshold, connected components keeping their smallest key.
 */
class NearDuplicatesTest {
  static final CleanConfig.Dedup DEDUP = new CleanConfig.Dedup(true, true, 3, 10, 3, 0.8, 4);

  record Rec(String id, String locator, String output) {
    String key() {
      return id + "\u001f" + "near" + "\u001f" + "mem:near" + "\u001f" + locator;
    }
  }

  /** Families of texts with 0 to 6 words replaced (Jaccards around the threshold), some large, plus singletons. */
  static List<Rec> corpus() {
    Random random = new Random(7);
    List<String> vocabulary = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      vocabulary.add("w" + Integer.toString(i * 7919 % 1000, 36));
    }
    List<Rec> recs = new ArrayList<>();
    for (int family = 0; family < 70; family++) {
      List<String> base = new ArrayList<>();
      for (int w = 40 + random.nextInt(40); w > 0; w--) {
        base.add(vocabulary.get(random.nextInt(vocabulary.size())));
      }
      int members = family % 10 == 0 ? 9 : 1 + random.nextInt(5); // some families exceed the bucket limit
      for (int m = 0; m < members; m++) {
        List<String> words = new ArrayList<>(base);
        for (int change = random.nextInt(7); change > 0; change--) {
          words.set(random.nextInt(words.size()), vocabulary.get(random.nextInt(vocabulary.size())));
        }
        recs.add(new Rec(id(random), "line:" + recs.size(), String.join(" ", words)));
      }
    }
    // The same id twice (the locator decides), a text without words (never a candidate).
    Rec twin = recs.get(3);
    recs.add(new Rec(twin.id(), "line:" + recs.size(), twin.output() + " extra"));
    recs.add(new Rec(id(random), "line:" + recs.size(), "... !!! ..."));
    return recs;
  }

  static String id(Random random) {
    return Long.toHexString(random.nextLong() | Long.MIN_VALUE);
  }

  /** The expected dropped records: key to "near duplicate of " + the id of its component's smallest key. */
  static Map<String, String> reference(List<Rec> recs, CleanConfig.Dedup dd) {
    MinHasher hasher = new MinHasher(dd.shingleWords(), dd.bands(), dd.rows());
    Map<String, long[]> shingles = new HashMap<>();
    Map<String, TreeSet<String>> buckets = new HashMap<>();
    for (Rec r : recs) {
      long[] sh = hasher.shingles("Say it. " + r.output());
      if (sh.length == 0) {
        continue;
      }
      shingles.put(r.key(), sh);
      long[] bands = hasher.bandKeys(sh);
      for (int b = 0; b < bands.length; b++) {
        buckets.computeIfAbsent(b + ":" + bands[b], x -> new TreeSet<>()).add(r.key());
      }
    }
    Map<String, String> parent = new TreeMap<>();
    for (TreeSet<String> bucket : buckets.values()) {
      List<String> ids = new ArrayList<>(bucket);
      for (int i = 0; i < ids.size(); i++) {
        for (int j = i + 1; j < ids.size(); j++) {
          if (ids.size() > dd.maxBucketSize() && i > 0) {
            break;
          }
          if (jaccard(shingles.get(ids.get(i)), shingles.get(ids.get(j))) >= dd.threshold()) {
            union(parent, ids.get(i), ids.get(j));
          }
        }
      }
    }
    Map<String, String> dropped = new TreeMap<>();
    for (String v : parent.keySet()) {
      String root = find(parent, v);
      if (!root.equals(v)) {
        dropped.put(v, "near duplicate of " + root.substring(0, root.indexOf('\u001f')));
      }
    }
    return dropped;
  }

  static double jaccard(long[] a, long[] b) {
    TreeSet<Long> union = new TreeSet<>();
    TreeSet<Long> left = new TreeSet<>();
    for (long x : a) {
      union.add(x);
      left.add(x);
    }
    int both = 0;
    for (long x : b) {
      both += left.contains(x) ? 1 : 0;
      union.add(x);
    }
    return (double) both / union.size();
  }

  static String find(Map<String, String> parent, String v) {
    String root = v;
    while (!parent.get(root).equals(root)) {
      root = parent.get(root);
    }
    return root;
  }

  static void union(Map<String, String> parent, String a, String b) {
    parent.putIfAbsent(a, a);
    parent.putIfAbsent(b, b);
    String ra = find(parent, a);
    String rb = find(parent, b);
    if (ra.compareTo(rb) < 0) {
      parent.put(rb, ra);
    } else if (rb.compareTo(ra) < 0) {
      parent.put(ra, rb);
    }
  }

  @Test
  void splitDropsWhatThePlainRulesDrop() {
    SparkSession spark = TestSpark.get();
    List<Rec> recs = corpus();
    List<Row> rows = new ArrayList<>();
    for (Rec r : recs) {
      rows.add(RowFactory.create(r.id(), "near", "mem", "mem:near", r.locator(), "Say it.", null, r.output(), null,
          Map.of(), null));
    }
    Dataset<Row> records = spark.createDataFrame(rows, Schemas.RECORD).repartition(3);
    Map<String, String> expected = reference(recs, DEDUP);
    assertTrue(expected.size() >= 30, "the fixture makes many near duplicates: " + expected.size());

    Map<String, String> want = new TreeMap<>();
    expected.forEach((k, v) -> want.put(k, "near_duplicate: " + v));
    // The defaults at this size (pairs on the driver), then the collected candidates with too many
    // shingles for the driver (distributed pairs), then the distributed pairs with the broadcast
    // hints, then without them (the planner chooses).
    long[][] limits = {{NearDuplicates.BROADCAST_KEYS, NearDuplicatesOnDriver.MEMBER_LIMIT,
        NearDuplicatesOnDriver.SHINGLE_LIMIT}, {NearDuplicates.BROADCAST_KEYS, NearDuplicatesOnDriver.MEMBER_LIMIT, 0},
        {NearDuplicates.BROADCAST_KEYS, 0, 0}, {0, 0, 0}};
    for (long[] limit : limits) {
      DedupSplit split = NearDuplicates.split(NearDuplicates.sketched(records, DEDUP), DEDUP, spark, limit[0],
          limit[0], limit[1], limit[2]);
      Map<String, String> dropped = new TreeMap<>();
      for (Row r : split.dropped().collectAsList()) {
        String key = r.getAs("id") + "\u001f" + r.getAs("source") + "\u001f" + r.getAs("uri") + "\u001f"
            + r.getAs("locator");
        dropped.put(key, r.getAs("reason") + ": " + r.getAs("detail"));
      }
      assertEquals(want, dropped, "broadcast limit " + limit[0] + ", driver limits " + limit[1] + ", " + limit[2]);
      assertEquals(recs.size() - expected.size(), split.kept().count());
      split.release().run();
    }
  }

  /**
   * A record's sketch is the sketch of the text the distributed plan first hashed: its four fields and
   * its messages' contents as Spark's concat_ws and array_join join them (nulls skipped).
   */
  @Test
  void sketchIsOfTheFieldsAndMessagesAsSparkJoinsThem() {
    SparkSession spark = TestSpark.get();
    List<Row> messages = List.of(RowFactory.create("user", "Translate: le chat"), RowFactory.create("system", null),
        RowFactory.create("assistant", "the cat, quickly"));
    Object[][] fields = {
        {"Say it.", null, "one two three", null, null},
        {null, "ctx word", null, "a text of five words here", null},
        {"Ask", null, null, null, messages},
        {null, null, null, null, messages},
        {"Only", "fields", "", null, List.of()},
        {null, null, null, null, null},
        {"...", null, "!!", null, List.of(RowFactory.create("user", "?"))},
    };
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < fields.length; i++) {
      Object[] f = fields[i];
      rows.add(RowFactory.create("id" + i, "s", "mem", "mem:s", "line:" + i, f[0], f[1], f[2], f[3], Map.of(),
          f[4] == null ? null : scala.jdk.javaapi.CollectionConverters.asScala((List<?>) f[4]).toSeq()));
    }
    Dataset<Row> records = NearDuplicates.sketched(spark.createDataFrame(rows, Schemas.RECORD), DEDUP)
        .selectExpr("id", "concat_ws(' ', instruction, input, output, text,"
            + " array_join(transform(messages, m -> m.content), ' ')) AS joined", NearDuplicates.SKETCH)
        .orderBy("id");
    MinHasher hasher = new MinHasher(DEDUP.shingleWords(), DEDUP.bands(), DEDUP.rows());
    int withWords = 0;
    for (Row r : records.collectAsList()) {
      long[] sh = hasher.shingles(r.getString(1));
      Row sketch = r.getStruct(2);
      assertEquals(sh.length, sketch.getInt(0), r.getString(1));
      List<Long> bands = sketch.getList(1);
      long[] want = sh.length == 0 ? new long[0] : hasher.bandKeys(sh);
      assertEquals(java.util.Arrays.stream(want).boxed().toList(), bands, r.getString(1));
      withWords += sh.length > 0 ? 1 : 0;
    }
    assertEquals(5, withWords, "two records have no words");
  }
}
