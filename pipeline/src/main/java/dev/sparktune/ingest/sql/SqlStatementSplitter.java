package dev.sparktune.ingest.sql;

import java.io.IOException;
import java.io.Reader;
import java.util.Locale;

/**
 * Cuts a SQL dump into statements without loading it whole: a statement ends at the delimiter
 * ({@code ;}, or what a MySQL {@code DELIMITER} line sets), at a line holding only {@code GO} (SQL
 * Server) or {@code /} (Oracle), never inside a string, quoted identifier, dollar-quoted body or
 * comment, with each dialect's quoting and escapes. Comments are dropped from the statement text.
 */
final class SqlStatementSplitter {

  /** One statement, with the 1-based line it starts on. */
  record Statement(String text, int line, boolean tooLong) {}

  private final DumpCharSource in;
  private final SqlDumpReader.Dialect dialect;
  private final int maxChars;
  private boolean atLineStart = true;
  private String delimiter = ";";

  SqlStatementSplitter(Reader in, SqlDumpReader.Dialect dialect, int maxChars) {
    this.in = new DumpCharSource(in);
    this.dialect = dialect;
    this.maxChars = maxChars;
  }

  /** Marks "no character to put back". */
  private static final int NOTHING = -3;

  private int read() throws IOException {
    return in.read();
  }

  private int peek() throws IOException {
    return in.peek();
  }

  /** Reads the rest of the current line (without its line break); null at the end of input. */
  String readRawLine() throws IOException {
    StringBuilder sb = new StringBuilder();
    int c = read();
    if (c < 0) {
      return null;
    }
    while (c >= 0 && c != '\n') {
      if (c != '\r') {
        sb.append((char) c);
      }
      c = read();
    }
    atLineStart = true;
    return sb.toString();
  }

  int line() {
    return in.line();
  }

  void close() throws IOException {
    in.close();
  }

  /**
   * The next statement, or null at the end of input. A statement longer than {@code maxChars} is read to
   * its end but only its first 4096 characters are kept ({@link Statement#tooLong()}), however long it
   * is, even when it is one string literal.
   */
  Statement next() throws IOException {
    StringBuilder sb = new StringBuilder();
    int start = -1;
    boolean tooLong = false;
    // Tracked, not sb.toString().isBlank() at every line start: that copies the statement once per line.
    boolean hasText = false;
    while (true) {
      if (atLineStart) {
        atLineStart = false;
        String special = lineCommand(hasText);
        if (special != null) {
          if ((special.equals("end") || special.equals("restart")) && hasText) {
            return new Statement(sb.toString().strip(), start, tooLong);
          }
          continue;
        }
      }
      int c = read();
      if (c < 0) {
        String s = sb.toString().strip();
        return s.isEmpty() ? null : new Statement(s, start, tooLong);
      }
      char ch = (char) c;
      if (ch == '\n') {
        atLineStart = true;
      }
      if (start < 0 && !Character.isWhitespace(ch)) {
        start = in.line();
      }
      if (ch == delimiter.charAt(0) && matchesRest(delimiter)) {
        String s = sb.toString().strip();
        if (!s.isEmpty()) {
          return new Statement(s, start, tooLong);
        }
        start = -1;
        continue;
      }
      if (skipComment(ch)) {
        continue;
      }
      if (tooLong) {
        // Still look for the end of the statement, but stop keeping its text.
        skipQuoted(ch, null);
        continue;
      }
      sb.append(ch);
      hasText |= !Character.isWhitespace(ch);
      skipQuoted(ch, sb);
      if (sb.length() > maxChars) {
        tooLong = true;
        sb.setLength(Math.min(sb.length(), 4096));
      }
    }
  }

  /** Skips the comment {@code ch} opens, if it opens one (the comment is not part of the statement). */
  private boolean skipComment(char ch) throws IOException {
    if ((ch == '-' && peek() == '-') || (ch == '#' && dialect == SqlDumpReader.Dialect.MYSQL)) {
      skipToEndOfLine();
      return true;
    }
    if (ch == '/' && peek() == '*') {
      read();
      skipBlockComment();
      return true;
    }
    return false;
  }

  /** Handles a quote opened by {@code ch}, appending its content to {@code sb} (when not null). */
  private void skipQuoted(char ch, StringBuilder sb) throws IOException {
    switch (ch) {
      case '\'' -> {
        boolean backslash = dialect == SqlDumpReader.Dialect.MYSQL || isPostgresEscapeString(sb);
        if (dialect == SqlDumpReader.Dialect.ORACLE && isOracleQQuote(sb)) {
          copyOracleQQuote(sb);
        } else {
          copyUntil('\'', backslash, true, sb);
        }
      }
      case '"' -> copyUntil('"', dialect == SqlDumpReader.Dialect.MYSQL, true, sb);
      case '`' -> copyUntil('`', false, true, sb);
      case '[' -> {
        if (dialect == SqlDumpReader.Dialect.SQLSERVER || dialect == SqlDumpReader.Dialect.SQLITE) {
          copyUntil(']', false, true, sb);
        }
      }
      case '$' -> {
        if (dialect == SqlDumpReader.Dialect.POSTGRES) {
          copyDollarQuote(sb);
        }
      }
      default -> { }
    }
  }

  private static boolean isPostgresEscapeString(StringBuilder sb) {
    if (sb == null || sb.length() < 2) {
      return false;
    }
    char prefix = sb.charAt(sb.length() - 2);
    boolean standalone = sb.length() < 3 || !Character.isLetterOrDigit(sb.charAt(sb.length() - 3));
    return (prefix == 'E' || prefix == 'e') && standalone;
  }

  private boolean isOracleQQuote(StringBuilder sb) {
    if (sb == null || sb.length() < 2) {
      return false;
    }
    char prefix = sb.charAt(sb.length() - 2);
    boolean standalone = sb.length() < 3 || !Character.isLetterOrDigit(sb.charAt(sb.length() - 3));
    return (prefix == 'q' || prefix == 'Q') && standalone;
  }

  private void copyOracleQQuote(StringBuilder sb) throws IOException {
    int open = read();
    if (open < 0) {
      return;
    }
    append(sb, (char) open);
    char close = switch ((char) open) {
      case '[' -> ']';
      case '(' -> ')';
      case '{' -> '}';
      case '<' -> '>';
      default -> (char) open;
    };
    int c;
    while ((c = read()) >= 0) {
      append(sb, (char) c);
      if (c == close && peek() == '\'') {
        append(sb, (char) read());
        return;
      }
    }
  }

  private void copyUntil(char quote, boolean backslash, boolean doubled, StringBuilder sb) throws IOException {
    int c;
    while (true) {
      in.copyPlain(quote, backslash, sb, maxChars);
      if ((c = read()) < 0) {
        return;
      }
      append(sb, (char) c);
      if (backslash && c == '\\') {
        int n = read();
        if (n >= 0) {
          append(sb, (char) n);
        }
      } else if (c == quote) {
        if (doubled && peek() == quote) {
          append(sb, (char) read());
        } else {
          return;
        }
      }
    }
  }

  private void copyDollarQuote(StringBuilder sb) throws IOException {
    // $tag$ ... $tag$ where tag is empty or an identifier; a lone $ (e.g. $1) is not a quote.
    StringBuilder tag = new StringBuilder("$");
    int c;
    while ((c = read()) >= 0 && (Character.isLetterOrDigit(c) || c == '_')) {
      tag.append((char) c);
    }
    if (c != '$' || (tag.length() > 1 && Character.isDigit(tag.charAt(1)))) {
      in.unread(tag.subSequence(1, tag.length()), c);
      return;
    }
    tag.append('$');
    append(sb, tag.substring(1));
    String end = tag.toString();
    StringBuilder window = new StringBuilder();
    while ((c = read()) >= 0) {
      append(sb, (char) c);
      window.append((char) c);
      if (window.length() > end.length()) {
        window.deleteCharAt(0);
      }
      if (window.toString().equals(end)) {
        return;
      }
    }
  }

  /** Keeps {@code c} unless the statement is already past the limit (inside a long string, for instance). */
  private void append(StringBuilder sb, char c) {
    if (sb != null && sb.length() <= maxChars) {
      sb.append(c);
    }
  }

  private void append(StringBuilder sb, String s) {
    if (sb != null && sb.length() <= maxChars) {
      sb.append(s);
    }
  }

  private boolean matchesRest(String delim) throws IOException {
    if (delim.length() == 1) {
      return true;
    }
    StringBuilder got = new StringBuilder();
    for (int i = 1; i < delim.length(); i++) {
      int c = read();
      if (c < 0 || c != delim.charAt(i)) {
        in.unread(got, c);
        return false;
      }
      got.append((char) c);
    }
    return true;
  }

  private void skipToEndOfLine() throws IOException {
    int c;
    while ((c = read()) >= 0 && c != '\n') {
      // skip
    }
    if (c == '\n') {
      atLineStart = true;
    }
  }

  private void skipBlockComment() throws IOException {
    int depth = 1;
    int c;
    while ((c = read()) >= 0) {
      if (c == '*' && peek() == '/') {
        read();
        if (--depth == 0) {
          return;
        }
      } else if (c == '/' && peek() == '*' && dialect == SqlDumpReader.Dialect.POSTGRES) {
        read();
        depth++;
      }
    }
  }

  /**
   * Looks at a line start for a line-level command: {@code GO}/{@code /} end a statement
   * ("end"), {@code DELIMITER x} changes the delimiter ("delimiter"); otherwise puts the line back.
   */
  private static final java.util.regex.Pattern TSQL_STATEMENT_START = java.util.regex.Pattern.compile(
      "(?i)^(INSERT|SET|CREATE|ALTER|DROP|USE|PRINT|DECLARE|EXEC|EXECUTE|DELETE|UPDATE|GRANT|TRUNCATE|IF|BEGIN)\\b.*");

  private String lineCommand(boolean inStatement) throws IOException {
    StringBuilder lineText = new StringBuilder();
    int c;
    while ((c = read()) >= 0 && c != '\n') {
      lineText.append((char) c);
      if (lineText.length() > 200) {
        c = NOTHING;
        break;
      }
    }
    String t = lineText.toString().strip();
    String upper = t.toUpperCase(Locale.ROOT);
    boolean go = dialect == SqlDumpReader.Dialect.SQLSERVER && (upper.equals("GO") || upper.matches("GO\\s+\\d+"));
    boolean slash = dialect == SqlDumpReader.Dialect.ORACLE && t.equals("/");
    if ((go || slash) && c != NOTHING) {
      if (c == '\n') {
        atLineStart = true;
      }
      return "end";
    }
    if (dialect == SqlDumpReader.Dialect.ORACLE && (upper.equals("REM") || upper.startsWith("REM ")
        || upper.startsWith("REMARK ") || upper.startsWith("PROMPT ") || upper.equals("PROMPT"))) {
      // SQL*Plus commands, not SQL.
      if (c == '\n') {
        atLineStart = true;
      }
      return "skip";
    }
    if (dialect == SqlDumpReader.Dialect.SQLSERVER && inStatement && TSQL_STATEMENT_START.matcher(t).matches()) {
      // T-SQL needs no semicolons: a statement keyword at the start of a line starts a new statement.
      in.unread(lineText, c);
      atLineStart = false;
      return "restart";
    }
    if (dialect == SqlDumpReader.Dialect.MYSQL && upper.startsWith("DELIMITER ") && c != NOTHING) {
      delimiter = t.substring("DELIMITER ".length()).strip();
      if (c == '\n') {
        atLineStart = true;
      }
      return "delimiter";
    }
    in.unread(lineText, c);
    return null;
  }
}
