package dev.sparktune.clean;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which of the refusal detector's indexed regexes can match at a word start: those whose match starts
 * with the text's (case-folded) first letter there, and those whose whole first word is the text's
 * word there ({@link RegexFirstWords}).
 */
final class RegexStarts {
  private final Map<Character, List<Integer>> byLetter = new HashMap<>();
  private final Map<String, List<Integer>> byWord = new HashMap<>();
  /** The same lookups for ASCII first letters (nearly every word start of English text), without boxing. */
  @SuppressWarnings("unchecked")
  private final List<Integer>[] byAsciiLetter = new List[128];
  /** The first words (all ASCII: {@link RegexFirstWords}) by their first letter. */
  private final String[][] wordsByAsciiLetter = new String[128][];
  /** Per regex, the literal texts one of which its match starts with ({@link RegexFirstWords#prefixes}), or null. */
  private String[][] prefixes = new String[0][];

  /** Regex {@code k} can only match where a word starts with the lower-case {@code letter}. */
  void addLetter(char letter, int k) {
    List<Integer> list = byLetter.computeIfAbsent(letter, x -> new ArrayList<>());
    list.add(k);
    if (letter < 128) {
      byAsciiLetter[letter] = list;
    }
  }

  /** Regex {@code k} can only match where the whole word is the lower-case ASCII {@code word}. */
  void addWord(String word, int k) {
    if (word.isEmpty() || word.charAt(0) >= 128) {
      throw new IllegalArgumentException("a regex's first word is indexed only when it is ASCII: '" + word + "'");
    }
    List<Integer> list = byWord.computeIfAbsent(word, x -> new ArrayList<>());
    if (list.isEmpty()) {
      char first = word.charAt(0);
      String[] words = wordsByAsciiLetter[first] == null ? new String[0] : wordsByAsciiLetter[first];
      words = Arrays.copyOf(words, words.length + 1);
      words[words.length - 1] = word;
      wordsByAsciiLetter[first] = words;
    }
    list.add(k);
  }

  /** Regex {@code k} can only match where the text starts with one of {@code prefixes} (lower case; null: anything). */
  void addPrefixes(int k, String[] prefixes) {
    if (k >= this.prefixes.length) {
      this.prefixes = Arrays.copyOf(this.prefixes, k + 1);
    }
    this.prefixes[k] = prefixes;
  }

  /** Whether regex {@code k} can match at {@code i}: the text there, case-folded, starts with one of its prefixes. */
  boolean mayMatch(int k, String text, int i) {
    String[] p = k < prefixes.length ? prefixes[k] : null;
    if (p == null) {
      return true;
    }
    for (String prefix : p) {
      if (foldedAt(text, i, prefix)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code text} at {@code i}, case-folded, starts with the lower-case {@code s}. */
  private static boolean foldedAt(String text, int i, String s) {
    if (i + s.length() > text.length()) {
      return false;
    }
    for (int q = 0; q < s.length(); q++) {
      if (fold(text.charAt(i + q)) != s.charAt(q)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether a regex may start at a word that starts with {@code c}: false only for an ASCII character
   * that no indexed regex starts with (a character beyond ASCII can fold to an ASCII letter: ſ to s).
   */
  boolean mayStart(char c) {
    if (c >= 128) {
      return true;
    }
    char f = fold(c);
    return byAsciiLetter[f] != null || wordsByAsciiLetter[f] != null;
  }

  /** The regexes indexed by the case-folded letter {@code first}, or null. */
  List<Integer> letterAt(char first) {
    return first < 128 ? byAsciiLetter[first] : byLetter.get(first);
  }

  /** The regexes whose first word is the word at {@code i} (starting with the case-folded {@code first}), or null. */
  List<Integer> wordAt(char first, String text, int i) {
    // A folded word can only be an (ASCII) first word if its first letter is ASCII.
    return first < 128 && wordsByAsciiLetter[first] != null ? wordAt(text, i, wordsByAsciiLetter[first]) : null;
  }

  /**
   * The regexes of the first word among {@code words} that the run of letters at {@code i} (at most
   * 24, case-folded) spells, compared in place rather than copied into a string.
   */
  private List<Integer> wordAt(String text, int i, String[] words) {
    int j = i;
    while (j < text.length() && Character.isLetter(text.charAt(j)) && j - i < 24) {
      j++;
    }
    int length = j - i;
    for (String w : words) {
      if (w.length() == length && foldedAt(text, i, w)) {
        return byWord.get(w);
      }
    }
    return null;
  }

  /** A character case-folded as the regexes' case-insensitive matching folds it. */
  static char fold(char c) {
    if (c < 128) { // the same, without the Unicode tables
      return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
    }
    return Character.toLowerCase(Character.toUpperCase(c));
  }
}
