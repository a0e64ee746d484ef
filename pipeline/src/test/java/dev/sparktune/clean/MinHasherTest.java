package dev.sparktune.clean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The scanning word splitter gives the shingles the regex split gave. */
class MinHasherTest {
  /** The shingles as first written: split("[^\\p{L}\\p{N}]+") on the lower-cased text. */
  static long[] reference(String text, int shingleWords) {
    String[] words = text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+");
    int start = words.length > 0 && words[0].isEmpty() ? 1 : 0;
    int n = words.length - start;
    if (n <= 0) {
      return new long[0];
    }
    long[] wordHashes = new long[n];
    for (int i = 0; i < n; i++) {
      long h = 0xCBF29CE484222325L;
      String w = words[start + i];
      for (int c = 0; c < w.length(); c++) {
        h = (h ^ w.charAt(c)) * 0x100000001B3L;
      }
      wordHashes[i] = MinHasher.mix(h);
    }
    int k = Math.min(shingleWords, n);
    long[] out = new long[n - k + 1];
    for (int i = 0; i < out.length; i++) {
      long h = 0x27D4EB2F165667C5L;
      for (int j = 0; j < k; j++) {
        h = MinHasher.mix(h ^ wordHashes[i + j]) + j;
      }
      out[i] = h;
    }
    return Arrays.stream(out).sorted().distinct().toArray();
  }

  @Test
  void shinglesMatchTheRegexSplit() {
    String[] pieces = {"word", "Ünïcode", "İstanbul", "ǅ", "½", "Ⅻ", "٣", "日本語", "\uD835\uDC00", "\uD83D\uDE00", " ", "  ",
        "\n", ",", "-", "'", "x1", "ABC", "", "\u0301", "ß"};
    Random random = new Random(11);
    MinHasher hasher = new MinHasher(3, 4, 2);
    for (int t = 0; t < 5000; t++) {
      StringBuilder b = new StringBuilder();
      for (int k = random.nextInt(14); k >= 0; k--) {
        b.append(pieces[random.nextInt(pieces.length)]);
      }
      String text = b.toString();
      assertArrayEquals(reference(text, 3), hasher.shingles(text), text);
    }
  }
}
