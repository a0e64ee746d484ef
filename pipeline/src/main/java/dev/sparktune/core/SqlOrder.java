package dev.sparktune.core;

/** Spark SQL's orders, for code that sorts on the driver or in a task what SQL would sort the same way. */
public final class SqlOrder {
  private SqlOrder() {}

  /**
   * Spark SQL's string order: the bytes of UTF-8, which is code point order. (Java's
   * {@code String.compareTo} is UTF-16's: it puts U+E000..U+FFFF after the supplementary characters.)
   */
  public static int strings(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int x = a.codePointAt(i);
      int y = b.codePointAt(j);
      if (x != y) {
        return Integer.compare(x, y);
      }
      i += Character.charCount(x);
      j += Character.charCount(y);
    }
    return Boolean.compare(i < a.length(), j < b.length());
  }
}
