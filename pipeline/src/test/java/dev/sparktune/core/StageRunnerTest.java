package dev.sparktune.core;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.config.SourceConfig;
import dev.sparktune.ingest.IngestStage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Skipping, staleness, atomic commit and the count invariant, with real Spark and real files. */
class StageRunnerTest {
  @TempDir Path dir;
  SparkSession spark;
  Workspace ws;
  Path input;

  @BeforeEach
  void setUp() throws IOException {
    spark = TestSpark.get();
    ws = new Workspace(dir.resolve("work").toString(), dir, spark.sparkContext().hadoopConfiguration());
    input = dir.resolve("in.jsonl");
    Files.writeString(input, """
        {"instruction": "a", "output": "1"}
        {"instruction": "b", "output": "2"}
        {"instruction": "c", "output": "3"}
        not json
        """);
  }

  private IngestStage ingest(int snippet) {
    SourceConfig source = new SourceConfig("s", SourceConfig.SourceType.JSON, input.toString(), null, null, null, null, null, null, null, null);
    return new IngestStage(new IngestConfig(List.of(source), snippet));
  }

  /** A downstream stage that copies its input, optionally failing on one record or losing one. */
  static final class CopyStage implements Stage {
    private final String failOn;
    private final boolean loseOne;
    private final Record config;

    CopyStage(String failOn, boolean loseOne) {
      this.failOn = failOn;
      this.loseOne = loseOne;
      this.config = new IngestConfig(List.of(new SourceConfig("x", SourceConfig.SourceType.JSON, "unused", null, null, null, null,
          null, null, null, null)), 99);
    }

    @Override
    public String name() {
      return "copy";
    }

    @Override
    public int version() {
      return 1;
    }

    @Override
    public Record config() {
      return config;
    }

    @Override
    public List<String> upstream() {
      return List.of("ingest");
    }

    @Override
    public Map<String, StructType> requiredInputSchemas() {
      return Map.of("ingest", new StructType().add("instruction", DataTypes.StringType));
    }

    @Override
    public StructType outputSchema() {
      return Schemas.RECORD;
    }

    @Override
    public StageOutput apply(StageContext context, Map<String, Dataset<Row>> inputs) {
      Dataset<Row> in = inputs.get("ingest");
      Dataset<Row> out = in;
      if (failOn != null) {
        String bad = failOn;
        UDF1<String, String> check = s -> {
          if (bad.equals(s)) {
            throw new IllegalStateException("injected failure on record " + s);
          }
          return s;
        };
        out = in.withColumn("instruction", udf(check, DataTypes.StringType).apply(col("instruction")));
      }
      if (loseOne) {
        out = out.filter("instruction <> 'b'");
      }
      return new StageOutput(out, null, null, Map.of(), in, null);
    }
  }

  private StageRunner runner(Stage... stages) {
    return new StageRunner(spark, ws, List.of(stages));
  }

  private static boolean ran(List<StageRunner.Outcome> outcomes, String stage) {
    return outcomes.stream().filter(o -> o.stage().equals(stage)).findFirst().orElseThrow().ran();
  }

  @Test
  void secondRunSkipsAndConfigChangeReruns() {
    assertTrue(ran(runner(ingest(100)).run(StageRunner.Options.all()), "ingest"));
    assertEquals(StageStatus.State.UP_TO_DATE, runner(ingest(100)).status().get(0).state());
    List<StageRunner.Outcome> again = runner(ingest(100)).run(StageRunner.Options.all());
    assertFalse(ran(again, "ingest"));
    assertEquals("up to date", again.get(0).reason());

    StageStatus changed = runner(ingest(200)).status().get(0);
    assertEquals(StageStatus.State.STALE, changed.state());
    assertEquals("config changed: ingest.max_snippet_chars", changed.reason());
    assertTrue(ran(runner(ingest(200)).run(StageRunner.Options.all()), "ingest"));
    assertTrue(ran(runner(ingest(200)).run(new StageRunner.Options(null, null, null, true)), "ingest"), "--force");
  }

  @Test
  void changedInputFileMakesItStale() throws IOException {
    runner(ingest(100)).run(StageRunner.Options.all());
    Files.writeString(input, "{\"text\": \"new\"}\n", java.nio.file.StandardOpenOption.APPEND);
    Files.setLastModifiedTime(input, FileTime.fromMillis(System.currentTimeMillis() + 5000));
    StageStatus s = runner(ingest(100)).status().get(0);
    assertEquals(StageStatus.State.STALE, s.state());
    assertTrue(s.reason().startsWith("input files 1 modified"), s.reason());
  }

  @Test
  void upstreamChangeMakesDownstreamStaleAndOnlySelectedStagesRun() {
    List<StageRunner.Outcome> first = runner(ingest(100), new CopyStage(null, false)).run(StageRunner.Options.all());
    assertTrue(ran(first, "ingest") && ran(first, "copy"));
    assertEquals(3, first.get(1).manifest().counts().out());

    List<StageStatus> status = runner(ingest(300), new CopyStage(null, false)).status();
    assertEquals(StageStatus.State.STALE, status.get(0).state());
    assertEquals(StageStatus.State.STALE, status.get(1).state());
    assertEquals("upstream ingest changed", status.get(1).reason());

    List<StageRunner.Outcome> only = runner(ingest(300), new CopyStage(null, false))
        .run(new StageRunner.Options(null, "ingest", null, false));
    assertEquals(1, only.size());
    assertEquals(StageStatus.State.STALE, runner(ingest(300), new CopyStage(null, false)).status().get(1).state());
    List<StageRunner.Outcome> rest = runner(ingest(300), new CopyStage(null, false)).run(StageRunner.Options.all());
    assertFalse(ran(rest, "ingest"));
    assertTrue(ran(rest, "copy"));
  }

  private static Map<String, byte[]> snapshot(Path stageDir) throws IOException {
    Map<String, byte[]> files = new java.util.TreeMap<>();
    try (Stream<Path> s = Files.walk(stageDir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        files.put(stageDir.relativize(p).toString(), Files.readAllBytes(p));
      }
    }
    return files;
  }

  @Test
  void failingStageLeavesPreviousOutputAndManifestUntouched() throws IOException {
    runner(ingest(100), new CopyStage(null, false)).run(StageRunner.Options.all());
    Path copyDir = dir.resolve("work/copy");
    Map<String, byte[]> before = snapshot(copyDir);
    assertTrue(before.containsKey("_manifest.json"));

    StageFailedException e = assertThrows(StageFailedException.class,
        () -> runner(ingest(100), new CopyStage("b", false)).run(new StageRunner.Options(null, null, null, true)));
    assertTrue(e.getMessage().contains("injected failure on record b"), e.getMessage());
    assertTrue(e.getMessage().contains("previous output left untouched"), e.getMessage());

    Map<String, byte[]> after = snapshot(copyDir);
    assertEquals(before.keySet(), after.keySet());
    for (String f : before.keySet()) {
      assertArrayEquals(before.get(f), after.get(f), f);
    }
    try (Stream<Path> staging = Files.list(dir.resolve("work/_staging"))) {
      assertEquals(0, staging.count(), "no staging folder is left behind");
    }
  }

  @Test
  void aSourceStageCountsWhatItWroteAsWhatEntered() {
    // Ingest gives no `entered` table: in is the rows it wrote, in total and per source.
    Manifest.Counts c = runner(ingest(100)).run(StageRunner.Options.all()).get(0).manifest().counts();
    assertEquals(4, c.in());
    assertEquals(3, c.out());
    assertEquals(1, c.rejected());
    assertEquals(new Manifest.SourceCounts(4, 3, 1, 0), c.bySource().get("s"));
  }

  @Test
  void lostRecordsFailTheStage() throws IOException {
    runner(ingest(100)).run(StageRunner.Options.all());
    StageFailedException e = assertThrows(StageFailedException.class,
        () -> runner(ingest(100), new CopyStage(null, true)).run(StageRunner.Options.all()));
    assertTrue(e.getMessage().contains("records unaccounted for"), e.getMessage());
    assertTrue(e.getMessage().contains("in=3, out=2"), e.getMessage());
    assertFalse(Files.exists(dir.resolve("work/copy")), "nothing committed");
  }

  @Test
  void missingUpstreamAndWrongSchemaAreClearErrors() {
    StageFailedException missing = assertThrows(StageFailedException.class,
        () -> runner(ingest(100), new CopyStage(null, false)).run(new StageRunner.Options(null, null, "copy", false)));
    assertTrue(missing.getMessage().contains("needs the output of stage ingest"), missing.getMessage());

    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
        () -> runner(ingest(100)).run(new StageRunner.Options(null, null, "clean", false)));
    assertTrue(unknown.getMessage().contains("unknown stage 'clean'"));
  }
}
