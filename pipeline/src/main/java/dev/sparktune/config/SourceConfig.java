package dev.sparktune.config;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One input of the ingest stage.
 *
 * @param name unique name; becomes the {@code source} column
 * @param type the reader
 * @param path file, directory or glob on any Hadoop file system; relative paths are resolved against
 *     the directory the command runs in
 * @param fields canonical field ({@code instruction}, {@code input}, {@code output}, {@code text}) to a
 *     column name or a template with {@code {column}} placeholders; by default each canonical field
 *     takes the column of the same name when present
 * @param meta columns copied into the record's {@code meta} map
 * @param csv options of a {@code csv} source
 * @param json options of a {@code json} source
 */
public record SourceConfig(
    String name,
    SourceType type,
    String path,
    Map<String, String> fields,
    List<String> meta,
    CsvOptions csv,
    JsonOptions json) implements Serializable {

  /** The canonical fields a source can fill. */
  public static final List<String> CANONICAL_FIELDS = List.of("instruction", "input", "output", "text");

  /** Supported source readers. */
  public enum SourceType { CSV, JSON }

  public SourceConfig {
    name = InvalidValue.required(name, "name");
    if (!name.matches("[A-Za-z0-9_.-]+")) {
      throw new InvalidValue("name", "'" + name + "' may only contain letters, digits, '_', '.' and '-'");
    }
    type = InvalidValue.required(type, "type");
    path = InvalidValue.required(path, "path");
    if (fields == null) {
      Map<String, String> identity = new LinkedHashMap<>();
      CANONICAL_FIELDS.forEach(f -> identity.put(f, f));
      fields = identity;
    }
    for (Map.Entry<String, String> e : fields.entrySet()) {
      if (!CANONICAL_FIELDS.contains(e.getKey())) {
        throw new InvalidValue("fields", "unknown canonical field '" + e.getKey() + "'; expected one of "
            + String.join(", ", CANONICAL_FIELDS));
      }
      try {
        FieldTemplate.parse(e.getValue());
      } catch (IllegalArgumentException bad) {
        throw new InvalidValue("fields." + e.getKey(), bad.getMessage());
      }
    }
    fields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    meta = meta == null ? List.of() : List.copyOf(meta);
    if (csv != null && type != SourceType.CSV) {
      throw new InvalidValue("csv", "only a csv source takes csv options (this one is " + type.name().toLowerCase() + ")");
    }
    if (json != null && type != SourceType.JSON) {
      throw new InvalidValue("json", "only a json source takes json options (this one is " + type.name().toLowerCase() + ")");
    }
    if (type == SourceType.CSV && csv == null) {
      csv = new CsvOptions(null, null, null, null, null, null, null, null);
    }
    if (type == SourceType.JSON && json == null) {
      json = new JsonOptions(null, null);
    }
  }

  /** The column names this source's field mapping and meta list refer to. */
  public Set<String> referencedColumns() {
    Set<String> columns = new java.util.LinkedHashSet<>();
    fields.values().forEach(v -> columns.addAll(FieldTemplate.parse(v).columns()));
    columns.addAll(meta);
    return columns;
  }

  /**
   * Options of a CSV source.
   *
   * @param header whether the first record names the columns (default true)
   * @param columns column names when there is no header (required then); with a header, checked
   *     against it when given
   * @param delimiter one character; {@code \t} or {@code tab} for a tab (default {@code ,})
   * @param quote one character, or {@code none} (default {@code "})
   * @param escape one character, or {@code none} (default none: quotes are escaped by doubling)
   * @param encoding the charset when the file has no byte-order mark (default UTF-8)
   * @param comment lines starting with this character are skipped (default none)
   * @param maxRecordChars a quoted field still open after this many characters is an unterminated quote:
   *     the record is rejected and reading resumes on the next line (default 1,000,000)
   */
  public record CsvOptions(
      Boolean header,
      List<String> columns,
      String delimiter,
      String quote,
      String escape,
      String encoding,
      String comment,
      Integer maxRecordChars) implements Serializable {

    public CsvOptions {
      header = InvalidValue.orDefault(header, Boolean.TRUE);
      columns = columns == null ? null : List.copyOf(columns);
      if (!header && (columns == null || columns.isEmpty())) {
        throw new InvalidValue("columns", "is required when header is false");
      }
      delimiter = InvalidValue.orDefault(delimiter, ",");
      char d = character(delimiter, "delimiter", false);
      quote = InvalidValue.orDefault(quote, "\"");
      Character q = optionalCharacter(quote, "quote");
      escape = InvalidValue.orDefault(escape, "none");
      Character e = optionalCharacter(escape, "escape");
      comment = InvalidValue.orDefault(comment, "none");
      Character c = optionalCharacter(comment, "comment");
      if ((q != null && q == d) || (e != null && e == d) || (c != null && c == d)) {
        throw new InvalidValue("delimiter", "must differ from quote, escape and comment");
      }
      encoding = InvalidValue.orDefault(encoding, "UTF-8");
      if (!java.nio.charset.Charset.isSupported(encoding)) {
        throw new InvalidValue("encoding", "unknown charset '" + encoding + "'");
      }
      maxRecordChars = InvalidValue.orDefault(maxRecordChars, 1_000_000);
      if (maxRecordChars < 1) {
        throw new InvalidValue("max_record_chars", "must be positive");
      }
    }

    public char delimiterChar() {
      return character(delimiter, "delimiter", false);
    }

    public Character quoteChar() {
      return optionalCharacter(quote, "quote");
    }

    public Character escapeChar() {
      return optionalCharacter(escape, "escape");
    }

    public Character commentChar() {
      return optionalCharacter(comment, "comment");
    }

    private static Character optionalCharacter(String value, String key) {
      return value.equalsIgnoreCase("none") ? null : character(value, key, true);
    }

    private static char character(String value, String key, boolean allowNone) {
      String v = switch (value) {
        case "\\t", "tab" -> "\t";
        case "\\\\" -> "\\";
        default -> value;
      };
      if (v.length() != 1 || v.charAt(0) == '\n' || v.charAt(0) == '\r') {
        throw new InvalidValue(key, "must be a single character" + (allowNone ? " or 'none'" : "")
            + ", got '" + value + "'");
      }
      return v.charAt(0);
    }
  }

  /**
   * Options of a JSON source: alpaca-style records (an array or one object per line) or ShareGPT
   * conversations, which become one record per human/assistant exchange.
   *
   * @param format {@code auto} (default: a file starting with {@code [} is an array, else JSON lines),
   *     {@code array} or {@code jsonl}
   * @param encoding the charset when the file has no byte-order mark (default UTF-8)
   */
  public record JsonOptions(JsonFormat format, String encoding) implements Serializable {
    /** Layout of a JSON file. */
    public enum JsonFormat { AUTO, ARRAY, JSONL }

    public JsonOptions {
      format = InvalidValue.orDefault(format, JsonFormat.AUTO);
      encoding = InvalidValue.orDefault(encoding, "UTF-8");
      if (!java.nio.charset.Charset.isSupported(encoding)) {
        throw new InvalidValue("encoding", "unknown charset '" + encoding + "'");
      }
    }
  }
}
