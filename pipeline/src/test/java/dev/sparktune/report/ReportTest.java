package dev.sparktune.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.Workspace;
import dev.sparktune.train.MetricsLog;
import dev.sparktune.train.Samples;
import dev.sparktune.train.TrainStage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report reads the train stage's outputs (metrics.jsonl, samples.jsonl) and loads no model. */
class ReportTest {
  private static final String SAMPLE = "{\"prompt\":\"What is <b>?\",\"expected\":\"A tag.\",\"base\":\"noise\","
      + "\"adapter\":\"A tag, closer.\"}\n";

  private static String report(Path work, boolean samples) throws Exception {
    Workspace ws = new Workspace(work.toString(), Paths.get(""), new Configuration());
    Path train = work.resolve(TrainStage.NAME);
    Files.createDirectories(train);
    StringBuilder metrics = new StringBuilder();
    for (int step = 1; step <= 4; step++) {
      metrics.append("{\"step\":").append(step).append(",\"epoch\":1.0,\"loss\":").append(6.0 - step)
          .append(",\"lr\":0.001,\"grad_norm\":1.0,\"tokens_per_s\":100.0,\"gflops\":1.0}\n");
    }
    Files.writeString(train.resolve(MetricsLog.FILE), metrics);
    if (samples) {
      Files.writeString(train.resolve(Samples.FILE), SAMPLE);
    }
    new Manifest(TrainStage.NAME, "f", "test", 3, null, Map.of(), List.of(),
        new Manifest.Counts(20, 20, 0, 0, Map.of(), Map.of(), Map.of()), Map.of(), Map.of(),
        "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", 60.0)
        .write(ws.fs(ws.manifest(TrainStage.NAME)), ws.manifest(TrainStage.NAME));
    // No tokenize section ran, so the report needs no config.
    org.apache.hadoop.fs.Path file = new Report(TestSpark.get(), ws, null).write();
    return Files.readString(Paths.get(file.toUri()));
  }

  @Test
  void showsTheTrainStagesSamples(@TempDir Path work) throws Exception {
    String html = report(work, true);
    assertTrue(html.contains("<h2>Sample generations</h2>"), html);
    assertTrue(html.contains("What is &lt;b&gt;?"), html);
    assertTrue(html.contains("A tag, closer."), html);
    assertTrue(html.contains("4 logged steps"), html);
  }

  @Test
  void saysSoWhenTheTrainStageWroteNoSamples(@TempDir Path work) throws Exception {
    String html = report(work, false);
    assertTrue(html.contains("Needs a trained adapter"), html);
    assertFalse(html.contains("with the adapter</th>"), html);
  }
  /**
   * A report is current while nothing it is drawn from changed; a stage's new manifest, or new training
   * samples, make it stale, and it is current again once drawn.
   */
  @Test
  void isCurrentUntilAManifestOrTheSamplesChange(@TempDir Path work) throws Exception {
    report(work, true);
    Workspace ws = new Workspace(work.toString(), Paths.get(""), new Configuration());
    Report again = new Report(TestSpark.get(), ws, null);
    assertEquals(work.resolve("report/index.html").toUri(), Paths.get(again.current().toUri()).toUri());

    Manifest train = Manifest.read(ws.fs(ws.manifest(TrainStage.NAME)), ws.manifest(TrainStage.NAME));
    ws.fs(ws.manifest(TrainStage.NAME)).delete(ws.manifest(TrainStage.NAME), false);
    new Manifest(train.stage(), train.fingerprint(), train.sparktuneVersion(), train.stageVersion(), train.config(),
        train.upstream(), train.inputs(), train.counts(), train.tables(), train.breakdowns(), train.startedAt(),
        "2026-01-02T00:01:00Z", train.durationSeconds())
        .write(ws.fs(ws.manifest(TrainStage.NAME)), ws.manifest(TrainStage.NAME));
    assertNull(again.current(), "the train stage ran again");
    new Report(TestSpark.get(), ws, null).write();
    assertNotNull(new Report(TestSpark.get(), ws, null).current());

    Files.writeString(work.resolve(TrainStage.NAME).resolve(Samples.FILE), SAMPLE + SAMPLE);
    assertNull(new Report(TestSpark.get(), ws, null).current(), "new sample generations");
  }

  /** The token-length figures Spark computes equal those of the examples' lengths counted one by one. */
  @Test
  void tokenLengthsAreThoseOfTheRowsCountedOneByOne() {
    org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
        .add("num_tokens", "int").add("truncated", "boolean").add("split", "string");
    java.util.Random random = new java.util.Random(3);
    for (int n : new int[] {0, 1, 2, 801}) {
      List<org.apache.spark.sql.Row> rows = new java.util.ArrayList<>();
      List<Integer> lengths = new java.util.ArrayList<>();
      for (int i = 0; i < n; i++) {
        // Lengths below max_length and past it; with the longest 700, top is 735 and 245, 490 lie on bin edges.
        int len = n > 3 && i < 3 ? new int[] {700, 245, 490}[i] : i % 7 == 0 ? 512 : 1 + random.nextInt(700);
        lengths.add(len);
        rows.add(org.apache.spark.sql.RowFactory.create(len, len >= 512, i % 9 == 0 ? "validation" : "train"));
      }
      TokenLengths t = TokenLengths.of(TestSpark.get().createDataFrame(rows, schema), 512, 24);
      int longest = Math.max(1, lengths.stream().mapToInt(Integer::intValue).max().orElse(1));
      double top = Math.max(512, longest) * 1.05;
      long[] counts = new long[24];
      for (int len : lengths) {
        counts[Svg.bin(len, 24, top)]++;
      }
      double[] sorted = lengths.stream().mapToDouble(Integer::doubleValue).sorted().toArray();
      double median = sorted.length == 0 ? Double.NaN : sorted.length % 2 == 1 ? sorted[sorted.length / 2]
          : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
      org.junit.jupiter.api.Assertions.assertArrayEquals(counts, t.counts(), "n " + n);
      org.junit.jupiter.api.Assertions.assertEquals(n, t.examples());
      org.junit.jupiter.api.Assertions.assertEquals(median, t.median(), "n " + n);
      org.junit.jupiter.api.Assertions.assertEquals(longest, t.longest());
      org.junit.jupiter.api.Assertions.assertEquals(top, t.top());
      org.junit.jupiter.api.Assertions.assertEquals(lengths.stream().filter(l -> l >= 512).count(), t.truncated());
      org.junit.jupiter.api.Assertions.assertEquals(rows.stream().filter(r -> r.getString(2).equals("validation"))
          .count(), t.validation());
    }
  }
}
