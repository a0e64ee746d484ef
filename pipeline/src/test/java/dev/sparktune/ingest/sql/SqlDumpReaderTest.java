package dev.sparktune.ingest.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.ingest.ReadResult;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Real dump files in each dialect's style; nothing is executed. */
class SqlDumpReaderTest {
  private static final Path DIR = Path.of("src/test/resources/ingest/sql");

  private static List<ReadResult> read(String file, SqlDumpReader.Dialect expected) throws IOException {
    String text = Files.readString(DIR.resolve(file), StandardCharsets.UTF_8);
    List<ReadResult> out = new ArrayList<>();
    try (SqlDumpReader r = new SqlDumpReader(new StringReader(text), "faq", SqlDumpReader.Dialect.AUTO, null, 1 << 20)) {
      assertEquals(expected, r.dialect(), "dialect detected for " + file);
      r.forEachRemaining(out::add);
    }
    return out;
  }

  private static Map<String, String> row(List<ReadResult> rs, String id) {
    for (ReadResult r : rs) {
      if (r instanceof ReadResult.Fields f && (id.equals(f.columns().get("id")) || id.equals(f.columns().get("ID")))) {
        return f.columns();
      }
    }
    throw new AssertionError("no row with id " + id + " in " + rs);
  }

  private static List<ReadResult.Reject> rejects(List<ReadResult> rs) {
    return rs.stream().filter(r -> r instanceof ReadResult.Reject).map(r -> (ReadResult.Reject) r).toList();
  }

  private static long records(List<ReadResult> rs) {
    return rs.stream().filter(r -> r instanceof ReadResult.Fields).count();
  }

  @Test
  void mysqlDump() throws IOException {
    List<ReadResult> rs = read("mysql.sql", SqlDumpReader.Dialect.MYSQL);
    assertEquals(5, records(rs), "rows 1-4 and 6; the users table is skipped");
    assertEquals("Open Settings > Account and choose \"Reset password\"; the link is valid for 30 minutes.",
        row(rs, "1").get("answer"));
    assertEquals("Yes.\nGo to Settings > Export, pick CSV or JSON, and we e-mail you a link.", row(rs, "2").get("answer"));
    assertEquals("What's the refund policy?", row(rs, "3").get("question"));
    assertEquals("Annual plans: 14 days. It's pro-rated after that; see \\\\billing\\\\refunds.", row(rs, "3").get("answer"));
    assertNull(row(rs, "3").get("category"));
    assertTrue(row(rs, "4").get("answer").contains("# and -- inside strings"));
    assertEquals("Settings > Developers.", row(rs, "6").get("answer"), "column list in another order");
    List<ReadResult.Reject> bad = rejects(rs);
    assertEquals(1, bad.size());
    assertEquals("sql_parse_error", bad.get(0).reason());
    assertTrue(bad.get(0).locator().startsWith("statement:"), bad.get(0).locator());
    assertTrue(bad.get(0).detail().contains("line 32"), bad.get(0).detail());
    assertEquals("statement:" + statementOf(rs, "1") + "/row:0", locatorOf(rs, "1"));
    assertEquals(locatorOf(rs, "1").replace("row:0", "row:2"), locatorOf(rs, "3"), "multi-row INSERT");
  }

  private static String locatorOf(List<ReadResult> rs, String id) {
    for (ReadResult r : rs) {
      if (r instanceof ReadResult.Fields f && id.equals(f.columns().get("id"))) {
        return f.locator();
      }
    }
    throw new AssertionError(id);
  }

  private static String statementOf(List<ReadResult> rs, String id) {
    String loc = locatorOf(rs, id);
    return loc.substring("statement:".length(), loc.indexOf('/'));
  }

  @Test
  void postgresDumpWithDollarQuotesAndCopy() throws IOException {
    List<ReadResult> rs = read("postgres.sql", SqlDumpReader.Dialect.POSTGRES);
    assertEquals(5, records(rs), "rows 1-3 from INSERTs, 5-6 from COPY; the function body is not split");
    assertEquals("Open Settings > Account and choose \"Reset password\".", row(rs, "1").get("answer"));
    assertEquals("Yes.\nGo to Settings > Export; it's a CSV or JSON file.", row(rs, "2").get("answer"));
    assertEquals("Yes: View > Theme > Dark. It's 'dark', not \"night\".", row(rs, "3").get("answer"));
    assertNull(row(rs, "3").get("category"));
    assertEquals("Settings > Team > Invite.\nThey get an e-mail.", row(rs, "5").get("answer"));
    assertEquals("What does \\N mean?", row(rs, "6").get("question"));
    assertNull(row(rs, "6").get("answer"));
    assertEquals(List.of("sql_parse_error"), rejects(rs).stream().map(ReadResult.Reject::reason).toList());
  }

  @Test
  void sqlServerScriptWithoutSemicolons() throws IOException {
    List<ReadResult> rs = read("sqlserver.sql", SqlDumpReader.Dialect.SQLSERVER);
    assertEquals(3, records(rs));
    assertEquals("What's new in 4.0?", row(rs, "2").get("question"));
    assertEquals("Teams, SSO and [beta] reports; see the release notes.", row(rs, "2").get("answer"));
    assertEquals("2026-01-05T10:00:00.000", row(rs, "3").get("answer"), "CAST(N'...' AS DateTime)");
    assertEquals(List.of("sql_parse_error"), rejects(rs).stream().map(ReadResult.Reject::reason).toList());
  }

  @Test
  void sqliteDump() throws IOException {
    List<ReadResult> rs = read("sqlite.sql", SqlDumpReader.Dialect.SQLITE);
    assertEquals(3, records(rs));
    assertEquals("Yes.\nGo to Settings > Export.", row(rs, "2").get("answer"), "replace(..., char(10))");
    assertEquals("Hello", row(rs, "3").get("answer"), "X'48656C6C6F'");
    assertEquals(0, rejects(rs).size());
  }

  @Test
  void oracleExport() throws IOException {
    List<ReadResult> rs = read("oracle.sql", SqlDumpReader.Dialect.ORACLE);
    assertEquals(3, records(rs), "schema-qualified HELPDESK.FAQ matches table faq");
    assertEquals("What's the refund policy?", row(rs, "2").get("QUESTION"), "unquoted Oracle names are upper case");
    assertEquals("Annual plans: 14 days; it's pro-rated after that.", row(rs, "2").get("ANSWER"));
    assertEquals("05-JAN-26", row(rs, "3").get("ANSWER"));
    assertEquals(0, rejects(rs).size());
  }

  @Test
  void insertWithoutColumnsAndNoCreateTableIsRejectedPerRow() throws IOException {
    List<ReadResult> out = new ArrayList<>();
    try (SqlDumpReader r = new SqlDumpReader(new StringReader("INSERT INTO faq VALUES (1,'a'),(2,'b');"), "faq",
        SqlDumpReader.Dialect.ANSI, null, 1000)) {
      r.forEachRemaining(out::add);
    }
    assertEquals(2, out.size());
    assertEquals("sql_unknown_columns", assertInstanceOf(ReadResult.Reject.class, out.get(0)).reason());
    List<ReadResult> named = new ArrayList<>();
    try (SqlDumpReader r = new SqlDumpReader(new StringReader("INSERT INTO faq VALUES (1,'a'),(2,'b','extra');"),
        "faq", SqlDumpReader.Dialect.ANSI, List.of("id", "question"), 1000)) {
      r.forEachRemaining(named::add);
    }
    assertEquals("a", assertInstanceOf(ReadResult.Fields.class, named.get(0)).columns().get("question"));
    assertEquals("sql_value_count", assertInstanceOf(ReadResult.Reject.class, named.get(1)).reason());
  }

  @Test
  void aStringLiteralLongerThanTheLimitIsNotKeptAndTheDumpGoesOn() throws IOException {
    // The literal alone is over the limit, with doubled quotes and ';' in it: read to its end, not kept.
    String dump = "INSERT INTO faq (id, answer) VALUES (1, 'a');\n"
        + "INSERT INTO faq (id, answer) VALUES (2, '" + "it''s long; ".repeat(500) + "');\n"
        + "INSERT INTO faq (id, answer) VALUES (3, 'c');\n";
    List<ReadResult> out = new ArrayList<>();
    for (SqlDumpReader.Dialect d : List.of(SqlDumpReader.Dialect.ANSI, SqlDumpReader.Dialect.MYSQL)) {
      out.clear();
      try (SqlDumpReader r = new SqlDumpReader(new StringReader(dump), "faq", d, null, 1000)) {
        r.forEachRemaining(out::add);
      }
      assertEquals(3, out.size(), d + ": " + out);
      assertEquals("a", assertInstanceOf(ReadResult.Fields.class, out.get(0)).columns().get("answer"));
      ReadResult.Reject tooLong = assertInstanceOf(ReadResult.Reject.class, out.get(1));
      assertEquals("sql_statement_too_long", tooLong.reason());
      assertEquals("statement:2", tooLong.locator());
      assertEquals("statement at line 2 is longer than max_statement_chars (1000); skipped", tooLong.detail());
      assertEquals("c", assertInstanceOf(ReadResult.Fields.class, out.get(2)).columns().get("answer"),
          d + ": the quote and the ';' inside the long literal did not end it early");
    }
  }
}
