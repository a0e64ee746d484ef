package dev.sparktune.gpu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparktune.TestSpark;
import dev.sparktune.clean.CleanStage;
import dev.sparktune.config.CleanConfig;
import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.config.SourceConfig;
import dev.sparktune.config.TokenizeConfig;
import dev.sparktune.core.StageContext;
import dev.sparktune.core.StageOutput;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.ingest.IngestStage;
import dev.sparktune.tokenize.TokenizeStage;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the RAPIDS Accelerator would run on a GPU, asked on this CPU: every operator of the clean
 * and tokenize stages' plans must run on the GPU except the expected fallbacks of
 * {@link GpuExplain#expected} (Java UDF projections, the tokenizer's typed mapPartitions), which are
 * printed. Needs the RAPIDS jar on the test classpath (the {@code gpu-plans} surefire execution adds
 * it when .ci/run has fetched it; SPARKTUNE_REQUIRE_RAPIDS=1 makes its absence a failure).
 */
class GpuPlanTest {
  @TempDir Path work;

  @Test
  void cleanAndTokenizePlansRunOnTheGpuButForTheExpectedFallbacks() throws Exception {
    if (!GpuExplain.available()) {
      assertFalse("1".equals(System.getenv("SPARKTUNE_REQUIRE_RAPIDS")),
          "SPARKTUNE_REQUIRE_RAPIDS=1 but the RAPIDS jar is not on the test classpath");
      assumeTrue(false, "RAPIDS jar not on the classpath (.ci/run fetches it)");
    }
    SparkSession spark = TestSpark.get();
    Workspace ws = new Workspace(work.toString(), Paths.get(""), spark.sparkContext().hadoopConfiguration());
    SourceConfig source = ConfigBinder.bind(ConfigTree.parse("""
        name: alpaca
        type: json
        path: ../conf/samples/json/alpaca_general.json
        """, "test"), SourceConfig.class);
    IngestStage ingest = new IngestStage(new IngestConfig(List.of(source), null));
    new StageRunner(spark, ws, List.of(ingest)).run(new StageRunner.Options(null, null, null, false));
    Dataset<Row> records = spark.read().parquet(ws.table(IngestStage.NAME, StageRunner.DATA).toString());
    StageContext context = new StageContext(spark, ws);

    CleanConfig cleanConfig = ConfigBinder.bind(ConfigTree.parse("""
        refusals: {mode: strip, min_chars: 20}
        quality:
          min_chars: {output: 2}
          max_chars: {instruction: 8000, output: 16000}
          min_words: {instruction: 2}
          max_words: {input: 600}
          min_mean_word_length: 2.5
          max_mean_word_length: 12
          max_symbol_word_ratio: 0.1
          max_ellipsis_line_fraction: 0.3
          max_duplicate_ngram_fraction: 0.25
          max_non_printable_ratio: 0.02
        dedup: {exact: true, near: true, bands: 20, rows: 5, threshold: 0.8}
        """, "test"), CleanConfig.class);
    spark.conf().set(CleanStage.GPU_PLAN, "true");
    StageOutput clean;
    try {
      clean = new CleanStage(cleanConfig).apply(context, Map.of(IngestStage.NAME, records));
    } finally {
      spark.conf().unset(CleanStage.GPU_PLAN);
    }
    TokenizeConfig tokenizeConfig = ConfigBinder.bind(ConfigTree.parse(
        "tokenizer: ../conf/samples/tokenizer/tokenizer.json\nval_ratio: 0.2\n", "test"), TokenizeConfig.class);
    StageOutput tokenize = new TokenizeStage(tokenizeConfig, CleanStage.NAME)
        .apply(context, Map.of(CleanStage.NAME, clean.data()));

    Map<String, Dataset<Row>> plans = new LinkedHashMap<>();
    plans.put("clean data", clean.data());
    plans.put("clean dropped", clean.dropped());
    clean.extras().forEach((name, table) -> plans.put("clean " + name, table));
    plans.put("tokenize data", tokenize.data());
    // The stages cache intermediate tables; explain the plans behind them, not the cache scans.
    spark.catalog().clearCache();

    List<String> unexpected = new ArrayList<>();
    Map<String, Integer> expected = new TreeMap<>();
    for (Map.Entry<String, Dataset<Row>> plan : plans.entrySet()) {
      for (GpuExplain.Fallback f : GpuExplain.fallbacks(GpuExplain.report(plan.getValue()))) {
        if (f.expected() == null) {
          unexpected.add(plan.getKey() + ": " + f.line() + " (causes: " + f.causes() + ")");
        } else {
          expected.merge(f.exec() + " — " + f.expected(), 1, Integer::sum);
        }
      }
    }
    System.out.println("Operators that stay on the CPU by design (the allow-list), by count:");
    expected.forEach((why, n) -> System.out.println("  " + n + " × " + why));
    assertTrue(unexpected.isEmpty(), "operators that would fall back to the CPU:\n" + String.join("\n", unexpected));
    assertTrue(!expected.isEmpty(), "the report was read: the UDF projections must show up as fallbacks");
  }
}
