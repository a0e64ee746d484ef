package dev.sparktune.jobs;

import dev.sparktune.config.CleanConfig;
import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.config.SourceConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.clean.CleanStage;
import dev.sparktune.ingest.IngestStage;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.sql.SparkSession;

/**
 * Clean-stage throughput on N synthetic instruction records (JSON lines) with refusal boilerplate
 * (5%), exact duplicates (5%) and near duplicates (5%), all rules and both dedups on.
 */
final class CleanBench {
  private static final String[] WORDS = ("the a of to and in is for on with as by at from data model record "
      + "pipeline spark token cluster train adapter source clean quality shard arrow parquet export invoice "
      + "account password settings report dashboard team project workspace billing refund customer support "
      + "question answer example value column table river mountain city market recipe garden music").split(" ");

  private CleanBench() {}

  static final String DEFAULT_CONFIG = """
      quality:
        min_chars: {output: 2}
        max_chars: {output: 8000}
        min_mean_word_length: 2
        max_symbol_word_ratio: 0.1
        max_ellipsis_line_fraction: 0.3
        max_duplicate_ngram_fraction: 0.3
        max_non_printable_ratio: 0.05
      """;

  static Manifest run(SparkSession spark, Path dir, int records, String cleanYaml) throws IOException {
    Path input = input(dir, records);
    SourceConfig source = source(input);
    CleanConfig clean = ConfigBinder.bind(ConfigTree.parse(cleanYaml, "bench"), CleanConfig.class);
    Workspace ws = new Workspace(dir.resolve("work-" + records).toString(), dir,
        spark.sparkContext().hadoopConfiguration());
    StageRunner runner = new StageRunner(spark, ws, List.of(new IngestStage(new IngestConfig(List.of(source), null)),
        new CleanStage(clean)));
    runner.run(new StageRunner.Options(null, "ingest", null, false));
    return runner.run(new StageRunner.Options(null, null, "clean", true)).get(0).manifest();
  }

  /** Cluster-stage throughput: ingest and a light clean once, then the cluster stage alone. */
  static Manifest runCluster(SparkSession spark, Path dir, int records, String clusterYaml) throws IOException {
    Path input = input(dir, records);
    SourceConfig source = source(input);
    CleanConfig clean = ConfigBinder.bind(ConfigTree.parse("{refusals: {mode: off}, dedup: {near: false}}", "bench"),
        CleanConfig.class);
    dev.sparktune.config.ClusterConfig cluster = ConfigBinder.bind(ConfigTree.parse(clusterYaml, "bench"),
        dev.sparktune.config.ClusterConfig.class);
    Workspace ws = new Workspace(dir.resolve("work-cluster-" + records).toString(), dir,
        spark.sparkContext().hadoopConfiguration());
    StageRunner runner = new StageRunner(spark, ws, List.of(new IngestStage(new IngestConfig(List.of(source), null)),
        new CleanStage(clean), new dev.sparktune.cluster.ClusterStage(cluster)));
    runner.run(new StageRunner.Options(null, "clean", null, false));
    return runner.run(new StageRunner.Options(null, null, "cluster", true)).get(0).manifest();
  }

  /** Tokenize-stage throughput, and DJL's raw batch-encode rate on the same rendered texts. */
  static String runTokenize(SparkSession spark, Path dir, int records, String tokenizer) throws Exception {
    Path input = input(dir, records);
    SourceConfig source = source(input);
    CleanConfig clean = ConfigBinder.bind(ConfigTree.parse("{refusals: {mode: off}, dedup: {exact: false, near: false}}",
        "bench"), CleanConfig.class);
    dev.sparktune.config.TokenizeConfig tok = ConfigBinder.bind(ConfigTree.parse("tokenizer: " + tokenizer
        + "\nmax_length: 4096\n", "bench"), dev.sparktune.config.TokenizeConfig.class);
    Workspace ws = new Workspace(dir.resolve("work-tokenize-" + records).toString(), dir,
        spark.sparkContext().hadoopConfiguration());
    StageRunner runner = new StageRunner(spark, ws, List.of(new IngestStage(new IngestConfig(List.of(source), null)),
        new CleanStage(clean), new dev.sparktune.tokenize.TokenizeStage(tok, "clean")));
    runner.run(new StageRunner.Options(null, "clean", null, false));
    Manifest m = runner.run(new StageRunner.Options(null, null, "tokenize", true)).get(0).manifest();
    long tokens = m.breakdowns().get("splits").entrySet().stream().filter(e -> e.getKey().endsWith("_tokens"))
        .mapToLong(Map.Entry::getValue).sum();
    // Baseline: the same texts, rendered with the same template, batch-encoded by DJL.
    List<String> texts = new java.util.ArrayList<>();
    dev.sparktune.tokenize.PromptTemplate alpaca = dev.sparktune.tokenize.PromptTemplate.of("alpaca");
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    for (String line : Files.readAllLines(input)) {
      var node = json.readTree(line);
      var r = alpaca.render(node.get("instruction").asText(), node.get("input").asText(), node.get("output").asText());
      texts.add(r.prompt() + r.response());
    }
    long rawTokens = 0;
    long start = System.nanoTime();
    try (var t = ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(Path.of(tokenizer), Map.of(
        "addSpecialTokens", "true", "padding", "false", "truncation", "false"))) {
      for (int i = 0; i < texts.size(); i += 256) {
        for (var e : t.batchEncode(texts.subList(i, Math.min(texts.size(), i + 256)).toArray(String[]::new))) {
          rawTokens += e.getIds().length;
        }
      }
    }
    double rawSeconds = (System.nanoTime() - start) / 1e9;
    return String.format("tokenize stage: %d examples, %d tokens in %.1f s = %.0f tokens/s (%d cores)%n"
        + "DJL batchEncode (one calling thread, batches of 256; the Rust library may use every core): %d tokens in %.1f s = %.0f tokens/s",
        m.counts().out(), tokens, m.durationSeconds(), tokens / m.durationSeconds(),
        Runtime.getRuntime().availableProcessors(), rawTokens, rawSeconds, rawTokens / rawSeconds);
  }

  /** The bench corpus of {@code records} records under {@code dir}, generated once and reused. */
  private static Path input(Path dir, int records) throws IOException {
    Files.createDirectories(dir);
    Path input = dir.resolve("records-" + records + ".jsonl");
    if (!Files.exists(input)) {
      generate(input, records);
    }
    return input;
  }

  private static SourceConfig source(Path input) {
    return new SourceConfig("bench", SourceConfig.SourceType.JSON, input.toString(), null, null, null, null, null,
        null, null, null);
  }

  private static String sentence(Random r, int words) {
    return sentence(r, words, WORDS);
  }

  /** {@code words} words drawn from {@code vocabulary}, capitalised, ending in a full stop. */
  static String sentence(Random r, int words, String[] vocabulary) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < words; i++) {
      String w = vocabulary[r.nextInt(vocabulary.length)];
      sb.append(i == 0 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w).append(i == words - 1 ? "." : " ");
    }
    return sb.toString();
  }

  private static void generate(Path file, int n) throws IOException {
    Random r = new Random(7);
    String previous = null;
    try (Writer w = new BufferedWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8), 1 << 20)) {
      for (int i = 0; i < n; i++) {
        String instruction = sentence(r, 10).replace(".", "?") + " (" + i + ")";
        String output = sentence(r, 30) + " " + sentence(r, 30) + " " + sentence(r, 20);
        int kind = r.nextInt(20);
        if (kind == 0) {
          output = "As an AI language model, I cannot do that. " + output;
        } else if (kind == 1 && previous != null) {
          output = previous;
          instruction = "Repeat: " + previous.substring(0, 20);
        } else if (kind == 2 && previous != null) {
          output = previous.replaceFirst("\\b\\w+\\.$", "changed.");
          instruction = "Nearly: " + previous.substring(0, 20);
        }
        previous = output;
        w.write("{\"instruction\": \"" + instruction + "\", \"input\": \"\", \"output\": \"" + output + "\"}\n");
      }
    }
  }
}
