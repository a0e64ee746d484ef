package dev.sparktune.tokenize;

import static dev.sparktune.tokenize.Gpt2Split.LETTER;
import static dev.sparktune.tokenize.Gpt2Split.NUMBER;
import static dev.sparktune.tokenize.Gpt2Split.OTHER;
import static dev.sparktune.tokenize.Gpt2Split.kind;
import static dev.sparktune.tokenize.Gpt2Split.run;

/**
 * The pre-tokenization of Llama 3's tokenizer.json (a Split pre-tokenizer, Isolated, with tiktoken's
 * cl100k pattern, then ByteLevel without its own regex):
 * {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+},
 * written out as a scanner with the regex's leftmost-alternative, greedy semantics and
 * {@link Gpt2Split}'s character classes. The pattern matches at every position, so Isolated splitting
 * leaves no text between matches.
 */
final class Llama3Split {
  /** The pattern as Llama 3's tokenizer.json writes it. */
  static final String PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
      + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  private Llama3Split() {}

  /** Where the pre-token that starts at {@code i} ends. */
  static int end(String s, int i) {
    int n = s.length();
    char c = s.charAt(i);
    if (c == '\'' && i + 1 < n) {
      int k = contraction(s, i + 1);
      if (k > 0) {
        return k;
      }
    }
    int cp = s.codePointAt(i);
    int kind = kind(cp);
    int next = i + Character.charCount(cp);
    if (kind == LETTER) {
      return run(s, i, LETTER);
    }
    if (kind != NUMBER && c != '\r' && c != '\n' && next < n && kind(s.codePointAt(next)) == LETTER) {
      return run(s, next, LETTER);
    }
    if (kind == NUMBER) {
      int k = next;
      for (int count = 1; count < 3 && k < n && kind(s.codePointAt(k)) == NUMBER; count++) {
        k += Character.charCount(s.codePointAt(k));
      }
      return k;
    }
    int j = c == ' ' && next < n && kind(s.codePointAt(next)) == OTHER ? next : i;
    if (kind(s.codePointAt(j)) == OTHER) {
      int k = run(s, j, OTHER);
      while (k < n && (s.charAt(k) == '\r' || s.charAt(k) == '\n')) {
        k++;
      }
      return k;
    }
    return whitespace(s, i);
  }

  /** {@code \s*[\r\n]+} (to just after the run's last CR or LF), else GPT-2's whitespace rules. */
  private static int whitespace(String s, int i) {
    int k = i;
    int lastBreak = -1;
    while (k < s.length()) {
      int cp = s.codePointAt(k);
      if (kind(cp) != Gpt2Split.SPACE) {
        break;
      }
      if (cp == '\r' || cp == '\n') {
        lastBreak = k;
      }
      k += Character.charCount(cp);
    }
    return lastBreak >= 0 ? lastBreak + 1 : Gpt2Split.whitespace(s, i);
  }

  /**
   * The end of a contraction after the apostrophe at {@code i - 1}, case-insensitive, or 0. ASCII
   * letters only: a text with U+017F (long s, which case-folds to s) is left to the library
   * ({@link #admissible}).
   */
  private static int contraction(String s, int i) {
    char a = Character.toLowerCase(s.charAt(i) < 128 ? s.charAt(i) : '?');
    if (a == 's' || a == 't' || a == 'm' || a == 'd') {
      return i + 1;
    }
    if (i + 1 < s.length() && s.charAt(i + 1) < 128) {
      char b = Character.toLowerCase(s.charAt(i + 1));
      if ((a == 'r' || a == 'v') && b == 'e' || a == 'l' && b == 'l') {
        return i + 2;
      }
    }
    return 0;
  }

  /** {@link Gpt2Split#admissible}, and no U+017F (see {@link #contraction}). */
  static boolean admissible(String s) {
    return s.indexOf('\u017f') < 0 && Gpt2Split.admissible(s);
  }
}
