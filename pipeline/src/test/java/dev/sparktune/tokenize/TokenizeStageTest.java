package dev.sparktune.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.TestSpark;
import dev.sparktune.clean.CleanStage;
import dev.sparktune.config.CleanConfig;
import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.config.SourceConfig;
import dev.sparktune.config.TokenizeConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.ingest.IngestStage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenize stage end to end: the Hugging Face dataset it writes, read back with Arrow Java. */
class TokenizeStageTest {
  private static final String TOKENIZER = Path.of("src/test/resources/tokenize/tokenizer.json").toAbsolutePath()
      .toString();
  @TempDir Path dir;

  Path input(String name, int records) throws IOException {
    return input(name, records, 1);
  }

  /** Records whose output repeats its sentence {@code outputRepeats} times. */
  Path input(String name, int records, int outputRepeats) throws IOException {
    ObjectMapper json = new ObjectMapper();
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < records; i++) {
      Map<String, String> r = new LinkedHashMap<>();
      r.put("instruction", "Question number " + i + ": what is " + i + " plus " + i + "?");
      if (i % 3 == 0) {
        r.put("input", "Show the working.");
      }
      r.put("output", (i + " plus " + i + " is " + (2 * i) + ". ").repeat(outputRepeats).strip());
      sb.append(json.writeValueAsString(r)).append('\n');
    }
    sb.append("{\"text\": \"A plain text record for causal language modelling.\"}\n");
    Path p = dir.resolve(name);
    Files.writeString(p, sb.toString());
    return p;
  }

  Manifest run(Path work, Path input, String tokenizeYaml) {
    SparkSession spark = TestSpark.get();
    SourceConfig source = new SourceConfig("t", SourceConfig.SourceType.JSON, input.toString(), null, null, null, null,
        null, null, null, null);
    CleanConfig clean = ConfigBinder.bind(ConfigTree.parse("{refusals: {mode: off}, dedup: {exact: false, near: false}}",
        "test"), CleanConfig.class);
    TokenizeConfig tokenize = ConfigBinder.bind(ConfigTree.parse("tokenizer: " + TOKENIZER + "\n" + tokenizeYaml,
        "test"), TokenizeConfig.class);
    Workspace ws = new Workspace(work.toString(), dir, spark.sparkContext().hadoopConfiguration());
    return new StageRunner(spark, ws, List.of(new IngestStage(new IngestConfig(List.of(source), null)),
        new CleanStage(clean), new TokenizeStage(tokenize, CleanStage.NAME)))
        .run(new StageRunner.Options(null, null, null, true)).get(2).manifest();
  }

  /** id -> {input_ids, labels} of every example in a split's shards, read with Arrow Java. */
  static Map<String, long[][]> readShards(Path split) throws IOException {
    Map<String, long[][]> out = new HashMap<>();
    try (var files = Files.list(split)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".arrow")).sorted().toList()) {
        try (InputStream in = Files.newInputStream(f); RootAllocator a = new RootAllocator();
            ArrowStreamReader reader = new ArrowStreamReader(in, a)) {
          VectorSchemaRoot root = reader.getVectorSchemaRoot();
          while (reader.loadNextBatch()) {
            for (int r = 0; r < root.getRowCount(); r++) {
              List<?> ids = ((ListVector) root.getVector("input_ids")).getObject(r);
              List<?> labels = ((ListVector) root.getVector("labels")).getObject(r);
              long[][] v = new long[2][ids.size()];
              for (int k = 0; k < ids.size(); k++) {
                v[0][k] = ((Number) ids.get(k)).longValue();
                v[1][k] = ((Number) labels.get(k)).longValue();
              }
              out.put(new String(((VarCharVector) root.getVector("id")).get(r)), v);
            }
          }
        }
      }
    }
    return out;
  }

  @Test
  void writesAHuggingFaceDatasetThatArrowReadsBack() throws IOException {
    Path work = dir.resolve("a");
    Manifest m = run(work, input("in.jsonl", 60), "val_ratio: 0.2\nshard_records: 20\n");
    assertEquals(61, m.counts().in());
    assertEquals(61, m.counts().out());
    Path dataset = work.resolve("tokenize/dataset");
    assertEquals("{\"splits\": [\"train\", \"validation\"]}", Files.readString(dataset.resolve("dataset_dict.json")));
    Map<String, String> splitOf = new HashMap<>();
    Map<String, long[][]> fromTable = new HashMap<>();
    for (Row r : TestSpark.get().read().parquet(work.resolve("tokenize/data").toString()).collectAsList()) {
      splitOf.put(r.getAs("id"), r.getAs("split"));
      List<Integer> ids = r.getList(r.fieldIndex("input_ids"));
      List<Long> labels = r.getList(r.fieldIndex("labels"));
      fromTable.put(r.getAs("id"), new long[][] {ids.stream().mapToLong(Integer::longValue).toArray(),
          labels.stream().mapToLong(Long::longValue).toArray()});
    }
    int total = 0;
    for (String split : TokenizeStage.SPLITS) {
      Map<String, long[][]> shards = readShards(dataset.resolve(split));
      total += shards.size();
      String state = Files.readString(dataset.resolve(split).resolve("state.json"));
      assertTrue(state.contains("\"_split\" : \"" + split + "\""), state);
      for (Map.Entry<String, long[][]> e : shards.entrySet()) {
        assertEquals(split, splitOf.get(e.getKey()));
        assertArrayEquals(fromTable.get(e.getKey())[0], e.getValue()[0]);
        assertArrayEquals(fromTable.get(e.getKey())[1], e.getValue()[1]);
        assertEquals(2, e.getValue()[0][e.getValue()[0].length - 1], "EOS id last");
      }
    }
    assertEquals(61, total);
    long trainShards;
    try (var s = Files.list(dataset.resolve("train"))) {
      trainShards = s.filter(p -> p.toString().endsWith(".arrow")).count();
    }
    assertTrue(trainShards >= 2, "split into shards of 20");
    Map<String, Long> splits = m.breakdowns().get("splits");
    assertEquals(61L, splits.get("train_examples") + splits.get("validation_examples"));
    // 20 examples a shard: the shard count follows the split's size.
    assertEquals((splits.get("train_examples") + 19) / 20, trainShards);
    // The length histogram: one file, in (split, bucket) order, its examples adding up per split.
    Path stats = work.resolve("tokenize/" + TokenizeStage.STATS);
    try (var files = Files.list(stats)) {
      assertEquals(1, files.filter(p -> p.toString().endsWith(".parquet")).count());
    }
    List<Row> buckets = TestSpark.get().read().parquet(stats.toString()).collectAsList();
    Map<String, Long> perSplit = new HashMap<>();
    for (int i = 0; i < buckets.size(); i++) {
      Row r = buckets.get(i);
      perSplit.merge(r.getAs("split"), r.<Long>getAs("examples"), Long::sum);
      if (i > 0) {
        Row q = buckets.get(i - 1);
        int order = q.<String>getAs("split").compareTo(r.getAs("split"));
        assertTrue(order < 0 || order == 0 && q.<Integer>getAs("bucket_start") < r.<Integer>getAs("bucket_start"),
            "stats rows in (split, bucket_start) order: " + buckets);
      }
    }
    assertEquals(splits.get("train_examples"), perSplit.get("train"));
    assertEquals(splits.get("validation_examples"), perSplit.get("validation"));
  }

  @Test
  void eachExampleIsInItsIdsShardInIdOrderAndEmptyShardsAreWritten() throws IOException {
    Path work = dir.resolve("shards");
    // One record a shard: with 25 shards for 25 examples, some shards get two ids and some none.
    run(work, input("shards.jsonl", 24), "val_ratio: 0.0\nshard_records: 1\n");
    Path train = work.resolve("tokenize/dataset/train");
    int shards = 25;
    int empty = 0;
    int examples = 0;
    for (int s = 0; s < shards; s++) {
      Path file = train.resolve(DatasetDictWriter.shardName(s, shards));
      assertTrue(Files.isRegularFile(file), "state.json lists " + file.getFileName() + ", so it must exist");
      List<String> ids = shardIds(file);
      for (String id : ids) {
        assertEquals(s, Math.floorMod(id.hashCode(), shards), id + " is in shard " + s);
      }
      assertEquals(ids.stream().sorted().toList(), ids, "ids in order within shard " + s);
      empty += ids.isEmpty() ? 1 : 0;
      examples += ids.size();
    }
    assertEquals(25, examples);
    assertTrue(empty > 0, "the fixture is meant to leave a shard empty");
    assertTrue(Files.readString(train.resolve("state.json")).contains(DatasetDictWriter.shardName(shards - 1, shards)));
  }

  /** The ids of one Arrow shard, in file order. */
  static List<String> shardIds(Path file) throws IOException {
    List<String> ids = new java.util.ArrayList<>();
    try (InputStream in = Files.newInputStream(file); RootAllocator a = new RootAllocator();
        ArrowStreamReader reader = new ArrowStreamReader(in, a)) {
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      while (reader.loadNextBatch()) {
        for (int r = 0; r < root.getRowCount(); r++) {
          ids.add(new String(((VarCharVector) root.getVector("id")).get(r), java.nio.charset.StandardCharsets.UTF_8));
        }
      }
    }
    return ids;
  }

  @Test
  void sameInputSameBytesAndMoreDataKeepsSplits() throws IOException {
    Path small = input("small.jsonl", 40);
    Path work = dir.resolve("b");
    run(work, small, "val_ratio: 0.25\n");
    Map<String, byte[]> first = shardBytes(work);
    Map<String, String> firstSplits = splits(work);
    run(work, small, "val_ratio: 0.25\n");
    Map<String, byte[]> second = shardBytes(work);
    assertEquals(first.keySet(), second.keySet());
    for (String f : first.keySet()) {
      assertArrayEquals(first.get(f), second.get(f), "byte-identical " + f);
    }
    Path more = input("more.jsonl", 80);
    Path work2 = dir.resolve("c");
    run(work2, more, "val_ratio: 0.25\n");
    Map<String, String> moreSplits = splits(work2);
    for (Map.Entry<String, String> e : firstSplits.entrySet()) {
      assertEquals(e.getValue(), moreSplits.get(e.getKey()), "record " + e.getKey() + " moved");
    }
  }

  static Map<String, byte[]> shardBytes(Path work) throws IOException {
    Map<String, byte[]> out = new HashMap<>();
    for (String split : TokenizeStage.SPLITS) {
      try (var files = Files.list(work.resolve("tokenize/dataset").resolve(split))) {
        for (Path f : files.filter(p -> p.getFileName().toString().startsWith("data-")).toList()) {
          out.put(split + "/" + f.getFileName(), Files.readAllBytes(f));
        }
      }
    }
    return out;
  }

  static Map<String, String> splits(Path work) {
    Map<String, String> out = new HashMap<>();
    for (Row r : TestSpark.get().read().parquet(work.resolve("tokenize/data").toString()).collectAsList()) {
      out.put(r.getAs("id"), r.getAs("split"));
    }
    return out;
  }

  @Test
  void packingKeepsExamplesApartWithPositionIds() throws IOException {
    Path work = dir.resolve("packed");
    run(work, input("pack.jsonl", 50), "val_ratio: 0.0\nmax_length: 512\npacking: true\n");
    Map<String, Integer> lengths = new HashMap<>();
    for (Row r : TestSpark.get().read().parquet(work.resolve("tokenize/data").toString()).collectAsList()) {
      lengths.put(r.getAs("id"), r.getAs("num_tokens"));
    }
    Path train = work.resolve("tokenize/dataset/train");
    assertTrue(Files.readString(train.resolve("dataset_info.json")).contains("position_ids"));
    java.util.Set<String> seen = new java.util.HashSet<>();
    int rows = 0;
    try (var files = Files.list(train)) {
      for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".arrow")).toList()) {
        try (InputStream in = Files.newInputStream(f); RootAllocator a = new RootAllocator();
            ArrowStreamReader reader = new ArrowStreamReader(in, a)) {
          VectorSchemaRoot root = reader.getVectorSchemaRoot();
          while (reader.loadNextBatch()) {
            for (int r = 0; r < root.getRowCount(); r++, rows++) {
              List<?> positions = ((ListVector) root.getVector("position_ids")).getObject(r);
              String[] ids = new String(((VarCharVector) root.getVector("id")).get(r)).split(",");
              assertTrue(positions.size() <= 512);
              int at = 0;
              for (String id : ids) {
                assertTrue(seen.add(id), "example packed twice: " + id);
                int n = lengths.get(id);
                for (int k = 0; k < n; k++) {
                  assertEquals(k, ((Number) positions.get(at + k)).intValue(), "positions restart per example");
                }
                at += n;
              }
              assertEquals(positions.size(), at);
            }
          }
        }
      }
    }
    assertEquals(lengths.keySet(), seen, "every example packed once");
    assertTrue(rows < lengths.size(), "rows hold several examples: " + rows + " rows for " + lengths.size());
  }

  @Test
  void lengthLimits() throws IOException {
    // Prompts are ~100-140 tokens, outputs ~150: at 200 tokens every example is cut inside its answer.
    Path in = input("len.jsonl", 10, 12);
    Path work = dir.resolve("d");
    Manifest truncate = run(work, in, "max_length: 200\nmin_response_tokens: 16\n");
    List<Row> rows = TestSpark.get().read().parquet(work.resolve("tokenize/data").toString())
        .filter("truncated").collectAsList();
    assertEquals(10, rows.size(), "every instruction example is longer than 200 tokens");
    for (Row r : rows) {
      List<Integer> ids = r.getList(r.fieldIndex("input_ids"));
      assertEquals(200, ids.size());
      assertTrue(ids.get(199) != 2, "no EOS after a cut");
    }
    Manifest tooShort = run(dir.resolve("e"), in, "max_length: 150\nmin_response_tokens: 40\n");
    assertTrue(tooShort.counts().droppedByReason().getOrDefault("response_truncated", 0L) > 0,
        tooShort.counts().droppedByReason().toString());
    Manifest drop = run(dir.resolve("f"), in, "max_length: 200\noverflow: drop\n");
    assertEquals(10L, drop.counts().droppedByReason().get("too_long"));
    assertEquals(drop.counts().in(), drop.counts().out() + drop.counts().dropped());
    // The dataset holds the data table's examples and no dropped record.
    Set<String> inDataset = new HashSet<>();
    for (String split : TokenizeStage.SPLITS) {
      inDataset.addAll(readShards(dir.resolve("f/tokenize/dataset").resolve(split)).keySet());
    }
    Set<String> inTable = new HashSet<>();
    TestSpark.get().read().parquet(dir.resolve("f/tokenize/data").toString()).select("id").collectAsList()
        .forEach(r -> inTable.add(r.getString(0)));
    assertEquals(inTable, inDataset);
    assertEquals(drop.counts().out(), inDataset.size());
    // A dropped record keeps its texts (the tokenized rows beside it do not carry theirs).
    for (Row r : TestSpark.get().read().parquet(dir.resolve("f/tokenize/dropped").toString()).collectAsList()) {
      assertTrue(r.getString(r.fieldIndex("instruction")).length() > 0 && r.getString(r.fieldIndex("output")).length() > 0,
          r.toString());
    }
    assertTrue(truncate.counts().out() > drop.counts().out());
  }
  /**
   * The cache's batches hold at most ~8 MB of token arrays (Spark counts a cached partition's memory
   * once every 16 batches), never more rows than the session's setting; and the stage sets the
   * session's setting back when it is done.
   */
  @Test
  void cacheBatchesStaySmallAndTheSessionSettingComesBack() throws IOException {
    assertEquals(1_000, TokenizeStage.cacheBatchRows(512, 1_000));
    assertEquals(500, TokenizeStage.cacheBatchRows(512, 500));
    assertEquals(170, TokenizeStage.cacheBatchRows(4_096, 1_000));
    assertEquals(64, TokenizeStage.cacheBatchRows(1 << 20, 1_000));
    for (int maxLength : new int[] {1, 200, 512, 2_048, 8_192, 32_768}) {
      int rows = TokenizeStage.cacheBatchRows(maxLength, 10_000);
      assertTrue(rows == 64 || 12L * maxLength * rows <= 8L << 20, maxLength + " tokens: " + rows + " rows");
    }
    String before = TestSpark.get().conf().get(dev.sparktune.core.Sessions.CACHE_BATCH_SIZE);
    run(dir.resolve("g"), input("batch.jsonl", 4, 2), "max_length: 8192\n");
    assertEquals(before, TestSpark.get().conf().get(dev.sparktune.core.Sessions.CACHE_BATCH_SIZE));
    // The cache really is in batches of that size (Spark takes it when the cache is declared).
    Dataset<Row> rows = TokenizeStage.persistInBatches(TestSpark.get().range(0, 10_000, 1, 1).toDF(), 4_096);
    try {
      rows.count();
      long batches = ((org.apache.spark.sql.classic.SparkSession) TestSpark.get()).sharedState().cacheManager()
          .lookupCachedData((org.apache.spark.sql.classic.Dataset<?>) rows).get().cachedRepresentation()
          .cacheBuilder().cachedColumnBuffers().count();
      assertEquals((10_000 + 169) / 170, batches, "10,000 rows in batches of 170");
      assertEquals(before, TestSpark.get().conf().get(dev.sparktune.core.Sessions.CACHE_BATCH_SIZE));
    } finally {
      rows.unpersist();
    }
  }
}
