package dev.sparktune.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The WordPiece tokenizer against Hugging Face {@code tokenizers} 0.23.2 on the same tokenizer.json
 * (ids below were produced by it), and the embeddings' basic geometry.
 */
class MiniLmEmbedderTest {

  static BertWordPiece tokenizer() throws IOException {
    try (InputStream in = MiniLmEmbedder.class.getResourceAsStream(MiniLmEmbedder.TOKENIZER)) {
      return new BertWordPiece(in, 128);
    }
  }

  @Test
  void tokenIdsMatchHuggingFaceTokenizers() throws IOException {
    BertWordPiece t = tokenizer();
    assertArrayEquals(new long[] {101, 2129, 2146, 2323, 1045, 26077, 9550, 26666, 24857, 1029, 102},
        t.encode("How long should I boil dried spaghetti pasta?"));
    assertArrayEquals(new long[] {101, 7668, 13675, 21382, 7987, 9307, 2063, 1010, 15743, 13746, 1517, 1879, 1755, 3578,
        999, 102}, t.encode("Café crème brûlée, naïve résumé — 東京 tower!"));
    assertArrayEquals(new long[] {101, 4895, 8671, 2666, 3567, 6321, 2146, 1011, 3612, 2098, 3653, 1011, 19204, 3989,
        1024, 2123, 1005, 1056, 2644, 1005, 1055, 1012, 102},
        t.encode("Unbelievably\tlong-winded pre-tokenization: don't stop's."));
    assertArrayEquals(new long[] {101, 100, 3793, 1998, 7861, 29147, 2483, 100, 7929, 102},
        t.encode("Ｆｕｌｌｗｉｄｔｈ text and émojis \uD83C\uDF89 ok"));
    long[] longText = t.encode("word ".repeat(200));
    assertEquals(128, longText.length, "truncated to 128 with [SEP] last");
    assertEquals(102, longText[127]);
  }

  static double cosine(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  @Test
  void paraphrasesAreCloserThanUnrelatedSentences() {
    float[][] v = MiniLmEmbedder.shared().embed(List.of(
        "How long should I boil dried spaghetti?",
        "What is the cooking time for dry spaghetti pasta?",
        "Why does the planet Mars look red?"));
    assertEquals(MiniLmEmbedder.DIMENSIONS, v[0].length);
    for (float[] x : v) {
      assertEquals(1.0, cosine(x, x), 1e-4, "unit length");
    }
    double para = cosine(v[0], v[1]);
    double unrelated = cosine(v[0], v[2]);
    assertTrue(para > 0.6 && unrelated < 0.3 && para > unrelated + 0.3,
        "paraphrase " + para + " vs unrelated " + unrelated + " " + Arrays.toString(Arrays.copyOf(v[0], 4)));
    float[][] alone = MiniLmEmbedder.shared().embed(List.of("Why does the planet Mars look red?"));
    for (int d = 0; d < alone[0].length; d++) {
      assertEquals(alone[0][d], v[2][d], 0.0, "a vector does not depend on the other texts of the call");
    }
  }
}
