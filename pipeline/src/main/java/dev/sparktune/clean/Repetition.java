package dev.sparktune.clean;

import java.util.HashMap;
import java.util.Map;

/**
 * Gopher-style repetition: the share of a text's word characters that lie inside word n-grams
 * occurring more than once ("duplicate n-gram character fraction", Rae et al. 2021). Looping,
 * degenerate generations score high; ordinary prose scores near zero.
 */
public final class Repetition {
  private Repetition() {}

  public static double duplicateNgramFraction(String text, int n) {
    if (text == null) {
      return 0;
    }
    String[] words = text.strip().split("\\s+");
    if (words.length < n || (words.length == 1 && words[0].isEmpty())) {
      return 0;
    }
    Map<String, Integer> counts = new HashMap<>();
    String[] grams = new String[words.length - n + 1];
    for (int i = 0; i < grams.length; i++) {
      grams[i] = String.join(" ", java.util.Arrays.copyOfRange(words, i, i + n)).toLowerCase(java.util.Locale.ROOT);
      counts.merge(grams[i], 1, Integer::sum);
    }
    boolean[] covered = new boolean[words.length];
    for (int i = 0; i < grams.length; i++) {
      if (counts.get(grams[i]) > 1) {
        for (int k = i; k < i + n; k++) {
          covered[k] = true;
        }
      }
    }
    long total = 0;
    long dup = 0;
    for (int i = 0; i < words.length; i++) {
      total += words[i].length();
      if (covered[i]) {
        dup += words[i].length();
      }
    }
    return total == 0 ? 0 : (double) dup / total;
  }
}
