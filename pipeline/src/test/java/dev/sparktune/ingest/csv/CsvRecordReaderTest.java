package dev.sparktune.ingest.csv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.ingest.ReadResult;
import dev.sparktune.ingest.TextInput;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CsvRecordReaderTest {

  private static List<ReadResult> read(String csv, char delimiter, Character escape, Character comment, int max)
      throws IOException {
    List<ReadResult> out = new ArrayList<>();
    try (CsvRecordReader r = new CsvRecordReader(new StringReader(csv), delimiter, '"', escape, comment, true,
        null, max)) {
      r.forEachRemaining(out::add);
    }
    return out;
  }

  private static List<ReadResult> read(String csv) throws IOException {
    return read(csv, ',', null, null, 1_000_000);
  }

  private static ReadResult.Fields fields(ReadResult r) {
    return assertInstanceOf(ReadResult.Fields.class, r, () -> "expected fields, got " + r);
  }

  private static ReadResult.Reject reject(ReadResult r) {
    return assertInstanceOf(ReadResult.Reject.class, r, () -> "expected a reject, got " + r);
  }

  @Test
  void quotedNewlinesDoubledQuotesAndLineNumbers() throws IOException {
    String csv = "q,a\n"
        + "\"multi\nline\",\"say \"\"hi\"\"\"\r\n"
        + "\n"
        + "plain,\"x, y\"\n";
    List<ReadResult> rs = read(csv);
    assertEquals(2, rs.size());
    ReadResult.Fields first = fields(rs.get(0));
    assertEquals("line:2", first.locator());
    assertEquals("multi\nline", first.columns().get("q"));
    assertEquals("say \"hi\"", first.columns().get("a"));
    ReadResult.Fields second = fields(rs.get(1));
    assertEquals("line:5", second.locator(), "the quoted newline and the blank line count as lines");
    assertEquals("x, y", second.columns().get("a"));
  }

  @Test
  void byteOrderMarkIsRemovedFromTheFirstColumnName() throws IOException {
    byte[] bytes = "\uFEFFquestion,answer\nq1,a1\n".getBytes(StandardCharsets.UTF_8);
    List<ReadResult> rs = new ArrayList<>();
    try (CsvRecordReader r = new CsvRecordReader(
        TextInput.decode(new ByteArrayInputStream(bytes), StandardCharsets.ISO_8859_1), ',', '"', null, null, true,
        null, 1000)) {
      r.forEachRemaining(rs::add);
    }
    assertEquals(List.of("question", "answer"), List.copyOf(fields(rs.get(0)).columns().keySet()));
  }

  @Test
  void malformedRowIsRejectedAndTheRestLoads() throws IOException {
    String csv = "q,a\n"
        + "ok1,fine\n"
        + "bad,\"quoted\" then text\n"
        + "ok2,\"also\nfine\"\n"
        + "too,many,fields\n"
        + "ok3,last\n";
    List<ReadResult> rs = read(csv);
    assertEquals(5, rs.size());
    assertEquals("ok1", fields(rs.get(0)).columns().get("q"));
    ReadResult.Reject malformed = reject(rs.get(1));
    assertEquals("line:3", malformed.locator());
    assertEquals("csv_malformed", malformed.reason());
    assertEquals("Invalid character between encapsulated token and delimiter", malformed.detail());
    assertEquals("bad,\"quoted\" then text", malformed.raw());
    assertEquals("also\nfine", fields(rs.get(2)).columns().get("a"));
    ReadResult.Reject count = reject(rs.get(3));
    assertEquals("line:6", count.locator());
    assertEquals("csv_field_count", count.reason());
    assertEquals("expected 2 fields, found 3", count.detail());
    assertEquals("line:7", fields(rs.get(4)).locator());
  }

  @Test
  void unterminatedQuoteRejectsItsLineAndResumesOnTheNext() throws IOException {
    String csv = "q,a\n"
        + "ok1,fine\n"
        + "bad,\"never closed\n"
        + "ok2,after\n"
        + "ok3,end\n";
    List<ReadResult> rs = read(csv);
    assertEquals(4, rs.size());
    ReadResult.Reject bad = reject(rs.get(1));
    assertEquals("csv_unterminated_quote", bad.reason());
    assertEquals("line:3", bad.locator());
    assertEquals("bad,\"never closed", bad.raw());
    assertEquals("line:4", fields(rs.get(2)).locator());
    assertEquals("after", fields(rs.get(2)).columns().get("a"));
    assertEquals("line:5", fields(rs.get(3)).locator());
  }

  @Test
  void quoteOpenPastTheLimitIsTooLong() throws IOException {
    String csv = "q,a\nbad,\"opens " + "x".repeat(50) + "\nok,after \"quote\" inside\n";
    List<ReadResult> rs = read(csv, ',', null, null, 30);
    assertEquals("csv_record_too_long", reject(rs.get(0)).reason());
    assertEquals("record on line 2 is longer than max_record_chars (30): a quoted field is still open after 30 "
        + "characters (its closing quote is missing, or it is longer than the limit); resumed reading at line 3",
        reject(rs.get(0)).detail());
    assertEquals("after \"quote\" inside", fields(rs.get(1)).columns().get("a"),
        "a quote inside an unquoted field is literal, as in Commons CSV");
  }

  @Test
  void unquotedRecordPastTheLimitIsTooLongAndItsLineSkipped() throws IOException {
    String csv = "q,a\nok1,fine\nbad," + "x".repeat(50) + "\nok2,after\n";
    List<ReadResult> rs = read(csv, ',', null, null, 30);
    assertEquals(3, rs.size());
    ReadResult.Reject bad = reject(rs.get(1));
    assertEquals("csv_record_too_long", bad.reason());
    assertEquals("line:3", bad.locator());
    assertEquals("record on line 3 is longer than max_record_chars (30); resumed reading at line 4", bad.detail());
    assertEquals("bad," + "x".repeat(27), bad.raw(), "only the first max_record_chars + 1 characters are kept");
    assertEquals("after", fields(rs.get(2)).columns().get("a"));
    assertEquals("line:4", rs.get(2).locator());
  }

  @Test
  void escapeCommentAndOtherDelimiters() throws IOException {
    String csv = "# exported 2026-01-01\nq;a\nx\\;y;\"in \\\"quotes\\\"\"\n# trailing comment\n";
    List<ReadResult> rs = read(csv, ';', '\\', '#', 1000);
    assertEquals(1, rs.size());
    assertEquals("x;y", fields(rs.get(0)).columns().get("q"));
    assertEquals("in \"quotes\"", fields(rs.get(0)).columns().get("a"));
    assertEquals("line:3", rs.get(0).locator());
  }

  @Test
  void badHeaderRejectsTheFileOnce() throws IOException {
    List<ReadResult> rs = read("q,q\n1,2\n3,4\n");
    assertEquals(1, rs.size());
    assertEquals("csv_bad_header", reject(rs.get(0)).reason());
    assertTrue(reject(rs.get(0)).detail().contains("column 'q' twice"));
  }

  @Test
  void noHeaderUsesConfiguredColumns() throws IOException {
    List<ReadResult> rs = new ArrayList<>();
    try (CsvRecordReader r = new CsvRecordReader(new StringReader("a,b\nc,d"), ',', '"', null, null, false,
        List.of("x", "y"), 1000)) {
      r.forEachRemaining(rs::add);
    }
    assertEquals(2, rs.size());
    assertEquals("a", fields(rs.get(0)).columns().get("x"));
    assertEquals("d", fields(rs.get(1)).columns().get("y"));
    assertEquals("line:2", rs.get(1).locator());
  }
}
