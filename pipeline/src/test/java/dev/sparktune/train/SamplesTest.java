package dev.sparktune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** samples.jsonl: what the train stage writes is what the report reads. */
class SamplesTest {
  @Test
  void samplesRoundTrip(@TempDir Path dir) throws Exception {
    List<Samples.Sample> samples = List.of(new Samples.Sample("Q?\n", "A.", "noise \u00e9", "closer"),
        new Samples.Sample("p", "", "", "x"));
    Samples.write(dir, samples);
    try (var in = Files.newInputStream(dir.resolve(Samples.FILE))) {
      assertEquals(samples, Samples.read(in));
    }
  }
}
