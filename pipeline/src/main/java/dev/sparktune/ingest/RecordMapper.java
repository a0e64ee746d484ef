package dev.sparktune.ingest;

import dev.sparktune.config.FieldTemplate;
import dev.sparktune.config.SourceConfig;
import dev.sparktune.core.ChatMessage;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps a reader's columns to the canonical fields of one source ({@code fields} and {@code meta} of
 * its config), or explains why the unit cannot become a record.
 */
public final class RecordMapper implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * A canonical record's content. Empty strings are stored as null. A conversation has only
   * {@code messages}; any other record has none.
   */
  public record Mapped(String instruction, String input, String output, String text, Map<String, String> meta,
      List<ChatMessage> messages) {}

  private final Map<String, FieldTemplate> fields = new LinkedHashMap<>();
  private final List<String> metaColumns;
  private final String systemPrompt;

  public RecordMapper(Map<String, String> fieldSpecs, List<String> metaColumns) {
    this(fieldSpecs, metaColumns, null);
  }

  /** @param systemPrompt the source's default system prompt (null: none) */
  public RecordMapper(Map<String, String> fieldSpecs, List<String> metaColumns, String systemPrompt) {
    fieldSpecs.forEach((k, v) -> fields.put(k, FieldTemplate.parse(v)));
    this.metaColumns = List.copyOf(metaColumns);
    this.systemPrompt = systemPrompt == null || systemPrompt.isEmpty() ? null : systemPrompt;
  }

  /** Returns a {@link Mapped} record or a {@link ReadResult.Reject}. */
  public Object map(ReadResult.Fields unit) {
    if (unit.messages() != null) {
      return conversation(unit);
    }
    Map<String, String> columns = unit.columns();
    if (unit.closedSchema()) {
      List<String> missing = new ArrayList<>();
      for (FieldTemplate t : fields.values()) {
        for (String c : t.columns()) {
          if (!columns.containsKey(c) && !missing.contains(c)) {
            missing.add(c);
          }
        }
      }
      for (String c : metaColumns) {
        if (!columns.containsKey(c) && !missing.contains(c)) {
          missing.add(c);
        }
      }
      if (!missing.isEmpty()) {
        return new ReadResult.Reject(unit.locator(), "missing_column", "config maps column(s) "
            + String.join(", ", missing) + " but the record has only " + String.join(", ", columns.keySet()),
            columns.toString());
      }
    }
    String[] values = new String[SourceConfig.CANONICAL_FIELDS.size()];
    boolean any = false;
    for (int i = 0; i < values.length; i++) {
      FieldTemplate t = fields.get(SourceConfig.CANONICAL_FIELDS.get(i));
      String v = t == null ? null : t.render(columns::get);
      values[i] = v == null || v.isEmpty() ? null : v;
      any |= values[i] != null && !values[i].isBlank();
    }
    if (!any) {
      return new ReadResult.Reject(unit.locator(), "empty_record",
          "no instruction, input, output or text after field mapping (fields: " + fields.keySet() + ")",
          columns.toString());
    }
    Map<String, String> meta = new LinkedHashMap<>(unit.meta());
    for (String c : metaColumns) {
      String v = columns.get(c);
      if (v != null) {
        meta.put(c, v);
      }
    }
    FieldTemplate system = fields.get(SourceConfig.SYSTEM_FIELD);
    String own = system == null ? null : system.render(columns::get);
    if (own != null && !own.isBlank()) {
      meta.put(SourceConfig.SYSTEM_FIELD, own);
    } else if (systemPrompt != null) {
      meta.put(SourceConfig.SYSTEM_FIELD, systemPrompt);
    }
    return new Mapped(values[0], values[1], values[2], values[3], meta, null);
  }

  /** A conversation keeps its messages; the source's system prompt goes first when it has none. */
  private Mapped conversation(ReadResult.Fields unit) {
    List<ChatMessage> messages = new ArrayList<>(unit.messages());
    if (systemPrompt != null && (messages.isEmpty() || !"system".equals(messages.get(0).role()))) {
      messages.add(0, new ChatMessage("system", systemPrompt));
    }
    Map<String, String> meta = new LinkedHashMap<>(unit.meta());
    for (String c : metaColumns) {
      String v = unit.columns().get(c);
      if (v != null) {
        meta.put(c, v);
      }
    }
    return new Mapped(null, null, null, null, meta, List.copyOf(messages));
  }
}
