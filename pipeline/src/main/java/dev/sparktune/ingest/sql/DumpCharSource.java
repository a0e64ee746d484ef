package dev.sparktune.ingest.sql;

import java.io.IOException;
import java.io.Reader;

/**
 * A dump's characters for {@link SqlStatementSplitter}: read ahead in blocks (a dump is read a
 * character at a time, so not through a lock per character), with characters put back for a second
 * look and the current 1-based line counted across both.
 */
final class DumpCharSource {
  private final Reader in;
  private final StringBuilder pushback = new StringBuilder();
  private final char[] buffer = new char[1 << 16];
  private int bufferPos;
  private int bufferEnd;
  private int line = 1;

  DumpCharSource(Reader in) {
    this.in = in;
  }

  /** The next character, or -1 at the end of input. */
  int read() throws IOException {
    int c;
    if (pushback.length() > 0) {
      c = pushback.charAt(pushback.length() - 1);
      pushback.setLength(pushback.length() - 1);
    } else if (bufferPos < bufferEnd) {
      c = buffer[bufferPos++];
    } else {
      int n = in.read(buffer, 0, buffer.length);
      if (n <= 0) {
        return -1;
      }
      bufferEnd = n;
      bufferPos = 1;
      c = buffer[0];
    }
    if (c == '\n') {
      line++;
    }
    return c;
  }

  /** Puts {@code c} back (nothing when it is negative: the end of input or no character). */
  void unread(int c) {
    if (c < 0) {
      return;
    }
    if (c == '\n') {
      line--;
    }
    pushback.append((char) c);
  }

  /** Puts back {@code text} followed by {@code after}, so they are read again in that order. */
  void unread(CharSequence text, int after) {
    unread(after);
    for (int i = text.length() - 1; i >= 0; i--) {
      unread(text.charAt(i));
    }
  }

  int peek() throws IOException {
    int c = read();
    unread(c);
    return c;
  }

  int line() {
    return line;
  }

  /**
   * Skips the read-ahead up to the next quote, backslash (when it escapes) or line break in one go,
   * appending it to {@code sb} (when not null) as long as {@code sb} is at most {@code maxChars} long:
   * a string literal may be gigabytes long, and this is where a dump's characters are spent.
   */
  void copyPlain(char quote, boolean backslash, StringBuilder sb, int maxChars) {
    if (pushback.length() > 0) {
      return;
    }
    int i = bufferPos;
    while (i < bufferEnd) {
      char c = buffer[i];
      if (c == quote || c == '\n' || (backslash && c == '\\')) {
        break;
      }
      i++;
    }
    if (sb != null && sb.length() <= maxChars) {
      sb.append(buffer, bufferPos, Math.min(i - bufferPos, maxChars + 1 - sb.length()));
    }
    bufferPos = i;
  }

  void close() throws IOException {
    in.close();
  }
}
