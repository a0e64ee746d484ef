package dev.sparktune.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ByteLevelBpe} against the Hugging Face tokenizers library (DJL's binding) on the same
 * tokenizer.json: the same ids for generated texts of every character class the pre-tokenizer
 * tells apart, with and without special tokens, on the 512-token fixture, a 4,000-token one
 * ({@code bpe4k/make.py}), that one with {@code ignore_merges}, and a 4,000-token one with Llama 3's
 * pre-tokenizer, {@code ignore_merges} and post-processor.
 */
class ByteLevelBpeTest {
  private static final Path DIR = Path.of("src/test/resources/tokenize");
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  /** Characters of every class: ASCII, apostrophes for contractions, Unicode spaces, letters, marks, numbers, emoji. */
  private static final String[] POOL = {
    "a", "b", "Z", "e", "s", "t", "re", "ve", "m", "ll", "d", "'", "'s", "'t", "'re", "'ll", "'d", "'S",
    "'LL", "'Re", "'vE", "'M", "'D", "'T", "0", "7", "42", "1234567", " ", " ", " ", "  ", "\t", "\n",
    "\n\n", "\r\n", "\r", " \n ", "\t\r\n\t", "\u000b", "\f", "\u0085", "\u00a0",
    "\u1680", "\u2003", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u180e", "\u200b", "\ufeff",
    ".", ",", "!", "?", "-", "(", ")", "\"", "#", "$", "%", "&", "*", "/", ":", ";", "<", "=", ">", "@",
    "[", "\\", "]", "^", "_", "`", "{", "|", "}", "~", "\u001c", "\u001f", "\u0000", "\u007f",
    "é", "ü", "ß", "Ω", "ж", "ℓ", "ǅ", "ʰ", "e\u0301", "\u0301", "中", "文", "한", "ア", "ー", "ع", "ب",
    "ह", "ि", "๑", "²", "½", "Ⅻ", "①", "٣", "०", "\uff11", "\uff21", "\u2070", "\u00aa",
    "😀", "👍🏽", "𝐀", "𝟘", "\ud840\udc00", "€", "©", "™", "…", "—", "“", "”", "‘", "’",
  };

  @Test
  void sameIdsAsTheLibraryOnGeneratedTexts() throws IOException {
    Path bpe4k = DIR.resolve("bpe4k/tokenizer.json");
    ObjectNode ignoring = (ObjectNode) JSON.readTree(bpe4k.toFile());
    ((ObjectNode) ignoring.get("model")).put("ignore_merges", true);
    Path ignoringFile = tmp.resolve("ignore-merges.json");
    JSON.writeValue(ignoringFile.toFile(), ignoring);
    List<String> texts = texts(new Random(7), 3000);
    for (Path tokenizer : List.of(DIR.resolve("tokenizer.json"), bpe4k, ignoringFile,
        DIR.resolve("bpe4k/llama3.json"))) {
      ByteLevelBpe bpe = ByteLevelBpe.of(JSON.readTree(tokenizer.toFile()));
      assertNotNull(bpe, tokenizer + " is a tokenizer the Java encoder is exact for");
      try (Tokenization library = new Tokenization(tokenizer, 2, false)) {
        for (boolean specials : new boolean[] {true, false}) {
          long[][] expected = library.libraryIds(specials, texts);
          int taken = 0;
          for (int i = 0; i < texts.size(); i++) {
            long[] ids = bpe.encode(texts.get(i), specials);
            if (ids != null) {
              taken++;
              assertArrayEquals(expected[i], ids, tokenizer.getFileName() + ", specials " + specials + ": "
                  + escaped(texts.get(i)));
            }
          }
          assertTrue(taken > texts.size() * 9 / 10, "the Java encoder took " + taken + " of " + texts.size());
        }
      }
    }
  }

  @Test
  void tokenizationGivesTheLibrarysIdsWhereverTheTextGoes() throws IOException {
    List<String> texts = new ArrayList<>(texts(new Random(11), 300));
    texts.add("an added token <s> inside, and </s>");
    texts.add("a Unicode 14 letter \u0870 and an unassigned \u0e00");
    texts.add("a lone surrogate \ud800 here");
    texts.add("a long s: it'\u017f here");
    for (String name : List.of("bpe4k/tokenizer.json", "bpe4k/llama3.json")) {
      try (Tokenization t = new Tokenization(DIR.resolve(name), 2, false)) {
        long[][] expected = t.libraryIds(true, texts);
        for (int i = 0; i < texts.size(); i++) {
          assertArrayEquals(expected[i], t.encode(texts.get(i)), name + ": " + escaped(texts.get(i)));
        }
      }
    }
  }

  @Test
  void leavesToTheLibraryWhatItIsNotExactFor() throws IOException {
    ByteLevelBpe bpe = ByteLevelBpe.of(JSON.readTree(DIR.resolve("bpe4k/tokenizer.json").toFile()));
    assertNull(bpe.encode("see <|im_end|> here", true), "an added token's text");
    assertNull(bpe.encode("\u0870", false), "a letter added in Unicode 14");
    assertNull(bpe.encode("x\u0e00", false), "an unassigned code point");
    assertNull(bpe.encode("\udc00x", false), "a lone surrogate");
    assertNotNull(bpe.encode("Zürich 中文 한국어 ①", false));
    ByteLevelBpe llama3 = ByteLevelBpe.of(JSON.readTree(DIR.resolve("bpe4k/llama3.json").toFile()));
    assertNull(llama3.encode("it'\u017f", false), "a long s, which case-folds to s");
    assertNull(llama3.encode("<|begin_of_text|>", false), "an added token's text");
    ObjectNode otherSplit = (ObjectNode) JSON.readTree(DIR.resolve("bpe4k/llama3.json").toFile());
    ((ObjectNode) otherSplit.get("pre_tokenizer").get("pretokenizers").get(0).get("pattern")).put("Regex", "\\s+");
    assertNull(ByteLevelBpe.of(otherSplit), "not exact with another Split pattern");
    for (String edit : List.of("normalizer", "add_prefix_space", "dropout", "post_processor", "byte")) {
      ObjectNode t = (ObjectNode) JSON.readTree(DIR.resolve("bpe4k/tokenizer.json").toFile());
      switch (edit) {
        case "normalizer" -> t.set("normalizer", JSON.readTree("{\"type\": \"NFC\"}"));
        case "add_prefix_space" -> ((ObjectNode) t.get("pre_tokenizer")).put("add_prefix_space", true);
        case "dropout" -> ((ObjectNode) t.get("model")).put("dropout", 0.1);
        case "post_processor" -> ((ObjectNode) t.get("post_processor")).set("single",
            JSON.readTree("[{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}]"));
        default -> ((ObjectNode) t.get("model").get("vocab")).remove("Ā");
      }
      assertNull(ByteLevelBpe.of(t), "not exact with a changed " + edit);
    }
  }

  @Test
  void mergesFollowTheLibrarysOrder() {
    // "aaaa" with merges a+a (rank 0) then aa+aa (rank 1): leftmost first, then the new pair.
    BpeMerges merges = BpeMerges.of(JSON.valueToTree(List.of("a a", "aa aa", "aa a")),
        java.util.Map.of("a", 0, "aa", 1, "aaaa", 2, "aaa", 3));
    assertArrayEquals(new int[] {2}, merges.apply(new int[] {0, 0, 0, 0}));
    // "aaaaa": aa, aa, a; then aa+aa (rank 1) before aa+a (rank 2), and aaaa+a is no merge.
    assertArrayEquals(new int[] {2, 0}, merges.apply(new int[] {0, 0, 0, 0, 0}));
    assertEquals(1, merges.apply(new int[] {0}).length);
  }

  private static List<String> texts(Random random, int n) {
    List<String> out = new ArrayList<>(List.of("", " ", "\n", "   ", "a", "'s", "''s"));
    for (int i = 0; i < n; i++) {
      StringBuilder s = new StringBuilder();
      int parts = 1 + random.nextInt(i % 10 == 0 ? 400 : 40);
      for (int k = 0; k < parts; k++) {
        s.append(POOL[random.nextInt(POOL.length)]);
      }
      out.add(s.toString());
    }
    return out;
  }

  private static String escaped(String s) {
    StringBuilder out = new StringBuilder();
    s.codePoints().forEach(cp -> out.append(cp >= 0x20 && cp < 0x7f ? String.valueOf((char) cp)
        : String.format("\\u{%x}", cp)));
    return out.toString();
  }
}
