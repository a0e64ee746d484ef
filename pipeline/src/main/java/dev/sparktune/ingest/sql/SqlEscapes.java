package dev.sparktune.ingest.sql;

/**
 * The one decoder of backslash escapes in SQL dump text, with the rules of the two places they
 * occur: string literals of MySQL dumps and PostgreSQL {@code E''} strings ({@link Style#LITERAL}:
 * {@code ''} is a quote too, {@code \0} is NUL, {@code \Z} is Ctrl-Z, {@code \%} and {@code \_} keep
 * their backslash) and fields of PostgreSQL's {@code COPY} text format ({@link Style#COPY_TEXT}:
 * {@code \v}, octal {@code \ooo} and hex {@code \xhh}; quotes are plain characters). Any other
 * escaped character stands for itself, and a trailing lone backslash is kept.
 */
final class SqlEscapes {
  private SqlEscapes() {}

  /** Which escape rules apply. */
  enum Style { LITERAL, COPY_TEXT }

  static String unescape(String raw, Style style) {
    StringBuilder sb = new StringBuilder(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (style == Style.LITERAL && c == '\'' && i + 1 < raw.length() && raw.charAt(i + 1) == '\'') {
        sb.append('\'');
        i++;
      } else if (c == '\\' && i + 1 < raw.length()) {
        i = escape(raw, i + 1, style, sb);
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  /** Appends the escape whose character is at {@code i}; returns the index of its last character. */
  private static int escape(String raw, int i, Style style, StringBuilder sb) {
    char n = raw.charAt(i);
    switch (n) {
      case 'n' -> sb.append('\n');
      case 'r' -> sb.append('\r');
      case 't' -> sb.append('\t');
      case 'b' -> sb.append('\b');
      case 'f' -> sb.append('\f');
      default -> {
        return style == Style.LITERAL ? literalEscape(n, i, sb) : copyEscape(raw, i, sb);
      }
    }
    return i;
  }

  private static int literalEscape(char n, int i, StringBuilder sb) {
    switch (n) {
      case '0' -> sb.append('\0');
      case 'Z' -> sb.append('\u001A');
      // MySQL keeps the backslash of \% and \_ (they only matter in LIKE patterns).
      case '%', '_' -> sb.append('\\').append(n);
      default -> sb.append(n);
    }
    return i;
  }

  private static int copyEscape(String f, int i, StringBuilder sb) {
    char n = f.charAt(i);
    if (n == 'v') {
      sb.append('\u000B');
      return i;
    }
    if (n >= '0' && n <= '7') {
      int end = i;
      while (end < f.length() && end < i + 3 && f.charAt(end) >= '0' && f.charAt(end) <= '7') {
        end++;
      }
      sb.append((char) Integer.parseInt(f.substring(i, end), 8));
      return end - 1;
    }
    if (n == 'x' && i + 1 < f.length() && Character.digit(f.charAt(i + 1), 16) >= 0) {
      int end = i + 1;
      while (end < f.length() && end < i + 3 && Character.digit(f.charAt(end), 16) >= 0) {
        end++;
      }
      sb.append((char) Integer.parseInt(f.substring(i + 1, end), 16));
      return end - 1;
    }
    sb.append(n);
    return i;
  }
}
