package dev.sparktune.clean;

import java.util.ArrayList;
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

  /** Regex {@code k} can only match where a word starts with the lower-case {@code letter}. */
  void addLetter(char letter, int k) {
    byLetter.computeIfAbsent(letter, x -> new ArrayList<>()).add(k);
  }

  /** Regex {@code k} can only match where the whole word is the lower-case {@code word}. */
  void addWord(String word, int k) {
    byWord.computeIfAbsent(word, x -> new ArrayList<>()).add(k);
  }

  /** The regexes to try at {@code i} (a word start): the letter's, then the word's; null when none. */
  List<Integer> at(String text, int i) {
    List<Integer> letter = byLetter.get(fold(text.charAt(i)));
    List<Integer> word = byWord.isEmpty() ? null : byWord.get(wordAt(text, i));
    if (letter == null || word == null) {
      return letter == null ? word : letter;
    }
    List<Integer> both = new ArrayList<>(letter);
    both.addAll(word);
    return both;
  }

  /** A character case-folded as the regexes' case-insensitive matching folds it. */
  static char fold(char c) {
    return Character.toLowerCase(Character.toUpperCase(c));
  }

  /** The run of letters at {@code i} (at most 24), case-folded. */
  private static String wordAt(String text, int i) {
    int j = i;
    while (j < text.length() && Character.isLetter(text.charAt(j)) && j - i < 24) {
      j++;
    }
    char[] word = new char[j - i];
    for (int k = i; k < j; k++) {
      word[k - i] = fold(text.charAt(k));
    }
    return new String(word);
  }
}
