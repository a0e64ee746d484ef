package dev.sparktune.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.sparktune.TestSpark;
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
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conversations through ingest, clean and tokenize with the base model's own chat template
 * ({@code template: model}): whole multi-turn conversations trained on every assistant turn, a
 * template that raises rejects just that record with its message, oldest exchanges dropped to fit
 * and counted, source system prompts rendered, clean's rules applied to the turns.
 */
class ChatTokenizeStageTest {
  private static final Path CHAT = Path.of("src/test/resources/chat").toAbsolutePath();
  @TempDir Path dir;

  private static final String CONVERSATIONS = """
      {"id": "ok", "conversations": [{"from": "human", "value": "Name a prime."}, {"from": "gpt", "value": "Seven."}, {"from": "human", "value": "Another?"}, {"from": "gpt", "value": "Eleven."}]}
      {"id": "system", "conversations": [{"from": "system", "value": "Be terse."}, {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."}]}
      {"id": "twice", "messages": [{"role": "user", "content": "Q1"}, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}]}
      {"id": "refuses", "messages": [{"role": "user", "content": "Tell me a joke."}, {"role": "assistant", "content": "Sure: a pun."}, {"role": "user", "content": "Another?"}, {"role": "assistant", "content": "As an AI language model, I cannot do that."}]}
      {"id": "long", "conversations": [{"from": "human", "value": "First question, long enough to matter here."}, {"from": "gpt", "value": "First answer, also long enough to matter here."}, {"from": "human", "value": "Second question."}, {"from": "gpt", "value": "Second answer."}]}
      {"instruction": "Add 2 and 2.", "output": "4"}
      """;

  private Manifest run(Path work, String family, String sourceExtra, String tokenizeExtra) throws IOException {
    Path input = dir.resolve("chats.jsonl");
    Files.writeString(input, CONVERSATIONS);
    SparkSession spark = TestSpark.get();
    IngestConfig ingest = ConfigBinder.bind(ConfigTree.parse("sources: [{name: chats, type: json, path: " + input
        + sourceExtra + "}]", "test"), IngestConfig.class);
    CleanConfig clean = ConfigBinder.bind(ConfigTree.parse("{refusals: {mode: drop}, dedup: {exact: true, near: false}}",
        "test"), CleanConfig.class);
    TokenizeConfig tokenize = ConfigBinder.bind(ConfigTree.parse("tokenizer: " + CHAT.resolve(family + "/tokenizer.json")
        + "\ntemplate: model\nval_ratio: 0\n" + tokenizeExtra, "test"), TokenizeConfig.class);
    Workspace ws = new Workspace(work.toString(), dir, spark.sparkContext().hadoopConfiguration());
    return new StageRunner(spark, ws, List.of(new IngestStage(ingest), new CleanStage(clean),
        new TokenizeStage(tokenize, CleanStage.NAME))).run(new StageRunner.Options(null, null, null, true)).get(2)
        .manifest();
  }

  /** The trained tokens of the example of conversation {@code id}, decoded. */
  private static String trained(Path work, String family, String id) throws IOException {
    Dataset<Row> data = TestSpark.get().read().parquet(work.resolve("tokenize/data").toString());
    Dataset<Row> records = TestSpark.get().read().parquet(work.resolve("ingest/data").toString());
    String recordId = records.filter("meta['conversation_id'] = '" + id + "'").first().getAs("id");
    Row r = data.filter(data.col("id").equalTo(recordId)).first();
    List<Integer> ids = r.getList(r.fieldIndex("input_ids"));
    List<Long> labels = r.getList(r.fieldIndex("labels"));
    List<Long> kept = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      if (labels.get(i) != Tokenization.IGNORE) {
        assertEquals(ids.get(i).longValue(), labels.get(i), "a trained label is the token itself");
        kept.add(labels.get(i));
      }
    }
    try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(CHAT.resolve(family + "/tokenizer.json"),
        Map.of("addSpecialTokens", "false"))) {
      return tok.decode(kept.stream().mapToLong(Long::longValue).toArray(), false);
    }
  }

  @Test
  void aTemplateThatRaisesRejectsThatRecordAndTheRunGoesOn() throws IOException {
    Path work = dir.resolve("mistral");
    Manifest m = run(work, "mistral", "", "");
    Map<String, Long> dropped = m.counts().droppedByReason();
    assertEquals(2L, dropped.get("chat_template"), dropped.toString()); // "system" and "twice"
    Dataset<Row> rejected = TestSpark.get().read().parquet(work.resolve("tokenize/dropped").toString());
    for (Row r : rejected.filter("reason = 'chat_template'").collectAsList()) {
      assertEquals("Conversation roles must alternate user/assistant/user/assistant/...", r.getAs("detail"));
    }
    assertEquals(3, m.counts().out(), "ok, long and the alpaca record, rendered by the model's template");
    assertEquals("Seven.</s>Eleven.</s>", trained(work, "mistral", "ok").replace(" ", ""),
        "both assistant turns and their EOS are trained, nothing else");
    Manifest clean = Manifest.read(org.apache.hadoop.fs.FileSystem.getLocal(new org.apache.hadoop.conf.Configuration()),
        new org.apache.hadoop.fs.Path(work.resolve("clean/_manifest.json").toUri()));
    assertEquals(1L, clean.counts().droppedByReason().get("refusal"), "a refusal in a later assistant turn");
  }

  @Test
  void oldestExchangesGoFirstAndSourceSystemPromptsAreRendered() throws IOException {
    Path work = dir.resolve("zephyr");
    Manifest m = run(work, "zephyr", ", system_prompt: You answer support questions.", "max_length: 70\n"
        + "min_response_tokens: 1\noverflow: drop\n");
    Map<String, Long> conversations = m.breakdowns().get("conversations");
    assertTrue(conversations.get("examples_with_dropped_turns") >= 1, conversations.toString());
    assertTrue(conversations.get("dropped_messages") >= 2, conversations.toString());
    Dataset<Row> data = TestSpark.get().read().parquet(work.resolve("tokenize/data").toString());
    assertTrue(data.filter("dropped_messages = 2").count() >= 1, "the long conversation lost its first exchange");
    String kept = trained(work, "zephyr", "long");
    assertEquals("Second answer.</s>", kept.strip(), "only the last exchange's answer is left to train on");
    String system = trained(work, "zephyr", "system");
    assertEquals("Hello.</s>", system.strip(), "the conversation's own system prompt is masked");
    try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(CHAT.resolve("zephyr/tokenizer.json"),
        Map.of("addSpecialTokens", "false"))) {
      Dataset<Row> records = TestSpark.get().read().parquet(work.resolve("ingest/data").toString());
      String okId = records.filter("meta['conversation_id'] = 'ok'").first().getAs("id");
      Row ok = data.filter(data.col("id").equalTo(okId)).first();
      List<Integer> ids = ok.getList(ok.fieldIndex("input_ids"));
      String text = tok.decode(ids.stream().mapToLong(Integer::longValue).toArray(), false);
      assertTrue(text.replace(" ", "").startsWith("<|system|>\nYouanswersupportquestions.</s>"),
          "the source's default system prompt comes first: " + text);
      Row alpaca = data.filter("dropped_messages = 0").join(records.filter("instruction = 'Add 2 and 2.'")
          .select("id"), "id").first();
      List<Integer> alpacaIds = alpaca.getList(alpaca.fieldIndex("input_ids"));
      assertEquals("<|system|>\nYou answer support questions.</s>\n<|user|>\nAdd 2 and 2.</s>\n<|assistant|>\n4</s>\n",
          tok.decode(alpacaIds.stream().mapToLong(Integer::longValue).toArray(), false).replace(" \n", "\n"),
          "an instruction record under template: model is a conversation, with the source's system prompt");
    }
  }

  @Test
  void truncateCutsTheEndInsteadOfDroppingTurns() throws IOException {
    Path work = dir.resolve("truncate");
    Manifest m = run(work, "zephyr", "", "max_length: 70\nmin_response_tokens: 1\nturn_overflow: truncate\n");
    assertEquals(0L, m.breakdowns().get("conversations").get("dropped_messages"));
    Dataset<Row> data = TestSpark.get().read().parquet(work.resolve("tokenize/data").toString());
    assertTrue(data.filter("truncated and num_tokens = 70").count() >= 1, "the long conversation is cut at max_length");
    String kept = trained(work, "zephyr", "long");
    assertTrue(kept.startsWith("First answer") && !kept.contains("Second answer"), kept);
  }
}
