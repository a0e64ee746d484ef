package dev.sparktune.ingest;

import dev.sparktune.core.ChatMessage;
import java.util.List;
import java.util.Map;

/** What a source reader yields for each unit of input it reads: its fields, or why it is unreadable. */
public sealed interface ReadResult {

  /** Where in the file the unit is, e.g. {@code line:12} or {@code index:3/turn:2}. */
  String locator();

  /**
   * A readable unit as named columns.
   *
   * @param columns the unit's values by column name (null values allowed)
   * @param meta values the reader itself adds to the record's {@code meta} (e.g. a conversation id)
   * @param closedSchema true when every record of the file has the same columns (CSV), so a mapped
   *     column that is absent is an error rather than a missing value (JSON)
   * @param messages a conversation's messages (null for any other unit)
   */
  record Fields(String locator, Map<String, String> columns, Map<String, String> meta, boolean closedSchema,
      List<ChatMessage> messages) implements ReadResult {

    public Fields(String locator, Map<String, String> columns, Map<String, String> meta, boolean closedSchema) {
      this(locator, columns, meta, closedSchema, null);
    }
  }

  /**
   * An unreadable unit.
   *
   * @param reason a short code counted in the manifest, e.g. {@code csv_malformed}
   * @param detail what exactly is wrong
   * @param raw the unit's text as found (truncated later)
   */
  record Reject(String locator, String reason, String detail, String raw) implements ReadResult {}
}
