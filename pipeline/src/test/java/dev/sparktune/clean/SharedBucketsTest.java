package dev.sparktune.clean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** The shared band buckets and their member rows against the same counts made one record at a time. */
class SharedBucketsTest {
  private static final int BANDS = 6;

  @Test
  void findsTheBucketsTwoRecordsShareAndTheirMembers() {
    SparkSession spark = TestSpark.get();
    Random random = new Random(11);
    StructType sketch = new StructType()
        .add("n", DataTypes.IntegerType, false)
        .add("bands", DataTypes.createArrayType(DataTypes.LongType, false), false);
    StructType schema = new StructType().add("_rk", DataTypes.StringType, false).add("_s", sketch, false);
    List<Row> rows = new ArrayList<>();
    List<long[]> bandsOf = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      // Few values per band (so many repeats, across partitions), negative ones and the extremes too.
      long[] bands = new long[BANDS];
      for (int b = 0; b < BANDS; b++) {
        int pick = random.nextInt(300);
        bands[b] = pick == 0 ? Long.MIN_VALUE : pick == 1 ? Long.MAX_VALUE : (pick - 150) * 1_000_003L;
      }
      bandsOf.add(bands);
      rows.add(RowFactory.create("r" + i, RowFactory.create(1 + random.nextInt(5), bands)));
    }
    Dataset<Row> sketched = spark.createDataFrame(rows, schema).repartition(3);

    // One record at a time: how often each band value occurs.
    List<Map<Long, Integer>> seen = new ArrayList<>();
    for (int b = 0; b < BANDS; b++) {
      seen.add(new HashMap<>());
    }
    for (long[] bands : bandsOf) {
      for (int b = 0; b < BANDS; b++) {
        seen.get(b).merge(bands[b], 1, Integer::sum);
      }
    }
    long[][] want = new long[BANDS][];
    int total = 0;
    for (int b = 0; b < BANDS; b++) {
      want[b] = seen.get(b).entrySet().stream().filter(e -> e.getValue() > 1).mapToLong(Map.Entry::getKey)
          .sorted().toArray();
      total += want[b].length;
    }
    assertTrue(total > 100 && total < 6 * 300, "many shared buckets, not all: " + total);

    SharedBuckets.Shared found = SharedBuckets.find(sketched, total);
    long[][] shared = found.values();
    assertEquals(BANDS, shared.length);
    for (int b = 0; b < BANDS; b++) {
      assertArrayEquals(want[b], shared[b], "band " + b);
    }
    assertNull(SharedBuckets.find(sketched, total - 1), "one more than the limit");

    List<String> expected = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      for (int b = 0; b < BANDS; b++) {
        if (seen.get(b).get(bandsOf.get(i)[b]) > 1) {
          int n = ((Row) rows.get(i).get(1)).getInt(0);
          expected.add(b + " " + bandsOf.get(i)[b] + " r" + i + " " + n);
        }
      }
    }
    List<String> members = new ArrayList<>();
    for (Row r : SharedBuckets.members(spark, sketched, shared).collectAsList()) {
      members.add(r.getInt(0) + " " + r.getLong(1) + " " + r.getString(2) + " " + r.getInt(3));
    }
    expected.sort(null);
    members.sort(null);
    assertEquals(expected, members);
    assertEquals(expected.size(), found.members(), "the member rows, counted before they are picked out");
  }
}
