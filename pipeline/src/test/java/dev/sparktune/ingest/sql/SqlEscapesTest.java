package dev.sparktune.ingest.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The one backslash-escape decoder, in both of its styles: where they agree and where they differ. */
class SqlEscapesTest {
  private static String literal(String raw) {
    return SqlEscapes.unescape(raw, SqlEscapes.Style.LITERAL);
  }

  @Test
  void commonEscapesDecodeTheSameInBothStyles() {
    String raw = "a\\nb\\rc\\td\\be\\ff\\\\g\\\"h";
    String expected = "a\nb\rc\td\be\ff\\g\"h";
    assertEquals(expected, literal(raw));
    assertEquals(expected, SqlDumpReader.copyField(raw));
  }

  @Test
  void literalStyleHasMysqlRules() {
    assertEquals("it's", literal("it''s"));
    assertEquals("it's", literal("it\\'s"));
    assertEquals("\0" + "12", literal("\\012"));
    assertEquals("\u001A", literal("\\Z"));
    assertEquals("50\\% \\_", literal("50\\% \\_"));
    assertEquals("v x41", literal("\\v \\x41"));
    assertEquals("end\\", literal("end\\"));
  }

  @Test
  void copyStyleHasPostgresCopyRules() {
    assertNull(SqlDumpReader.copyField("\\N"));
    assertEquals("it''s", SqlDumpReader.copyField("it''s"));
    assertEquals("\n", SqlDumpReader.copyField("\\012"));
    assertEquals("\0" + "9", SqlDumpReader.copyField("\\09"));
    assertEquals("A" + "B", SqlDumpReader.copyField("\\x41\\x42"));
    assertEquals("xg", SqlDumpReader.copyField("\\xg"));
    assertEquals("\u000B Z % _", SqlDumpReader.copyField("\\v \\Z \\% \\_"));
    assertEquals("end\\", SqlDumpReader.copyField("end\\"));
  }
}
