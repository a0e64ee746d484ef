package dev.sparktune.clean;

import java.io.Serializable;
import java.text.Normalizer;

/**
 * The clean stage's text normalization in one pass per rule over a char buffer: the same result as
 * the stage's Spark SQL regex chain ({@code CleanStage.normalize}), which a GPU plan keeps (the RAPIDS
 * Accelerator runs those expressions) and which on a CPU cost a regex scan per rule and field, the
 * invisible-character class being a chain of predicates per character.
 *
 * <p>Rules, in order: Unicode form (NFC/NFKC or none); CRLF and lone CR to LF; control characters
 * but LF and tab, zero-width characters, soft hyphens and BOMs removed; with {@code collapse}: a run
 * of two or more spaces/NBSPs after a non-whitespace character becomes one space (indentation
 * stays), spaces, tabs and NBSPs before a line break go, three or more line breaks become two; then
 * ASCII whitespace is trimmed at both ends and an empty result is null.
 */
public final class TextNormalizer implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final char NBSP = '\u00A0';

  private final Normalizer.Form form;
  private final boolean collapse;

  /** @param form the Unicode form, or null for none */
  public TextNormalizer(Normalizer.Form form, boolean collapse) {
    this.form = form;
    this.collapse = collapse;
  }

  public String apply(String s) {
    if (s == null) {
      return null;
    }
    String text = form == null ? s : Normalizer.normalize(s, form);
    String out = lineBreaksAndInvisibles(text);
    if (collapse) {
      out = newlines(trailingSpaces(innerRuns(out)));
    }
    out = trim(out);
    return out.isEmpty() ? null : out;
  }

  /**
   * CRLF and lone CR to LF, invisible characters removed; the text itself (no copy) when it has
   * neither, as most texts do.
   */
  private static String lineBreaksAndInvisibles(String text) {
    int n = text.length();
    int first = 0;
    while (first < n && text.charAt(first) != '\r' && !invisible(text.charAt(first))) {
      first++;
    }
    if (first == n) {
      return text;
    }
    StringBuilder b = new StringBuilder(n).append(text, 0, first);
    for (int i = first; i < n; i++) {
      char c = text.charAt(i);
      if (c == '\r') {
        b.append('\n');
        if (i + 1 < n && text.charAt(i + 1) == '\n') {
          i++;
        }
      } else if (!invisible(c)) {
        b.append(c);
      }
    }
    return b.toString();
  }

  /** {@code CleanStage.INVISIBLE}: C0/C1 controls but \n, \t (and \r, handled before), U+200B-U+200F, U+2060-U+2064, U+FEFF, U+00AD. */
  static boolean invisible(char c) {
    if (c < 0x20) {
      return c != '\n' && c != '\t' && c != '\r';
    }
    return (c >= 0x7F && c <= 0x9F) || (c >= 0x200B && c <= 0x200F) || (c >= 0x2060 && c <= 0x2064)
        || c == 0xFEFF || c == 0x00AD;
  }

  /** Java regex {@code \s} (without UNICODE_CHARACTER_CLASS): [ \t\n\x0B\f\r]. */
  private static boolean space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\u000B' || c == '\f' || c == '\r';
  }

  /** {@code (\S)[ NBSP]{2,}} to {@code $1 }. */
  private static String innerRuns(String s) {
    // A run is two spaces or NBSPs in a row: without "  " and without an NBSP there is none (most
    // texts; String.indexOf scans with the CPU's vector instructions).
    if (s.indexOf("  ") < 0 && s.indexOf(NBSP) < 0) {
      return s;
    }
    StringBuilder b = null;
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      int run = 0;
      if (!space(c)) {
        while (i + 1 + run < n && (s.charAt(i + 1 + run) == ' ' || s.charAt(i + 1 + run) == NBSP)) {
          run++;
        }
      }
      if (run >= 2) {
        if (b == null) {
          b = new StringBuilder(n).append(s, 0, i);
        }
        b.append(c).append(' ');
        i += run;
      } else if (b != null) {
        b.append(c);
      }
    }
    return b == null ? s : b.toString();
  }

  /** {@code [ \t NBSP]+\n} to {@code \n}. */
  private static String trailingSpaces(String s) {
    if (!spaceBeforeLineBreak(s)) {
      return s;
    }
    StringBuilder b = null;
    int n = s.length();
    int i = 0;
    while (i < n) {
      char c = s.charAt(i);
      if (c == ' ' || c == '\t' || c == NBSP) {
        int j = i;
        while (j < n && (s.charAt(j) == ' ' || s.charAt(j) == '\t' || s.charAt(j) == NBSP)) {
          j++;
        }
        if (j < n && s.charAt(j) == '\n') {
          if (b == null) {
            b = new StringBuilder(n).append(s, 0, i);
          }
        } else if (b != null) {
          b.append(s, i, j);
        }
        i = j;
        continue;
      }
      if (b != null) {
        b.append(c);
      }
      i++;
    }
    return b == null ? s : b.toString();
  }

  /** Whether a space, tab or NBSP stands right before a line break (else trailingSpaces has nothing to do). */
  private static boolean spaceBeforeLineBreak(String s) {
    for (int p = s.indexOf('\n', 1); p >= 0; p = s.indexOf('\n', p + 1)) {
      char c = s.charAt(p - 1);
      if (c == ' ' || c == '\t' || c == NBSP) {
        return true;
      }
    }
    return false;
  }

  /** {@code \n{3,}} to {@code \n\n}. */
  private static String newlines(String s) {
    if (!s.contains("\n\n\n")) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length());
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c == '\n') {
        int j = i;
        while (j < n && s.charAt(j) == '\n') {
          j++;
        }
        b.append(j - i >= 3 ? "\n\n" : s.substring(i, j));
        i = j - 1;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  /** Spark's {@code btrim(s, ' \t\n\u000B\f\r')}. */
  private static String trim(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && space(s.charAt(start))) {
      start++;
    }
    while (end > start && space(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(start, end);
  }
}
