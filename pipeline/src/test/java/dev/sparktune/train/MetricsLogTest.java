package dev.sparktune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** metrics.jsonl keeps its bytes: users and notebooks read it. */
class MetricsLogTest {
  // Lines as the trainer wrote them before MetricsLog existed (the demo's step 10; a float16 step).
  static final String EVAL_LINE = "{\"step\":10,\"epoch\":2.0,\"loss\":5.859728064903846,\"lr\":0.004903154239845798,"
      + "\"grad_norm\":1.3968691849214157,\"tokens_per_s\":7352.787922437929,\"gflops\":5.556234353614676,"
      + "\"eval_loss\":6.026194558214786,\"eval_ppl\":414.13605628900336,\"time_s\":{\"data\":1.20386E-4,"
      + "\"forward\":0.024236897,\"backward\":0.008889607,\"optimizer\":8.36594E-4,\"collective\":2.093E-6}}";
  static final String FP16_LINE = "{\"step\":3,\"epoch\":0.5,\"loss\":7.25,\"lr\":1.0E-4,\"grad_norm\":0.0,"
      + "\"tokens_per_s\":100.0,\"gflops\":0.5,\"time_s\":{\"data\":0.0,\"forward\":0.1,\"backward\":0.2,"
      + "\"optimizer\":0.0,\"collective\":0.0},\"loss_scale\":32768.0,\"skipped\":true}";

  @Test
  void aLineReadAndWrittenAgainIsTheSameBytes() throws Exception {
    for (String line : List.of(EVAL_LINE, FP16_LINE)) {
      List<StepMetrics> read = MetricsLog.read(new ByteArrayInputStream((line + "\n").getBytes(StandardCharsets.UTF_8)));
      assertEquals(1, read.size());
      assertEquals(line, MetricsLog.toJson(read.get(0)));
    }
  }

  @Test
  void appendsTruncatesAndReadsBack(@TempDir Path dir) throws Exception {
    MetricsLog log = new MetricsLog(dir);
    for (int step = 1; step <= 4; step++) {
      log.append(new StepMetrics(step, 4, step / 4.0, 5.0 - step, 1e-3, 1.0, 10, 0.1, step == 2 ? 4.5 : null,
          new TrainStep.Phases(0, 1, 2, 3, 4), null, false));
    }
    assertEquals(4, Files.readAllLines(dir.resolve(MetricsLog.FILE)).size());
    log.truncateAfter(2);
    List<StepMetrics> read = log.read();
    assertEquals(2, read.size());
    assertEquals(4.5, read.get(1).evalLoss());
    assertNull(read.get(0).evalLoss());
    assertEquals(new TrainStep.Phases(0, 1, 2, 3, 4), read.get(0).phases());
    Row row = MetricsLog.toRow(read.get(1));
    assertEquals(MetricsLog.SCHEMA.size(), row.size());
    assertEquals(2, row.getInt(0));
    assertEquals(4.5, row.getDouble(MetricsLog.SCHEMA.fieldIndex("eval_loss")));
    assertTrue(Files.readString(dir.resolve(MetricsLog.FILE)).endsWith("\n"));
  }
}
