package dev.sparktune.tokenize;

/**
 * The pre-tokenization of Hugging Face's ByteLevel pre-tokenizer with {@code use_regex}: GPT-2's
 * pattern {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}, written
 * out as a scanner with the same leftmost-alternative, greedy semantics. {@code \s} is Unicode
 * White_Space (tab to carriage return, U+0085, and the space, line and paragraph separators), as in
 * Oniguruma and Rust's regex; {@code \p{L}} and {@code \p{N}} are the letter and number categories.
 *
 * <p>The categories come from the JVM's Unicode tables, the library's from its own, and the two
 * differ on code points assigned in later Unicode versions. {@link #admissible} says whether a text
 * is split alike by both: it refuses unassigned code points, lone surrogates, and letters or numbers
 * outside the blocks that have had none added since Unicode 13 (Java 17's version).
 */
final class Gpt2Split {
  private Gpt2Split() {}

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
    if (c == ' ' && i + 1 < n) {
      int next = kind(s.codePointAt(i + 1));
      if (next != SPACE) {
        return run(s, i + 1, next);
      }
    } else {
      int kind = kind(s.codePointAt(i));
      if (kind != SPACE) {
        return run(s, i, kind);
      }
    }
    return whitespace(s, i);
  }

  /** {@code \s+(?!\S)}, else {@code \s+} of one character, at a whitespace character. */
  static int whitespace(String s, int i) {
    int n = s.length();
    int k = i;
    int last = i;
    while (k < n) {
      int cp = s.codePointAt(k);
      if (kind(cp) != SPACE) {
        break;
      }
      last = k;
      k += Character.charCount(cp);
    }
    return k == n || last == i ? k : last;
  }

  /** The end of the run of code points of {@code kind} from {@code j}. */
  static int run(String s, int j, int kind) {
    int k = j;
    while (k < s.length()) {
      int cp = s.codePointAt(k);
      if (kind(cp) != kind) {
        break;
      }
      k += Character.charCount(cp);
    }
    return k;
  }

  /** The end of {@code 's|'t|'re|'ve|'m|'ll|'d} after the apostrophe at {@code i - 1}, or 0. */
  private static int contraction(String s, int i) {
    char a = s.charAt(i);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') {
      return i + 1;
    }
    if (i + 1 < s.length()) {
      char b = s.charAt(i + 1);
      if ((a == 'r' || a == 'v') && b == 'e' || a == 'l' && b == 'l') {
        return i + 2;
      }
    }
    return 0;
  }

  static final int SPACE = 0;
  static final int LETTER = 1;
  static final int NUMBER = 2;
  static final int OTHER = 3;

  /** The class of a code point under the pattern. */
  static int kind(int cp) {
    if (cp < 0x80) {
      return ASCII[cp];
    }
    switch (Character.getType(cp)) {
      case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
          Character.MODIFIER_LETTER, Character.OTHER_LETTER:
        return LETTER;
      case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER:
        return NUMBER;
      case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR:
        return SPACE;
      default:
        return cp == 0x85 ? SPACE : OTHER;
    }
  }

  private static final byte[] ASCII = new byte[128];

  static {
    for (int c = 0; c < 128; c++) {
      ASCII[c] = (byte) (c >= 9 && c <= 13 || c == ' ' ? SPACE
          : Character.isLetter(c) ? LETTER : Character.isDigit(c) ? NUMBER : OTHER);
    }
  }

  /**
   * Whether every code point of {@code s} has the same class in the JVM's tables as in the
   * library's (see the class comment): no lone surrogate, nothing unassigned, and every letter or
   * number from U+0870 up in a block with no letters or numbers added since Unicode 13.
   */
  static boolean admissible(String s) {
    for (int i = 0, n = s.length(); i < n; ) {
      char c = s.charAt(i);
      if (c < 0x870) {
        i++;
        continue;
      }
      int cp = s.codePointAt(i);
      if (Character.isSurrogate(c) && Character.charCount(cp) == 1) {
        return false;
      }
      int type = Character.getType(cp);
      if (type == Character.UNASSIGNED || kind(cp) != OTHER && kind(cp) != SPACE && !stable(cp)) {
        return false;
      }
      i += Character.charCount(cp);
    }
    return true;
  }

  /** Blocks whose letters and numbers are unchanged since Unicode 13 (start, end exclusive). */
  private static final int[] STABLE = {
    0x0900, 0x0C00, // Devanagari to Oriya, Tamil
    0x0E00, 0x0E80, // Thai
    0x10A0, 0x1100, // Georgian
    0x1100, 0x1200, // Hangul Jamo
    0x1E00, 0x2000, // Latin Extended Additional, Greek Extended
    0x2000, 0x20C0, // punctuation, super- and subscripts, currency
    0x2100, 0x2190, // letterlike symbols, number forms
    0x2460, 0x2500, // enclosed alphanumerics
    0x3000, 0x3100, // CJK symbols, Hiragana, Katakana
    0x3130, 0x3190, // Hangul Compatibility Jamo
    0x3400, 0x4DC0, // CJK Extension A
    0x4E00, 0x9FFD, // CJK Unified Ideographs (U+9FFD on came in Unicode 14)
    0xAC00, 0xD7A4, // Hangul Syllables
    0xFF00, 0xFFF0, // halfwidth and fullwidth forms
    0x1D400, 0x1D800, // mathematical alphanumeric symbols
    0x20000, 0x2A6DE, // CJK Extension B (U+2A6DE on came in Unicode 14)
  };

  private static boolean stable(int cp) {
    for (int k = 0; k < STABLE.length; k += 2) {
      if (cp >= STABLE[k] && cp < STABLE[k + 1]) {
        return true;
      }
    }
    return false;
  }
}
