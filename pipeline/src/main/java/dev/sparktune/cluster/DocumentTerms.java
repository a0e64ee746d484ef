package dev.sparktune.cluster;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.hash.Murmur3_x86_32;

/**
 * The terms of a document as MLlib's {@code RegexTokenizer} (pattern {@code [^\p{L}\p{N}]+} as gaps,
 * lower case, at least 2 chars) followed by {@code StopWordsRemover} (case-insensitive) give them,
 * and their hashed term counts as {@code HashingTF} gives them — in one pass over the characters,
 * with no array crossing between Spark's rows and Scala collections three times per record. (The
 * hash is Spark's own MurmurHash3; nothing else here touches Spark.)
 * DocumentTermsTest compares it with that MLlib chain.
 */
final class DocumentTerms implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int TERM_CHARS = 1 << Character.UPPERCASE_LETTER | 1 << Character.LOWERCASE_LETTER
      | 1 << Character.TITLECASE_LETTER | 1 << Character.MODIFIER_LETTER | 1 << Character.OTHER_LETTER
      | 1 << Character.DECIMAL_DIGIT_NUMBER | 1 << Character.LETTER_NUMBER | 1 << Character.OTHER_NUMBER;

  private final Set<String> stopWords;
  private final Locale stopWordsLocale;

  /**
   * @param stopWords the remover's words
   * @param stopWordsLocale the locale the remover lower-cases words and terms with
   */
  DocumentTerms(List<String> stopWords, Locale stopWordsLocale) {
    this.stopWordsLocale = stopWordsLocale;
    this.stopWords = new HashSet<>();
    for (String w : stopWords) {
      this.stopWords.add(w.toLowerCase(stopWordsLocale));
    }
  }

  /** Letters and numbers (\p{L}, \p{N}) make terms; every other code point separates them. */
  static boolean isTermChar(int codePoint) {
    return (TERM_CHARS >> Character.getType(codePoint) & 1) != 0;
  }

  /** The document's terms in order, repeats kept. */
  List<String> terms(String document) {
    List<String> out = new ArrayList<>();
    if (document == null) {
      return out;
    }
    // The tokenizer lower-cases the whole text (default locale) before it splits.
    String text = document.toLowerCase();
    int n = text.length();
    int i = 0;
    while (i < n) {
      int cp = text.codePointAt(i);
      if (!isTermChar(cp)) {
        i += Character.charCount(cp);
        continue;
      }
      int start = i;
      while (i < n && isTermChar(cp = text.codePointAt(i))) {
        i += Character.charCount(cp);
      }
      if (i - start >= 2) {
        String term = text.substring(start, i);
        if (!stopWords.contains(term.toLowerCase(stopWordsLocale))) {
          out.add(term);
        }
      }
    }
    return out;
  }

  /** Term counts by hashed index: ascending indices and, per index, how many terms hash there. */
  record Counts(int[] indices, double[] values) {}

  /**
   * The column MLlib's {@code HashingTF} (Spark 3 hash) gives a term: MurmurHash3 x86-32 of its UTF-8
   * bytes, seed 42, modulo {@code numFeatures} made non-negative. Called directly, because
   * {@code HashingTF.indexOf} looks its parameters up in a map on every call.
   */
  static int hashingTfIndex(String term, int numFeatures) {
    byte[] utf8 = term.getBytes(StandardCharsets.UTF_8);
    return Math.floorMod(Murmur3_x86_32.hashUnsafeBytes2(utf8, Platform.BYTE_ARRAY_OFFSET, utf8.length, 42), numFeatures);
  }

  static Counts counts(List<String> terms, ToIntFunction<String> index) {
    int[] hashed = new int[terms.size()];
    for (int t = 0; t < hashed.length; t++) {
      hashed[t] = index.applyAsInt(terms.get(t));
    }
    Arrays.sort(hashed);
    int distinct = 0;
    for (int t = 0; t < hashed.length; t++) {
      if (t == 0 || hashed[t] != hashed[t - 1]) {
        distinct++;
      }
    }
    int[] indices = new int[distinct];
    double[] values = new double[distinct];
    int d = -1;
    for (int t = 0; t < hashed.length; t++) {
      if (t == 0 || hashed[t] != hashed[t - 1]) {
        indices[++d] = hashed[t];
      }
      values[d]++;
    }
    return new Counts(indices, values);
  }
}
