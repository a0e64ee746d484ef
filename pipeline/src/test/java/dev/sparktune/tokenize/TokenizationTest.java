package dev.sparktune.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Golden test: the three alpaca records of ../shared/golden/tokenizer (copied to test resources),
 * whose input_ids and labels Hugging Face computed with the same tokenizer.json.
 */
class TokenizationTest {
  private static final Path DIR = Path.of("src/test/resources/tokenize");

  static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asLong();
    }
    return out;
  }

  @Test
  void alpacaMatchesHuggingFaceExactly() throws IOException {
    JsonNode golden = new ObjectMapper().readTree(DIR.resolve("cases.json").toFile());
    PromptTemplate alpaca = PromptTemplate.of("alpaca");
    try (Tokenization t = new Tokenization(DIR.resolve("tokenizer.json"), golden.get("eos_id").asLong(), false)) {
      for (JsonNode c : golden.get("cases")) {
        JsonNode r = c.get("record");
        PromptTemplate.Rendered rendered = alpaca.render(r.get("instruction").asText(), r.get("input").asText(),
            r.get("output").asText());
        assertEquals(c.get("prompt").asText(), rendered.prompt(), "alpaca wording");
        Tokenization.Example e = t.instruction(alpaca, r.get("instruction").asText(), r.get("input").asText(),
            r.get("output").asText());
        assertArrayEquals(longs(c.get("input_ids")), e.inputIds(), "input_ids of " + r);
        assertArrayEquals(longs(c.get("labels")), e.labels(), "labels of " + r);
        assertEquals(c.get("prompt_len").asInt(), e.promptLength());
        assertEquals(golden.get("eos_id").asLong(), e.inputIds()[e.inputIds().length - 1], "EOS appended as an id");
        assertEquals(golden.get("bos_id").asLong(), e.inputIds()[0], "BOS from the tokenizer's post-processor");
      }
    }
  }

  @Test
  void batchedEncodingEqualsOneByOne() throws IOException {
    JsonNode golden = new ObjectMapper().readTree(DIR.resolve("cases.json").toFile());
    PromptTemplate alpaca = PromptTemplate.of("alpaca");
    try (Tokenization t = new Tokenization(DIR.resolve("tokenizer.json"), 2, false)) {
      java.util.List<Tokenization.Item> items = new java.util.ArrayList<>();
      for (JsonNode c : golden.get("cases")) {
        JsonNode r = c.get("record");
        PromptTemplate.Rendered rendered = alpaca.render(r.get("instruction").asText(), r.get("input").asText(),
            r.get("output").asText());
        items.add(new Tokenization.Item(rendered.prompt(), rendered.response()));
      }
      items.add(Tokenization.Item.text("A plain text record."));
      java.util.List<Tokenization.Example> batched = t.encodeAll(items);
      int i = 0;
      for (JsonNode c : golden.get("cases")) {
        assertArrayEquals(longs(c.get("input_ids")), batched.get(i).inputIds());
        assertArrayEquals(longs(c.get("labels")), batched.get(i).labels());
        i++;
      }
      assertArrayEquals(t.text("A plain text record.").inputIds(), batched.get(3).inputIds());
      assertArrayEquals(batched.get(3).inputIds(), batched.get(3).labels());
    }
  }

  @Test
  void chatmlAndLlama3Wording() {
    PromptTemplate.Rendered chatml = PromptTemplate.of("chatml").render("Translate to French.", "Good morning", "Bonjour");
    assertEquals("<|im_start|>user\nTranslate to French.\n\nGood morning<|im_end|>\n<|im_start|>assistant\n",
        chatml.prompt());
    assertEquals("Bonjour<|im_end|>", chatml.response());
    PromptTemplate.Rendered llama3 = PromptTemplate.of("llama3").render("Name a prime.", null, "7");
    assertEquals("<|start_header_id|>user<|end_header_id|>\n\nName a prime.<|eot_id|>"
        + "<|start_header_id|>assistant<|end_header_id|>\n\n", llama3.prompt());
    assertEquals("7<|eot_id|>", llama3.response());
    PromptTemplate.Rendered custom = PromptTemplate.of("Q: {instruction} {input}\nA: {output}").render("Why?", "", "Because.");
    assertEquals("Q: Why? \nA: ", custom.prompt());
    assertEquals("Because.", custom.response());
    assertThrows(IllegalArgumentException.class, () -> PromptTemplate.of("no placeholder"));
  }

  @Test
  void longTextsAreEncodedInPiecesWithTheSameTokens() throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; sb.length() < 3 * Tokenization.PIECE_CHARS; i++) {
      sb.append("Sentence number ").append(i).append(" has some words, and punctuation! ");
    }
    String text = sb.toString().strip();
    try (Tokenization t = new Tokenization(DIR.resolve("tokenizer.json"), 2, false)) {
      long[] pieces = t.encode(text);
      // The reference: the same text encoded in one call (fine at this size, just slower at scale).
      long[] whole;
      try (var tok = ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(DIR.resolve("tokenizer.json"),
          java.util.Map.of("addSpecialTokens", "true", "padding", "false", "truncation", "false"))) {
        whole = tok.encode(text).getIds();
      }
      assertArrayEquals(whole, pieces);
    }
  }

  @Test
  void trainOnInputsAndTextRecords() throws IOException {
    try (Tokenization t = new Tokenization(DIR.resolve("tokenizer.json"), 2, true)) {
      Tokenization.Example e = t.instruction(PromptTemplate.of("alpaca"), "Say hi.", null, "Hi!");
      assertArrayEquals(e.inputIds(), e.labels(), "train_on_inputs: nothing masked");
      Tokenization.Example text = t.text("Plain text for causal LM.");
      assertArrayEquals(text.inputIds(), text.labels());
      assertEquals(2, text.inputIds()[text.inputIds().length - 1]);
    }
  }
}
