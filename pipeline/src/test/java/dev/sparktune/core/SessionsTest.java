package dev.sparktune.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktune.TestSpark;
import dev.sparktune.config.SparktuneConfig.SparkSettings;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** The properties a session starts with: spark-submit's, then the config's, then sparktune's defaults. */
class SessionsTest {
  @Test
  void theConfigsPropertiesWinOverTheDefaults() {
    SparkConf conf = Sessions.conf(new SparkSettings("local[2]", "t", Map.of(
        "spark.sql.shuffle.partitions", "7", "spark.serializer", "org.apache.spark.serializer.JavaSerializer")));
    assertEquals("7", conf.get("spark.sql.shuffle.partitions"));
    assertEquals("org.apache.spark.serializer.JavaSerializer", conf.get("spark.serializer"));
    assertEquals("local[2]", conf.get("spark.master"));
  }

  @Test
  void theDefaultsFillWhatTheConfigLeavesOut() {
    SparkConf conf = Sessions.conf(new SparkSettings("local[3]", "t", Map.of()));
    assertEquals("6", conf.get("spark.sql.shuffle.partitions")); // two per core on a local master
    assertEquals("org.apache.spark.serializer.KryoSerializer", conf.get("spark.serializer"));
    assertEquals("600s", conf.get("spark.barrier.sync.timeout"));
    assertEquals("1000", conf.get(Sessions.CACHE_BATCH_SIZE));
    assertEquals("false", conf.get(Sessions.CACHE_COMPRESSED)); // on one machine, CPU over memory
    SparkConf cluster = Sessions.conf(new SparkSettings("spark://head:7077", "t", Map.of()));
    assertEquals("false", conf.get(Sessions.WHOLE_STAGE_CODEGEN)); // on one machine, no per-query compiling
    assertEquals("NO_CODEGEN", conf.get(Sessions.CODEGEN_FACTORY_MODE));
    assertFalse(cluster.contains(Sessions.CACHE_COMPRESSED), "a cluster keeps Spark's default");
    assertFalse(cluster.contains(Sessions.WHOLE_STAGE_CODEGEN), "a cluster keeps Spark's default");
    assertFalse(cluster.contains(Sessions.CODEGEN_FACTORY_MODE), "a cluster keeps Spark's default");
    assertEquals("false", conf.get(Sessions.ADAPTIVE));
    assertFalse(cluster.contains(Sessions.ADAPTIVE), "a cluster keeps Spark's default");
    assertEquals(RowBatchSerializer.class.getName(), conf.get(Sessions.CACHE_SERIALIZER));
    assertFalse(cluster.contains(Sessions.CACHE_SERIALIZER), "a cluster keeps Spark's default");
    assertEquals("64m", conf.get(Sessions.DIRECT_RESULT_SIZE)); // in one JVM, results handed over directly
    assertFalse(cluster.contains(Sessions.DIRECT_RESULT_SIZE), "a cluster keeps Spark's default");
    assertFalse(cluster.contains("spark.sql.shuffle.partitions"));
  }

  @Test
  void aSparkSubmitPropertyWinsOverTheConfig() {
    String key = "spark.barrier.sync.timeout"; // spark-submit --conf arrives as a spark.* system property
    System.setProperty(key, "30s");
    try {
      SparkConf conf = Sessions.conf(new SparkSettings("local[2]", "t", Map.of(key, "120s")));
      assertEquals("30s", conf.get(key));
    } finally {
      System.clearProperty(key);
    }
  }

  @Test
  void aSettingHoldsForOneCallThenIsAsItWas() {
    SparkSession spark = TestSpark.get();
    String set = "spark.sql.files.maxRecordsPerFile";
    String unset = "spark.sql.parquet.writeLegacyFormat";
    spark.conf().set(set, "7");
    try {
      assertEquals("9", Sessions.withSetting(spark, set, "9", () -> spark.conf().get(set)));
      assertEquals("7", spark.conf().get(set), "a value set before is set again");
      assertEquals("true", Sessions.withSetting(spark, unset, "true", () -> spark.conf().get(unset)));
      assertFalse(spark.conf().getAll().contains(unset), "a property not set before is unset again");
      assertThrows(IllegalStateException.class, () -> Sessions.withSetting(spark, set, "11", () -> {
        throw new IllegalStateException("the call fails");
      }));
      assertEquals("7", spark.conf().get(set), "and after a failure too");
    } finally {
      spark.conf().unset(set);
    }
  }
}
