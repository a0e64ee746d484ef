package dev.sparktune.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The prompt encoded once ({@link PromptSplit}) gives the ids and mask of encode(prompt + response)
 * and len(encode(prompt)) with the real byte-level BPE tokenizer, on prompt ends and response starts
 * chosen to sit next to the rule's edges; and the rule turns itself off for tokenizers it does not hold for.
 */
class PromptSplitTest {
  private static final Path TOKENIZER = Path.of("src/test/resources/tokenize/tokenizer.json");
  /** Llama 3's pre-tokenizer and post-processor (bpe4k/make.py). */
  private static final Path LLAMA3 = Path.of("src/test/resources/tokenize/bpe4k/llama3.json");
  private static final long EOS = 2;

  /** The library's ids of {@code text} with the special tokens: the reference, whatever path the stage takes. */
  private static long[] reference(Tokenization t, String text) {
    return t.libraryIds(true, List.of(text))[0];
  }

  @Test
  void promptOnceGivesTheIdsOfEncodingTwice() throws IOException {
    promptOnceGivesTheIdsOfEncodingTwice(TOKENIZER, 60);
    promptOnceGivesTheIdsOfEncodingTwice(LLAMA3, 30);
  }

  private void promptOnceGivesTheIdsOfEncodingTwice(Path tokenizer, int atLeast) throws IOException {
    String alpaca = PromptTemplate.of("alpaca").render("Name a colour.", "", "x").prompt();
    List<String> prompts = List.of(alpaca, "Q:\n", "Q:\n\n", "Q: ", "Q:\t", "Q:\r", "Q:\r\n", "Q\u00a0\n",
        "Q:\u2028", "x<s>\n", "ab \n", "Frage zu Äpfeln?\n", "数字は3\n", "'\n", "\n");
    List<String> responses = List.of("foo", " foo", "  foo", "\nfoo", "\n\nfoo", "    code", "\n  - item", "'s good",
        "!!", "<s>hi", "Éclair", "\ud83d\ude00 ok", "\u00a0x", "\u200bzero", "3 apples", "-- dash", "if y", "pass", "");
    List<Tokenization.Item> items = new ArrayList<>();
    for (String p : prompts) {
      for (String r : responses) {
        items.add(new Tokenization.Item(p, r));
      }
    }
    int fast = 0;
    PromptSplit split = PromptSplit.of(new ObjectMapper().readTree(tokenizer.toFile()));
    try (Tokenization t = new Tokenization(tokenizer, EOS, false)) {
      List<Tokenization.Example> got = t.encodeAll(items);
      for (int i = 0; i < items.size(); i++) {
        Tokenization.Item it = items.get(i);
        long[] body = reference(t, it.prompt() + it.response());
        int promptLength = Math.min(reference(t, it.prompt()).length, body.length);
        long[] ids = java.util.Arrays.copyOf(body, body.length + 1);
        ids[body.length] = EOS;
        String what = tokenizer.getFileName() + ": prompt " + escaped(it.prompt()) + " response "
            + escaped(it.response());
        assertArrayEquals(ids, got.get(i).inputIds(), what);
        assertEquals(promptLength, got.get(i).promptLength(), what);
        for (int k = 0; k < ids.length; k++) {
          assertEquals(k < promptLength ? Tokenization.IGNORE : ids[k], got.get(i).labels()[k], what + " label " + k);
        }
        fast += split.applies(it.prompt(), it.response()) ? 1 : 0;
      }
    }
    assertTrue(fast >= atLeast, tokenizer + ": the fast path ran for " + fast + " items");
  }

  @Test
  void templateTextEncodedOnceGivesTheIdsOfEncodingTheWholePrompt() throws IOException {
    templateTextEncodedOnceGivesTheIdsOfEncodingTheWholePrompt(TOKENIZER, 1300, 500);
    templateTextEncodedOnceGivesTheIdsOfEncodingTheWholePrompt(LLAMA3, 1000, 150);
  }

  private void templateTextEncodedOnceGivesTheIdsOfEncodingTheWholePrompt(Path tokenizer, int atLeast,
      int twiceAtLeast) throws IOException {
    List<String> templates = List.of("alpaca", "chatml", "llama3", "Q:\n{instruction}\n\nA:\n{output}",
        "Q:\n\n{instruction}\nA:\n{output}", "ab \n{instruction}\nA:\n{output}", "Q: {instruction} A:\n{output}",
        "Q:\t{input}|{instruction}\nA:\n{output}", "x<s>\n{instruction}\t{input}\r\n{output}",
        "数字は3\n{instruction}!\n{output}", "{instruction}\n{output}", "Q:\n{instruction}{input}\n{output}",
        "Q:\n{instruction}\u00a0{input}\n {output}", "Q:\n{instruction}\n<s>\n{output}");
    List<String> instructions = List.of("Name a colour.", " foo", "  foo", "\nfoo", "\n\nfoo", "    code", "'s good",
        "!!", "<s>hi", "Éclair", "\ud83d\ude00 ok", "\u00a0x", "\u200bzero", "-- dash", "", "foo ", "foo\n", "foo'",
        "x3", "ok \ud83d\ude00", "x\u00a0", "<s>", "don'", "a\u2028");
    List<Tokenization.Item> items = new ArrayList<>();
    for (String template : templates) {
      for (String instruction : instructions) {
        for (String input : List.of("", "\nctx", "ctx", "t ", "{instruction}")) {
          PromptTemplate.Rendered r = PromptTemplate.of(template).render(instruction, input, "Blue.");
          items.add(new Tokenization.Item(r.prompt(), r.response(), r.literals()));
        }
      }
    }
    int cut = 0;
    int twice = 0;
    PromptSplit split = PromptSplit.of(new ObjectMapper().readTree(tokenizer.toFile()));
    try (Tokenization t = new Tokenization(tokenizer, EOS, false)) {
      for (List<Tokenization.Item> batch : List.of(items, items.subList(7, 400))) { // template text kept across calls
        List<Tokenization.Example> got = t.encodeAll(batch);
        for (int i = 0; i < batch.size(); i++) {
          Tokenization.Item it = batch.get(i);
          long[] body = reference(t, it.prompt() + it.response());
          long[] ids = java.util.Arrays.copyOf(body, body.length + 1);
          ids[body.length] = EOS;
          String what = tokenizer.getFileName() + ": prompt " + escaped(it.prompt()) + " literals "
              + java.util.Arrays.toString(it.literals());
          assertArrayEquals(ids, got.get(i).inputIds(), what);
          assertEquals(Math.min(reference(t, it.prompt()).length, body.length), got.get(i).promptLength(), what);
          int cuts = split.cuts(it.prompt(), it.literals()).length;
          cut += cuts > 0 ? 1 : 0;
          twice += cuts > 1 ? 1 : 0;
        }
      }
    }
    assertTrue(cut >= atLeast && twice >= twiceAtLeast, tokenizer + ": prompts cut: " + cut + ", more than once: "
        + twice);
  }

  @Test
  void templateTextSpansAreWhereTheTemplatePutsIt() {
    PromptTemplate.Rendered r = PromptTemplate.of("Q:\n{instruction}\n\n{input}\nA:\n{output}").render("Hi.", "", "x");
    assertEquals("Q:\nHi.\n\n\nA:\n", r.prompt());
    assertArrayEquals(new int[] {0, 3, 6, 12}, r.literals(), "the empty input joins the spans around it");
    PromptTemplate.Rendered odd = PromptTemplate.of("Q:\n{instruction}\n{input}\n{output}").render("a {input} b", "c", "x");
    assertEquals("Q:\na c b\nc\n", odd.prompt(), "as String.replace fills it");
    assertEquals(0, odd.literals().length, "no spans where filling in order would differ");
    String alpaca = PromptTemplate.of("alpaca").render("Say hi.", "", "x").prompt();
    assertArrayEquals(new int[] {0, alpaca.indexOf("Say hi."), alpaca.indexOf("Say hi.") + 7, alpaca.length()},
        PromptTemplate.of("alpaca").render("Say hi.", "", "x").literals());
  }

  @Test
  void theRuleFollowsThePromptEndAndTheResponseStart() throws IOException {
    PromptSplit split = PromptSplit.of(new ObjectMapper().readTree(TOKENIZER.toFile()));
    assertTrue(split.tokenizerFits());
    assertTrue(split.applies("### Response:\n", "Blue."));
    assertTrue(split.applies("Q:\t", "'s"));
    assertFalse(split.applies("Q:\n\n", "foo"), "two whitespace characters end the prompt");
    assertFalse(split.applies("Q: ", "foo"), "a space joins the next word");
    assertFalse(split.applies("Q:", "foo"), "no whitespace at the prompt's end");
    assertFalse(split.applies("Q:\n", " foo"), "the response starts with a space");
    assertFalse(split.applies("Q:\n", "\u00a0foo"), "a no-break space is whitespace to the regex");
    assertFalse(split.applies("Q:\n", ""), "an empty response");
    PromptSplit llama3 = PromptSplit.of(new ObjectMapper().readTree(LLAMA3.toFile()));
    assertTrue(llama3.tokenizerFits());
    assertTrue(llama3.applies("### Response:\n", "Blue."));
    assertTrue(llama3.applies("Q:\r", "foo"));
    assertFalse(llama3.applies("Q:\t", "foo"), "Llama 3's split joins a tab to the word after it");
    assertTrue(llama3.appliesBeforeSpace("Q: a", 2), "before a space");
    assertFalse(llama3.appliesBeforeSpace("Q:\na", 2), "a run of symbols takes the line break after it");
  }

  @Test
  void aCutBeforeSpaceNeedsANonSpaceBeforeItAndNoTokenThatStripsOnItsRight(@org.junit.jupiter.api.io.TempDir Path dir)
      throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode base = (ObjectNode) json.readTree(TOKENIZER.toFile());
    PromptSplit split = PromptSplit.of(base);
    assertTrue(split.appliesBeforeSpace("Hi.\n\nA:", 3));
    assertTrue(split.appliesBeforeSpace("Hi A:", 2));
    assertFalse(split.appliesBeforeSpace("Hi \nA:", 3), "a space before the cut");
    assertFalse(split.appliesBeforeSpace("Hi!!", 3), "no space after the cut");
    assertFalse(split.appliesBeforeSpace("Hi\u00a0A", 2), "a no-break space is not one of the four");
    ObjectNode stripping = base.deepCopy();
    ((ObjectNode) stripping.get("added_tokens").get(1)).put("rstrip", true);
    assertTrue(PromptSplit.of(stripping).tokenizerFits(), "the rule after a newline still holds");
    assertFalse(PromptSplit.of(stripping).appliesBeforeSpace("x<s>\n\nA:", 4));
    Path file = dir.resolve("tokenizer.json");
    json.writeValue(file.toFile(), stripping);
    try (Tokenization t = new Tokenization(file, EOS, false)) { // why: <s> takes the newlines after it
      long[] whole = t.encode("x<s>\n\nA:");
      long[] parts = java.util.Arrays.copyOf(t.encode("x<s>"), whole.length + 8);
      long[] rest = t.plainIds("\n\nA:");
      System.arraycopy(rest, 0, parts, t.encode("x<s>").length, rest.length);
      assertFalse(java.util.Arrays.equals(whole, java.util.Arrays.copyOf(parts, t.encode("x<s>").length + rest.length)));
    }
  }

  @Test
  void otherTokenizersKeepEncodingTwice() throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode base = (ObjectNode) json.readTree(TOKENIZER.toFile());
    assertTrue(PromptSplit.of(base).tokenizerFits());
    List<java.util.function.Consumer<ObjectNode>> changes = List.of(
        t -> t.set("normalizer", json.createObjectNode().put("type", "NFC")),
        t -> ((ObjectNode) t.get("pre_tokenizer")).put("add_prefix_space", true),
        t -> ((ObjectNode) t.get("pre_tokenizer")).put("use_regex", false),
        t -> t.set("pre_tokenizer", json.createObjectNode().put("type", "Metaspace")),
        t -> ((ObjectNode) t.get("model")).put("type", "Unigram"),
        t -> ((ObjectNode) t.get("model")).put("dropout", 0.1),
        t -> ((com.fasterxml.jackson.databind.node.ArrayNode) t.get("post_processor").get("single"))
            .add(json.createObjectNode().set("SpecialToken", json.createObjectNode().put("id", "</s>"))),
        t -> t.set("post_processor", json.createObjectNode().put("type", "RobertaProcessing")),
        t -> ((ObjectNode) t.get("added_tokens").get(0)).put("lstrip", true),
        t -> ((ObjectNode) t.get("added_tokens").get(0)).put("content", "<|im end|>"));
    for (int i = 0; i < changes.size(); i++) {
      ObjectNode changed = base.deepCopy();
      changes.get(i).accept(changed);
      PromptSplit split = PromptSplit.of(changed);
      assertFalse(split.tokenizerFits(), "change " + i);
      assertFalse(split.applies("### Response:\n", "Blue."), "change " + i);
    }
  }

  private static String escaped(String s) {
    StringBuilder b = new StringBuilder("\"");
    s.codePoints().forEach(c -> b.append(c < 0x20 || c > 0x7e ? String.format("\\u%04x", c)
        : String.valueOf((char) c)));
    return b.append('"').toString();
  }
}
