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
  public static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** The distinct shingle hashes of {@code text}, sorted; empty for a text without words. */
  public long[] shingles(String text) {
    Words words = new Words();
    words.add(text);
    return shingles(words);
  }

  /**
   * The distinct shingle hashes of {@code texts} (nulls skipped) as one text, each joined to the next
   * by a space as {@code concat_ws(" ", ...)} joins them: a word never runs from one into the next.
   */
  public long[] shingles(Iterable<String> texts) {
    Words words = new Words();
    for (String text : texts) {
      words.add(text);
    }
    return shingles(words);
  }

  private long[] shingles(Words words) {
    int n = words.count;
    long[] wordHashes = words.hashes;
    if (n == 0) {
      return new long[0];
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
    return sortedDistinct(out);
  }

  /**
   * The hashes of a text's words in order. Words are maximal runs of \p{L} and \p{N} code points of
   * the lower-cased text, as split("[^\\p{L}\\p{N}]+") would cut them, hashed (FNV-1a over the chars)
   * while scanning: no regex, no substrings.
   */
  private static final class Words {
    long[] hashes = new long[16];
    int count;

    void add(String text) {
      if (text != null && !addAscii(text)) {
        addLowerCased(text.toLowerCase(Locale.ROOT));
      }
    }

    /**
     * An ASCII text without the lower-cased copy: A-Z lower-cased as they are read, [a-z0-9] the word
     * characters. False, with nothing added, at the first char beyond ASCII: the whole text then goes
     * the general way, since lower-casing a text is not always lower-casing its chars one by one.
     */
    private boolean addAscii(String text) {
      int start = count;
      long wh = 0;
      boolean inWord = false;
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c >= 0x80) {
          count = start;
          return false;
        }
        char lower = c >= 'A' && c <= 'Z' ? (char) (c | 0x20) : c;
        if (lower >= 'a' && lower <= 'z' || c >= '0' && c <= '9') {
          if (!inWord) {
            wh = 0xCBF29CE484222325L;
            inWord = true;
          }
          wh = (wh ^ lower) * 0x100000001B3L;
        } else if (inWord) {
          append(mix(wh));
          inWord = false;
        }
      }
      if (inWord) {
        append(mix(wh));
      }
      return true;
    }

    private void addLowerCased(String lower) {
      long wh = 0;
      boolean inWord = false;
      for (int i = 0; i < lower.length(); ) {
        int cp = lower.codePointAt(i);
        int len = Character.charCount(cp);
        if (wordChar(cp)) {
          if (!inWord) {
            wh = 0xCBF29CE484222325L;
            inWord = true;
          }
          for (int c = i; c < i + len; c++) {
            wh = (wh ^ lower.charAt(c)) * 0x100000001B3L;
          }
        } else if (inWord) {
          append(mix(wh));
          inWord = false;
        }
        i += len;
      }
      if (inWord) {
        append(mix(wh));
      }
    }

    private void append(long v) {
      if (count == hashes.length) {
        hashes = Arrays.copyOf(hashes, count * 2);
      }
      hashes[count++] = v;
    }
  }

  /** {@code values} sorted (in place), then the distinct ones as a new array. */
  static long[] sortedDistinct(long[] values) {
    Arrays.sort(values);
    int unique = 0;
    for (int i = 0; i < values.length; i++) {
      if (i == 0 || values[i] != values[i - 1]) {
        values[unique++] = values[i];
      }
    }
    return Arrays.copyOf(values, unique);
  }

  /** \\p{L} or \\p{N}. */
  private static boolean wordChar(int cp) {
    switch (Character.getType(cp)) {
      case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
          Character.MODIFIER_LETTER, Character.OTHER_LETTER, Character.DECIMAL_DIGIT_NUMBER,
          Character.LETTER_NUMBER, Character.OTHER_NUMBER:
        return true;
      default:
        return false;
    }
  }

  /** One key per band; two texts are candidates when any band key agrees. */
  public long[] bandKeys(long[] shingles) {
    long[] signature = new long[salts.length];
    Arrays.fill(signature, Long.MAX_VALUE);
    long[] values = new long[salts.length];
    for (long s : shingles) {
      // mix(s ^ salt) for every salt in a loop of its own, which the JIT vectorizes (the minimum
      // beside it would keep it scalar on JDK 17); then the running minima with Math.min, which
      // Java 21+ vectorizes too (a compare-and-store stays scalar: 2.3x slower on Java 25).
      for (int i = 0; i < values.length; i++) {
        values[i] = mix(s ^ salts[i]); // inlined by the JIT: the loop still vectorizes
      }
      for (int i = 0; i < values.length; i++) {
        signature[i] = Math.min(signature[i], values[i]);
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
