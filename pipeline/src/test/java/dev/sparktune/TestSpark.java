package dev.sparktune;

import org.apache.spark.sql.SparkSession;

/** The one real local[2] Spark session of a test JVM. */
public final class TestSpark {
  private static SparkSession spark;

  private TestSpark() {}

  public static synchronized SparkSession get() {
    if (spark == null) {
      spark = SparkSession.builder()
          .master("local[2]")
          .appName("sparktune-test")
          .config("spark.ui.enabled", "false")
          .config("spark.ui.showConsoleProgress", "false")
          .config("spark.sql.shuffle.partitions", "2")
          .config("spark.driver.host", "localhost")
          .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
          .config(dev.sparktune.core.Sessions.CACHE_BATCH_SIZE, dev.sparktune.core.Sessions.CACHE_BATCH_ROWS)
          // Local runs' cache format (Sessions), so that every test that persists a table goes through it.
          .config(dev.sparktune.core.Sessions.CACHE_SERIALIZER, dev.sparktune.core.RowBatchSerializer.class.getName())
          .getOrCreate();
    }
    return spark;
  }
}
