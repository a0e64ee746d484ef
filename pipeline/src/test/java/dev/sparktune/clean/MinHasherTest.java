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
        "\n", ",", "-", "'", "x1", "ABC", "", "\u0301", "ß", "@[`{/:", "Z9", "\t\u007f"};
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

  /** Several texts hash as the one text concat_ws(" ", ...) makes of them, nulls skipped. */
  @Test
  void severalTextsAreTheirJoin() {
    String[] pieces = {"word", "Ünïcode", "İstanbul", "x1", "ABC", "", " ", "-", "日本語", "Z9", "ß"};
    Random random = new Random(5);
    MinHasher hasher = new MinHasher(2, 4, 2);
    for (int t = 0; t < 2000; t++) {
      java.util.List<String> texts = new java.util.ArrayList<>();
      for (int k = random.nextInt(5); k >= 0; k--) {
        StringBuilder b = new StringBuilder();
        for (int p = random.nextInt(4); p >= 0; p--) {
          b.append(pieces[random.nextInt(pieces.length)]);
        }
        texts.add(random.nextInt(6) == 0 ? null : b.toString());
      }
      String joined = String.join(" ", texts.stream().filter(java.util.Objects::nonNull).toList());
      assertArrayEquals(reference(joined, 2), hasher.shingles(texts), texts.toString());
    }
  }

  /** The signature as first written: one loop, the minimum of mix(shingle ^ salt) per hash function. */
  static long[] referenceBandKeys(long[] shingles, int bands, int rows) {
    long[] salts = new long[bands * rows];
    long s = 0x5DEECE66DL;
    for (int i = 0; i < salts.length; i++) {
      s = MinHasher.mix(s + 0x9E3779B97F4A7C15L);
      salts[i] = s;
    }
    long[] signature = new long[salts.length];
    Arrays.fill(signature, Long.MAX_VALUE);
    for (long sh : shingles) {
      for (int i = 0; i < salts.length; i++) {
        signature[i] = Math.min(signature[i], MinHasher.mix(sh ^ salts[i]));
      }
    }
    long[] keys = new long[bands];
    for (int b = 0; b < bands; b++) {
      long h = b;
      for (int r = 0; r < rows; r++) {
        h = MinHasher.mix(h ^ signature[b * rows + r]) + r;
      }
      keys[b] = h;
    }
    return keys;
  }

  @Test
  void bandKeysAreThoseOfThePlainMinimum() {
    Random random = new Random(5);
    for (int[] shape : new int[][] {{20, 5}, {1, 1}, {3, 7}, {16, 8}}) {
      MinHasher hasher = new MinHasher(5, shape[0], shape[1]);
      for (int t = 0; t < 300; t++) {
        long[] shingles = new long[1 + random.nextInt(400)];
        for (int i = 0; i < shingles.length; i++) {
          shingles[i] = random.nextInt(4) == 0 ? random.nextInt(50) - 25 : random.nextLong();
        }
        assertArrayEquals(referenceBandKeys(shingles, shape[0], shape[1]), hasher.bandKeys(shingles));
      }
    }
  }
}
