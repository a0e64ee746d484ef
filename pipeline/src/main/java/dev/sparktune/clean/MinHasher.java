package dev.sparktune.clean;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;

/**
 * Word-shingle sets and MinHash LSH band keys of a text. Words are maximal runs of letters and
 * digits, lower-cased; shingles are {@code k} consecutive words (a shorter text is one shingle),
 * hashed to 64 bits. Signature value {@code i} is the minimum over shingles of a 64-bit mix of the
 * shingle hash with a per-function salt; band {@code b} hashes rows {@code b*r .. b*r+r-1}.
 * Everything is deterministic: the salts derive from a fixed seed.
 */
public final class MinHasher implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int shingleWords;
  private final int bands;
  private final int rows;
  private final long[] salts;

  public MinHasher(int shingleWords, int bands, int rows) {
    this.shingleWords = shingleWords;
    this.bands = bands;
    this.rows = rows;
    this.salts = new long[bands * rows];
    long s = 0x5DEECE66DL;
    for (int i = 0; i < salts.length; i++) {
      s = mix(s + 0x9E3779B97F4A7C15L);
      salts[i] = s;
    }
  }

  /** SplitMix64's finalizer: a fast, well-spread 64-bit mix. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** The distinct shingle hashes of {@code text}, sorted; empty for a text without words. */
  public long[] shingles(String text) {
    if (text == null) {
      return new long[0];
    }
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
      wordHashes[i] = mix(h);
    }
    int k = Math.min(shingleWords, n);
    long[] out = new long[n - k + 1];
    for (int i = 0; i < out.length; i++) {
      long h = 0x27D4EB2F165667C5L;
      for (int j = 0; j < k; j++) {
        h = mix(h ^ wordHashes[i + j]) + j;
      }
      out[i] = h;
    }
    Arrays.sort(out);
    int unique = 0;
    for (int i = 0; i < out.length; i++) {
      if (i == 0 || out[i] != out[i - 1]) {
        out[unique++] = out[i];
      }
    }
    return Arrays.copyOf(out, unique);
  }

  /** One key per band; two texts are candidates when any band key agrees. */
  public long[] bandKeys(long[] shingles) {
    long[] signature = new long[salts.length];
    Arrays.fill(signature, Long.MAX_VALUE);
    for (long s : shingles) {
      for (int i = 0; i < salts.length; i++) {
        long v = mix(s ^ salts[i]);
        if (v < signature[i]) {
          signature[i] = v;
        }
      }
    }
    long[] keys = new long[bands];
    for (int b = 0; b < bands; b++) {
      long h = b;
      for (int r = 0; r < rows; r++) {
        h = mix(h ^ signature[b * rows + r]) + r;
      }
      keys[b] = h;
    }
    return keys;
  }
}
