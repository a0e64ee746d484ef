package dev.sparktune.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one-line-per-stage progress report, fed by a real Spark job's task metrics. */
class ProgressTest {
  @TempDir Path dir;

  @Test
  void countsTheRecordsOfTheLargestPassAndPrintsOneFinalLine() throws Exception {
    SparkSession spark = TestSpark.get();
    String table = dir.resolve("t").toString();
    spark.range(0, 5000, 1, 4).selectExpr("id", "cast(id as string) as s").write().parquet(table);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Progress progress = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
    spark.sparkContext().addSparkListener(progress);
    try {
      progress.begin("clean", 5000);
      spark.read().parquet(table).filter("id % 2 = 0").collectAsList(); // one full pass
      spark.read().parquet(table).limit(10).collectAsList(); // a smaller one does not lower the count
      spark.sparkContext().listenerBus().waitUntilEmpty();
      assertEquals(5000, progress.done());
      assertTrue(progress.line("clean", false).startsWith("clean: 5,000 / 5,000 records · "), progress.line("clean", false));
      progress.end();
    } finally {
      spark.sparkContext().removeSparkListener(progress);
      progress.close();
    }
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertEquals(1, out.lines().count(), out);
    assertTrue(out.matches("clean: 5,000 / 5,000 records · [0-9,]+ rec/s · \\d+ s · done\\R"), out);
    assertEquals("1 min 5 s", Progress.duration(65.2));
  }
}
