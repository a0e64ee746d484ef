package dev.sparktune.ingest.json;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Passes JSON text through unchanged, except that every array or object opening deeper than
 * {@code maxDepth} is replaced, whole, by {@code null}; each replacement is recorded with its
 * position. A parser behind it never nests deeper than {@code maxDepth}, so one record nested
 * 100,000 levels deep is skipped alone instead of stopping the parser (Jackson's nesting limit ends
 * the whole stream) or the stack.
 *
 * <p>It tracks only strings (and their escapes) and brackets; anything else, valid or not, is passed
 * on for the parser to judge. Memory is constant however deep the input goes.
 */
final class DepthLimitingReader extends Reader {
  private static final char[] NULL = {'n', 'u', 'l', 'l'};

  /**
   * One replaced container.
   *
   * @param offset where its {@code null} starts in the text this reader passes on (a parser's char offset)
   * @param line 1-based line of its opening bracket in the input
   * @param column 1-based column of its opening bracket in the input
   */
  record Elision(long offset, long line, long column) {}

  private final Reader in;
  private final int maxDepth;
  private final char[] buffer = new char[1 << 14];
  private final Deque<Elision> elisions = new ArrayDeque<>();
  private int pos;
  private int end;
  private long depth;
  /** Depth of the container being replaced; 0 when none is. */
  private long skipDepth;
  private boolean inString;
  private boolean escaped;
  private int pendingNull;
  private long outOffset;
  private long line = 1;
  private long column;

  DepthLimitingReader(Reader in, int maxDepth) {
    this.in = in;
    this.maxDepth = maxDepth;
  }

  /**
   * The first replacement before {@code offset} (the parser's position at the end of a value), or null;
   * that replacement and any others before {@code offset} are forgotten.
   */
  Elision firstBefore(long offset) {
    Elision first = null;
    while (!elisions.isEmpty() && elisions.peekFirst().offset() < offset) {
      Elision e = elisions.pollFirst();
      if (first == null) {
        first = e;
      }
    }
    return first;
  }

  @Override
  public int read(char[] cbuf, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    int n = 0;
    while (n == 0) {
      while (pendingNull > 0 && n < len) {
        cbuf[off + n++] = NULL[NULL.length - pendingNull--];
        outOffset++;
      }
      if (n == len) {
        return n;
      }
      if (pos == end) {
        int r = in.read(buffer, 0, buffer.length);
        if (r <= 0) {
          return n == 0 ? -1 : n;
        }
        pos = 0;
        end = r;
      }
      while (pos < end && n < len && pendingNull == 0) {
        char c = buffer[pos++];
        if (pass(c)) {
          cbuf[off + n++] = c;
          outOffset++;
        }
      }
    }
    return n;
  }

  /** Advances the state past {@code c}; whether {@code c} is passed on. */
  private boolean pass(char c) {
    if (c == '\n') {
      line++;
      column = 0;
    } else {
      column++;
    }
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
      return skipDepth == 0;
    }
    switch (c) {
      case '"' -> inString = true;
      case '[', '{' -> {
        depth++;
        if (skipDepth == 0 && depth > maxDepth) {
          skipDepth = depth;
          pendingNull = NULL.length;
          elisions.addLast(new Elision(outOffset, line, column));
          return false;
        }
      }
      case ']', '}' -> {
        if (depth > 0) {
          depth--;
        }
        if (skipDepth != 0 && depth < skipDepth) {
          skipDepth = 0;
          return false;
        }
      }
      default -> { }
    }
    return skipDepth == 0;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
