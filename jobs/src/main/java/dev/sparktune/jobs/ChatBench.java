package dev.sparktune.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktune.clean.CleanStage;
import dev.sparktune.config.CleanConfig;
import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.config.TokenizeConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.ingest.IngestStage;
import dev.sparktune.tokenize.TokenizeStage;
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
 * {@code bench tokenize --chat}: the tokenize stage on generated ShareGPT conversations (1 to 4
 * exchanges, a system prompt on every other one) rendered with the tokenizer's own chat template
 * ({@code template: model}), every assistant turn masked in. {@code bench/chat_peer.py} does the
 * same work with transformers' apply_chat_template on the same file.
 */
final class ChatBench {
  private static final String[] WORDS = ("the a of to and in is for on with as by at from data model record "
      + "pipeline spark token cluster train adapter source clean quality shard arrow parquet export invoice "
      + "account password settings report dashboard team project workspace billing refund customer support").split(" ");

  private ChatBench() {}

  static String run(SparkSession spark, Path dir, int conversations, String tokenizer) throws IOException {
    Path input = dir.resolve("chats-" + conversations + ".jsonl");
    if (!Files.exists(input)) {
      Files.createDirectories(dir);
      generate(input, conversations);
    }
    IngestConfig ingest = ConfigBinder.bind(ConfigTree.parse("sources: [{name: chats, type: json, path: " + input + "}]",
        "bench"), IngestConfig.class);
    CleanConfig clean = ConfigBinder.bind(ConfigTree.parse("{refusals: {mode: off}, dedup: {exact: false, near: false}}",
        "bench"), CleanConfig.class);
    TokenizeConfig tok = ConfigBinder.bind(ConfigTree.parse("tokenizer: " + tokenizer
        + "\ntemplate: model\nmax_length: 4096\n", "bench"), TokenizeConfig.class);
    Workspace ws = new Workspace(dir.resolve("work-chat-" + conversations).toString(), dir,
        spark.sparkContext().hadoopConfiguration());
    StageRunner runner = new StageRunner(spark, ws, List.of(new IngestStage(ingest), new CleanStage(clean),
        new TokenizeStage(tok, CleanStage.NAME)));
    runner.run(new StageRunner.Options(null, "clean", null, false));
    Manifest m = runner.run(new StageRunner.Options(null, null, TokenizeStage.NAME, true)).get(0).manifest();
    long tokens = m.breakdowns().get("splits").entrySet().stream().filter(e -> e.getKey().endsWith("_tokens"))
        .mapToLong(Map.Entry::getValue).sum();
    return String.format("tokenize stage (template: model): %d conversations from %s, %d tokens in %.1f s ="
        + " %.0f conversations/s, %.0f tokens/s (%d cores)", m.counts().out(), input, tokens, m.durationSeconds(),
        m.counts().out() / m.durationSeconds(), tokens / m.durationSeconds(), Runtime.getRuntime().availableProcessors());
  }

  private static void generate(Path file, int n) throws IOException {
    Random r = new Random(11);
    ObjectMapper json = new ObjectMapper();
    try (Writer w = new BufferedWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8), 1 << 20)) {
      for (int i = 0; i < n; i++) {
        ObjectNode conv = json.createObjectNode().put("id", "c" + i);
        ArrayNode turns = conv.putArray("conversations");
        if (i % 2 == 0) {
          turns.addObject().put("from", "system").put("value", sentence(r, 8));
        }
        for (int k = 1 + r.nextInt(4); k > 0; k--) {
          turns.addObject().put("from", "human").put("value", sentence(r, 12).replace(".", "?") + " (" + i + ")");
          turns.addObject().put("from", "gpt").put("value", sentence(r, 30) + " " + sentence(r, 20));
        }
        w.write(json.writeValueAsString(conv));
        w.write('\n');
      }
    }
  }

  private static String sentence(Random r, int words) {
    return CleanBench.sentence(r, words, WORDS);
  }
}
