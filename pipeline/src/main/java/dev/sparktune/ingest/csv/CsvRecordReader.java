package dev.sparktune.ingest.csv;

import dev.sparktune.ingest.ReadResult;
import dev.sparktune.ingest.RecordReader;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * Streams a CSV file record by record with Commons CSV, so that one malformed record becomes a
 * reject with its line number while the rest of the file still loads.
 *
 * <p>Commons CSV cannot resume after a parse error, so this reader first cuts the character stream
 * into records itself (a newline ends a record unless it is inside a quoted field, with the same
 * quoting rules as Commons CSV), then lets Commons CSV parse each record. A quote left open until
 * the end of the file rejects the record's first line and reading resumes on the line after it. No
 * record is kept longer than {@code maxRecordChars}: a longer one is rejected and reading resumes on
 * the line after its first (when a quoted field is still open at the limit: its closing quote may be
 * missing) or after the line where the limit struck (otherwise).
 */
public final class CsvRecordReader implements RecordReader {
  private final Reader in;
  private final char delimiter;
  private final Character quote;
  private final Character escape;
  private final Character comment;
  private final boolean header;
  private final int maxRecordChars;
  private final CSVFormat format;

  private List<String> columns;
  private final StringBuilder pending = new StringBuilder();
  private int pendingPos;
  private int line = 1;
  private boolean eof;
  private ReadResult next;
  private boolean headerDone;
  private boolean fatal;

  /** How the cutting of a raw record ended. */
  private enum End { COMPLETE, EOF_IN_QUOTES, LIMIT_IN_QUOTES, LIMIT }

  /** A raw record cut from the stream; past the limit, only its first {@code maxRecordChars} characters. */
  private record Segment(String text, int startLine, End end) {}

  /**
   * @param in the decoded text (closed by {@link #close()})
   * @param columns column names when the file has no header; with a header, they replace its names
   */
  public CsvRecordReader(Reader in, char delimiter, Character quote, Character escape, Character comment,
      boolean header, List<String> columns, int maxRecordChars) {
    this.in = in;
    this.delimiter = delimiter;
    this.quote = quote;
    this.escape = escape;
    this.comment = comment;
    this.header = header;
    this.columns = columns == null ? null : List.copyOf(columns);
    this.maxRecordChars = maxRecordChars;
    this.format = CSVFormat.RFC4180.builder()
        .setDelimiter(delimiter)
        .setQuote(quote)
        .setEscape(escape)
        .setIgnoreEmptyLines(false)
        .setRecordSeparator("\n")
        .get();
  }

  @Override
  public boolean hasNext() {
    if (next == null && !fatal) {
      next = advance();
    }
    return next != null;
  }

  @Override
  public ReadResult next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    ReadResult r = next;
    next = null;
    return r;
  }

  private ReadResult advance() {
    while (true) {
      Segment seg = nextSegment();
      if (seg == null) {
        return null;
      }
      String locator = "line:" + seg.startLine();
      if (seg.end() == End.LIMIT) {
        // Outside quotes: the record ends at the end of this line, which is read but not kept.
        skipLineUnchecked();
        return new ReadResult.Reject(locator, "csv_record_too_long", "record on line " + seg.startLine()
            + " is longer than max_record_chars (" + maxRecordChars + "); resumed reading at line " + line,
            seg.text());
      }
      if (seg.end() != End.COMPLETE) {
        return openQuoteReject(seg, locator);
      }
      List<String> values;
      try {
        values = parse(seg.text());
      } catch (IOException | UncheckedIOException | IllegalStateException e) {
        return new ReadResult.Reject(locator, "csv_malformed", cleanMessage(e), seg.text());
      }
      if (header && !headerDone) {
        headerDone = true;
        String problem = checkHeader(values);
        if (problem != null) {
          fatal = true;
          return new ReadResult.Reject(locator, "csv_bad_header", problem + "; the file was not read", seg.text());
        }
        if (columns == null) {
          columns = values;
        } else if (columns.size() != values.size()) {
          fatal = true;
          return new ReadResult.Reject(locator, "csv_bad_header", "config names " + columns.size()
              + " columns but the header has " + values.size() + "; the file was not read", seg.text());
        }
        continue;
      }
      if (values.size() != columns.size()) {
        return new ReadResult.Reject(locator, "csv_field_count",
            "expected " + columns.size() + " fields, found " + values.size(), seg.text());
      }
      Map<String, String> map = new LinkedHashMap<>();
      for (int i = 0; i < values.size(); i++) {
        map.put(columns.get(i), values.get(i));
      }
      return new ReadResult.Fields(locator, map, Map.of(), true);
    }
  }

  /** The reject of a record whose quoted field is still open at the end of input or past the limit. */
  private ReadResult openQuoteReject(Segment seg, String locator) {
    int nl = seg.text().indexOf('\n');
    String firstLine = nl < 0 ? seg.text() : seg.text().substring(0, nl);
    if (nl >= 0) {
      // Resume on the line after the one where the quote was opened.
      pushBack(seg.text().substring(nl + 1), seg.startLine() + 1);
    } else if (!eof) {
      // The limit struck inside the first line: the rest of that line belongs to this reject.
      skipLineUnchecked();
    }
    String resumed = nl >= 0 || !eof ? "; resumed reading at line " + (seg.startLine() + 1) : "";
    if (seg.end() == End.LIMIT_IN_QUOTES) {
      return new ReadResult.Reject(locator, "csv_record_too_long", "record on line " + seg.startLine()
          + " is longer than max_record_chars (" + maxRecordChars + "): a quoted field is still open after "
          + maxRecordChars + " characters (its closing quote is missing, or it is longer than the limit)"
          + resumed, firstLine);
    }
    return new ReadResult.Reject(locator, "csv_unterminated_quote",
        "quoted field opened on line " + seg.startLine() + " is never closed" + resumed, firstLine);
  }

  private static String checkHeader(List<String> names) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < names.size(); i++) {
      String n = names.get(i);
      if (n.isBlank()) {
        return "header column " + (i + 1) + " has no name";
      }
      if (!seen.add(n)) {
        return "header names column '" + n + "' twice";
      }
    }
    return null;
  }

  private List<String> parse(String text) throws IOException {
    try (CSVParser parser = CSVParser.parse(text, format)) {
      List<CSVRecord> records = parser.getRecords();
      if (records.size() != 1) {
        throw new IllegalStateException("expected one record, found " + records.size());
      }
      List<String> values = new ArrayList<>(records.get(0).size());
      records.get(0).forEach(values::add);
      return values;
    }
  }

  private static String cleanMessage(Exception e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    // Commons CSV positions refer to the single-record parser; the locator has the file line.
    return m.replaceAll("\\s*\\(line \\d+\\)\\s*", " ").replaceAll(" at line: \\d+, position: \\d+", "")
        .replaceAll("^([\\w.]+(Exception|Error): )+", "").replace("IOException reading next record: ", "").trim();
  }

  // ---------------------------------------------------------------- cutting records

  private int read() throws IOException {
    if (pendingPos < pending.length()) {
      return pending.charAt(pendingPos++);
    }
    if (pendingPos > 0) {
      pending.setLength(0);
      pendingPos = 0;
    }
    return eof ? -1 : in.read();
  }

  private int peek() throws IOException {
    int c = read();
    if (c >= 0) {
      unread((char) c);
    }
    return c;
  }

  private void unread(char c) {
    if (pendingPos > 0) {
      pendingPos--;
      pending.setCharAt(pendingPos, c);
    } else {
      pending.insert(0, c);
    }
  }

  private void pushBack(String text, int startLine) {
    pending.replace(0, pendingPos, "");
    pendingPos = 0;
    pending.insert(0, text);
    line = startLine;
  }

  /** Cuts the next record, skipping blank and comment lines; null at the end of input. */
  private Segment nextSegment() {
    try {
      Segment seg;
      do {
        seg = cut();
      } while (seg == BLANK);
      return seg;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What {@link #cut} returns for a blank line. */
  private static final Segment BLANK = new Segment("", 0, End.COMPLETE);

  /** Cuts one record (comment lines skipped), {@link #BLANK} for a blank line; null at the end of input. */
  private Segment cut() throws IOException {
    StringBuilder sb = new StringBuilder();
    int start = line;
    boolean inQuotes = false;
    boolean tokenStart = true;
    while (true) {
      int c = read();
      if (c < 0) {
        eof = true;
        if (inQuotes) {
          return new Segment(sb.toString(), start, End.EOF_IN_QUOTES);
        }
        return sb.length() == 0 ? null : new Segment(sb.toString(), start, End.COMPLETE);
      }
      char ch = (char) c;
      if (inQuotes) {
        if (!appendQuoted(ch, sb)) {
          inQuotes = false;
          tokenStart = false;
        }
        if (sb.length() > maxRecordChars) {
          return new Segment(sb.toString(), start, End.LIMIT_IN_QUOTES);
        }
        continue;
      }
      if (ch == '\n' || ch == '\r') {
        if (ch == '\r' && peek() == '\n') {
          read();
        }
        line++;
        break;
      }
      if (sb.length() == 0 && comment != null && ch == comment) {
        skipLine();
        sb.setLength(0);
        start = line;
        continue;
      }
      sb.append(ch);
      if (ch == delimiter) {
        tokenStart = true;
      } else if (quote != null && ch == quote && tokenStart) {
        inQuotes = true;
      } else {
        if (escape != null && ch == escape) {
          appendEscaped(sb);
        }
        tokenStart = false;
      }
      if (sb.length() > maxRecordChars) {
        return new Segment(sb.toString(), start, End.LIMIT);
      }
    }
    return sb.length() > 0 ? new Segment(sb.toString(), start, End.COMPLETE) : BLANK;
  }

  /**
   * Appends a character read inside a quoted field, with the character an escape or a doubled quote
   * takes along (line breaks as {@code \n}, counted); false when it is the closing quote.
   */
  private boolean appendQuoted(char ch, StringBuilder sb) throws IOException {
    if (escape != null && ch == escape && !escape.equals(quote)) {
      sb.append(ch);
      int n = read();
      if (n >= 0) {
        sb.append((char) n);
        if (n == '\n') {
          line++;
        }
      }
      return true;
    }
    if (ch == quote) {
      sb.append(ch);
      if (peek() == quote) {
        sb.append((char) read());
        return true;
      }
      return false;
    }
    if (ch == '\n') {
      line++;
    } else if (ch == '\r') {
      if (peek() == '\n') {
        read();
      }
      ch = '\n';
      line++;
    }
    sb.append(ch);
    return true;
  }

  /** After an escape outside quotes: appends the character it escapes, unless that ends the line. */
  private void appendEscaped(StringBuilder sb) throws IOException {
    int n = read();
    if (n >= 0 && n != '\n' && n != '\r') {
      sb.append((char) n);
    } else if (n >= 0) {
      unread((char) n);
    }
  }

  private void skipLineUnchecked() {
    try {
      skipLine();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void skipLine() throws IOException {
    int c;
    while ((c = read()) >= 0) {
      if (c == '\n') {
        break;
      }
      if (c == '\r') {
        if (peek() == '\n') {
          read();
        }
        break;
      }
    }
    line++;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
