package dev.sparktune.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.core.ChatMessage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden test against transformers' {@code apply_chat_template}: four real chat templates
 * (Llama-3-Instruct, Qwen2.5-Instruct (ChatML), Zephyr, Mistral-Instruct-v0.2) copied from their
 * tokenizer_config.json files, each with a small byte-level tokenizer holding the family's special
 * tokens. {@code bench/chat_goldens.py} rendered and tokenized the conversations with transformers
 * and computed the masks (checked there against transformers' own assistant mask on
 * {@code {% generation %}}-tagged copies of the templates). Text, ids, labels, dropped turns, the
 * generation prompt and the templates' own error messages must all match exactly.
 */
class ChatTemplateGoldenTest {
  private static final Path DIR = Path.of("src/test/resources/chat");

  @TestFactory
  Stream<DynamicTest> everyCaseMatchesTransformers() throws IOException {
    JsonNode golden = new ObjectMapper().readTree(DIR.resolve("goldens.json").toFile());
    List<DynamicTest> tests = new ArrayList<>();
    Set<String> families = new TreeSet<>();
    for (JsonNode c : golden.get("cases")) {
      families.add(c.get("family").asText());
      tests.add(DynamicTest.dynamicTest(c.get("family").asText() + "/" + c.get("name").asText(), () -> check(c)));
    }
    assertEquals(Set.of("llama3", "mistral", "qwen25", "zephyr"), families, "the template families covered");
    assertTrue(tests.size() >= 12, "cases: " + tests.size());
    return tests.stream();
  }

  @org.junit.jupiter.api.Test
  void trainOnInputsTrainsEveryToken() throws Exception {
    Path family = DIR.resolve("qwen25");
    ChatTemplate template = ChatTemplate.ofModel(FileSystem.getLocal(new Configuration()),
        new org.apache.hadoop.fs.Path(family.resolve("tokenizer.json").toAbsolutePath().toUri())).orElseThrow();
    try (Tokenization t = new Tokenization(family.resolve("tokenizer.json"), 0, true)) {
      Tokenization.Example e = t.conversation(template.renderForTraining(List.of(new ChatMessage("user", "Hi"),
          new ChatMessage("assistant", "Hello."))));
      assertArrayEquals(e.inputIds(), e.labels(), "train_on_inputs: every label is its token");
      assertEquals(0, e.promptLength());
    }
  }

  private static void check(JsonNode c) throws Exception {
    Path family = DIR.resolve(c.get("family").asText());
    FileSystem fs = FileSystem.getLocal(new Configuration());
    ChatTemplate template = ChatTemplate.ofModel(fs,
        new org.apache.hadoop.fs.Path(family.resolve("tokenizer.json").toAbsolutePath().toUri())).orElseThrow();
    List<ChatMessage> messages = new ArrayList<>();
    for (JsonNode m : c.get("messages")) {
      messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
    }
    if (!c.get("error").isNull()) {
      ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> template.renderForTraining(messages));
      assertEquals(c.get("error").asText(), e.getMessage(), "the template's own message");
      return;
    }
    List<ChatMessage> prompt = messages.get(messages.size() - 1).role().equals("assistant")
        ? messages.subList(0, messages.size() - 1) : messages;
    assertEquals(c.get("generation_prompt_text").asText(), template.render(prompt, true), "generation prompt");
    try (Tokenization t = new Tokenization(family.resolve("tokenizer.json"), 0, false)) {
      int maxLength = c.get("max_length").isNull() ? Integer.MAX_VALUE : c.get("max_length").asInt();
      ConversationEncoder.Result r = new ConversationEncoder(template, t, maxLength, true).encode(messages);
      assertNotNull(r.example(), () -> "rejected: " + r.detail());
      assertEquals(c.get("dropped_messages").asInt(), r.droppedMessages(), "messages dropped to fit max_length");
      List<ChatMessage> kept = new ArrayList<>(messages);
      for (int i = 0; i < r.droppedMessages(); i++) {
        kept.remove(kept.get(0).role().equals("system") ? 1 : 0);
      }
      assertEquals(c.get("text").asText(), template.renderForTraining(kept).text(), "rendered text");
      assertArrayEquals(TokenizationTest.longs(c.get("input_ids")), r.example().inputIds(), "input_ids");
      assertArrayEquals(TokenizationTest.longs(c.get("labels")), r.example().labels(), "labels (-100 off the assistant turns)");
    }
  }
}
