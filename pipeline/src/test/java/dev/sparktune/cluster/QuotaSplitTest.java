package dev.sparktune.cluster;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.xxhash64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import dev.sparktune.config.ClusterConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/**
 * The cluster quota's split (narrow keys ranked, each full cluster's last kept key compared where the
 * records lie) marks exactly the records a row_number window over whole records ranks past the quota.
 */
class QuotaSplitTest {
  private static final StructType SCHEMA = new StructType().add("id", DataTypes.StringType, false)
      .add("locator", DataTypes.StringType, true).add("cluster_id", DataTypes.IntegerType, false)
      .add("centroid_distance", DataTypes.DoubleType, true).add("payload", DataTypes.StringType, true);

  /** Clusters of 1 to 40 records; distances with ties, zeros and nulls; shared ids told apart by locator. */
  private static Dataset<Row> records(SparkSession spark) {
    Random random = new Random(5);
    List<Row> rows = new ArrayList<>();
    for (int c = -1; c < 12; c++) {
      int size = 1 + random.nextInt(40);
      for (int i = 0; i < size; i++) {
        Double d = c == -1 || random.nextInt(10) == 0 ? null
            : random.nextInt(8) == 0 ? 0.0 : Math.round(random.nextDouble() * 8) / 8.0;
        String id = "r" + random.nextInt(60);
        String locator = random.nextInt(6) == 0 ? null : "l" + i;
        rows.add(RowFactory.create(id, locator, c, d, "x" + i));
      }
    }
    return spark.createDataFrame(rows, SCHEMA).repartition(3);
  }

  private static TreeSet<String> windowOver(Dataset<Row> records, int max, ClusterConfig.Keep keep) {
    Column order = switch (keep) {
      case RANDOM -> xxhash64(col("id"), lit(9L));
      case NEAREST -> col("centroid_distance").asc_nulls_last();
      case FARTHEST -> col("centroid_distance").desc_nulls_last();
    };
    TreeSet<String> over = new TreeSet<>();
    for (Row r : records.withColumn("_rank", row_number().over(Window.partitionBy("cluster_id")
        .orderBy(order, col("id").asc(), col("locator").asc()))).filter(col("_rank").gt(max)).collectAsList()) {
      over.add(key(r));
    }
    return over;
  }

  private static String key(Row r) {
    return r.getAs("cluster_id") + "/" + r.getAs("id") + "/" + r.getAs("locator") + "/" + r.getAs("payload");
  }

  @Test
  void marksWhatTheWindowRanksPastTheQuota() {
    SparkSession spark = TestSpark.get();
    Dataset<Row> records = records(spark);
    for (ClusterConfig.Keep keep : ClusterConfig.Keep.values()) {
      for (int max : new int[] {1, 7}) {
        Dataset<Row> split = ClusterStage.splitAtQuota(spark, records, max, keep, 9L);
        TreeSet<String> over = new TreeSet<>();
        for (Row r : split.filter(col("_over")).collectAsList()) {
          over.add(key(r));
        }
        TreeSet<String> expected = windowOver(records, max, keep);
        assertTrue(!expected.isEmpty(), keep + " " + max);
        assertEquals(expected, over, keep + " max " + max);
        assertEquals(records.count(), split.count(), "every record once");
        assertEquals(List.of(SCHEMA.fieldNames()).toString() + "[_over]",
            List.of(split.columns()).subList(0, SCHEMA.size()).toString()
                + List.of(split.columns()).subList(SCHEMA.size(), split.columns().length));
      }
    }
  }
}
