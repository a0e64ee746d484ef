package dev.sparktune.config;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
 * @param html options of an {@code html} source
 * @param sql options of a {@code sql} (dump file) source
 * @param jdbc options of a {@code jdbc} (database table) source
 * @param systemPrompt the system prompt of this source's records that have none of their own (a
 *     conversation's {@code system} turn, or the {@code system} field); rendered by chat templates
 */
public record SourceConfig(
    String name,
    SourceType type,
    String path,
    Map<String, String> fields,
    List<String> meta,
    CsvOptions csv,
    JsonOptions json,
    HtmlOptions html,
    SqlOptions sql,
    JdbcOptions jdbc,
    String systemPrompt) implements Serializable {

  /** The canonical fields a source can fill. */
  public static final List<String> CANONICAL_FIELDS = List.of("instruction", "input", "output", "text");

  /** The field a source may map besides the canonical ones: a record's system prompt (kept in meta). */
  public static final String SYSTEM_FIELD = "system";

  /** Supported source readers. */
  public enum SourceType { CSV, JSON, HTML, SQL, JDBC }

  public SourceConfig {
    name = InvalidValue.required(name, "name");
    if (!name.matches("[A-Za-z0-9_.-]+")) {
      throw new InvalidValue("name", "'" + name + "' may only contain letters, digits, '_', '.' and '-'");
    }
    type = InvalidValue.required(type, "type");
    if (type == SourceType.JDBC) {
      if (path != null) {
        throw new InvalidValue("path", "a jdbc source reads jdbc.table or jdbc.query, not a path");
      }
    } else {
      path = InvalidValue.required(path, "path");
    }
    if (fields == null) {
      Map<String, String> identity = new LinkedHashMap<>();
      CANONICAL_FIELDS.forEach(f -> identity.put(f, f));
      if (type == SourceType.JSON) {
        identity.put(SYSTEM_FIELD, SYSTEM_FIELD); // JSON records name their fields; a missing one is null
      }
      fields = identity;
    }
    for (Map.Entry<String, String> e : fields.entrySet()) {
      if (!CANONICAL_FIELDS.contains(e.getKey()) && !SYSTEM_FIELD.equals(e.getKey())) {
        throw new InvalidValue("fields", "unknown canonical field '" + e.getKey() + "'; expected one of "
            + String.join(", ", CANONICAL_FIELDS) + ", " + SYSTEM_FIELD);
      }
      try {
        FieldTemplate.parse(e.getValue());
      } catch (IllegalArgumentException bad) {
        throw new InvalidValue("fields." + e.getKey(), bad.getMessage());
      }
    }
    fields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    meta = meta == null ? List.of() : List.copyOf(meta);
    onlyFor(csv, SourceType.CSV, type, "csv");
    onlyFor(json, SourceType.JSON, type, "json");
    onlyFor(html, SourceType.HTML, type, "html");
    onlyFor(sql, SourceType.SQL, type, "sql");
    onlyFor(jdbc, SourceType.JDBC, type, "jdbc");
    switch (type) {
      case CSV -> csv = csv != null ? csv : new CsvOptions(null, null, null, null, null, null, null, null);
      case JSON -> json = json != null ? json : new JsonOptions(null, null);
      case HTML -> html = html != null ? html : new HtmlOptions(null, null, null, null);
      case SQL -> InvalidValue.required(sql, "sql");
      case JDBC -> InvalidValue.required(jdbc, "jdbc");
    }
  }

  private static void onlyFor(Object options, SourceType owner, SourceType type, String key) {
    if (options != null && type != owner) {
      throw new InvalidValue(key, "only a " + key + " source takes " + key + " options (this one is "
          + type.name().toLowerCase(java.util.Locale.ROOT) + ")");
    }
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
   * @param maxRecordChars a longer record is rejected without being kept whole, and reading resumes on
   *     the next line (a quoted field still open at the limit may lack its closing quote) (default 1,000,000)
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

  /**
   * Options of an HTML source.
   *
   * @param mode {@code main_text} (default): one record per page whose {@code text} is the page's main
   *     content without boilerplate; {@code selectors}: records from CSS selectors
   * @param record with {@code selectors}: each element matching this selector is one record, and the
   *     field selectors are applied inside it; without it, the i-th matches of the field selectors
   *     form the i-th record (their counts must agree)
   * @param selectors with {@code selectors}: column name to CSS selector; the columns are then mapped
   *     by {@code fields} like any other source's (so naming them instruction/output needs no mapping)
   * @param maxPageBytes a larger page is rejected unread (default 20 MB)
   */
  public record HtmlOptions(HtmlMode mode, String record, Map<String, String> selectors, Integer maxPageBytes)
      implements Serializable {
    /** How a page becomes records. */
    public enum HtmlMode { MAIN_TEXT, SELECTORS }

    public HtmlOptions {
      mode = InvalidValue.orDefault(mode, HtmlMode.MAIN_TEXT);
      if (mode == HtmlMode.SELECTORS && (selectors == null || selectors.isEmpty())) {
        throw new InvalidValue("selectors", "is required in selectors mode");
      }
      // Records are rebuilt through this constructor when they travel to executors: accept its own output.
      boolean hasSelectors = selectors != null && !selectors.isEmpty();
      if (mode == HtmlMode.MAIN_TEXT && (hasSelectors || record != null)) {
        throw new InvalidValue(hasSelectors ? "selectors" : "record", "only applies in mode: selectors");
      }
      if (record != null) {
        checkSelector(record, "record");
      }
      selectors = selectors == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(selectors));
      selectors.forEach((k, v) -> checkSelector(v, "selectors." + k));
      maxPageBytes = InvalidValue.orDefault(maxPageBytes, 20 << 20);
      if (maxPageBytes < 1) {
        throw new InvalidValue("max_page_bytes", "must be positive");
      }
    }

    private static void checkSelector(String css, String key) {
      try {
        org.jsoup.select.QueryParser.parse(css);
      } catch (IllegalArgumentException e) {
        throw new InvalidValue(key, "invalid CSS selector '" + css + "': " + e.getMessage());
      }
    }
  }

  /**
   * Options of a SQL dump source. Statements are split and parsed, never executed.
   *
   * @param table the table whose INSERT rows become records (schema prefix and quoting ignored)
   * @param dialect {@code auto} (default, guessed from the dump's first statements), {@code mysql},
   *     {@code postgres}, {@code sqlite}, {@code sqlserver}, {@code oracle} or {@code ansi}: decides
   *     quoting, escapes, comments and batch separators
   * @param columns column names for INSERTs without a column list when the dump has no CREATE TABLE
   * @param encoding the charset when the file has no byte-order mark (default UTF-8)
   * @param maxStatementChars a longer statement is rejected, read to its end but never kept whole (default
   *     32 M characters)
   */
  public record SqlOptions(String table, SqlDialect dialect, List<String> columns, String encoding,
      Integer maxStatementChars) implements Serializable {
    /** Dump dialects. */
    public enum SqlDialect { AUTO, MYSQL, POSTGRES, SQLITE, SQLSERVER, ORACLE, ANSI }

    public SqlOptions {
      table = InvalidValue.required(table, "table");
      dialect = InvalidValue.orDefault(dialect, SqlDialect.AUTO);
      columns = columns == null ? null : List.copyOf(columns);
      encoding = InvalidValue.orDefault(encoding, "UTF-8");
      if (!java.nio.charset.Charset.isSupported(encoding)) {
        throw new InvalidValue("encoding", "unknown charset '" + encoding + "'");
      }
      maxStatementChars = InvalidValue.orDefault(maxStatementChars, 32 << 20);
      if (maxStatementChars < 1) {
        throw new InvalidValue("max_statement_chars", "must be positive");
      }
    }
  }

  /**
   * Options of a JDBC source, read with Spark's JDBC data source.
   *
   * @param url JDBC URL, without the password
   * @param table a table (or view) name; exactly one of table and query
   * @param query a SELECT whose rows are read
   * @param user database user
   * @param passwordEnv name of the environment variable holding the password (never put the password
   *     in config; it does not appear in logs or the manifest)
   * @param driver JDBC driver class when the URL does not select one (PostgreSQL's is bundled)
   * @param keyColumn column whose value identifies a row in the locator ({@code id=42}); default the
   *     partition column, else the row's position in its partition
   * @param partitionColumn numeric, date or timestamp column to split the read on
   * @param lowerBound lower bound of the partition column (with partition_column)
   * @param upperBound upper bound of the partition column (with partition_column)
   * @param numPartitions parallel reads (with partition_column)
   * @param fetchSize rows per round trip (default 1000)
   */
  public record JdbcOptions(String url, String table, String query, String user, String passwordEnv, String driver,
      String keyColumn, String partitionColumn, String lowerBound, String upperBound, Integer numPartitions,
      Integer fetchSize) implements Serializable {
    public JdbcOptions {
      url = InvalidValue.required(url, "url");
      if (!url.startsWith("jdbc:")) {
        throw new InvalidValue("url", "must start with jdbc:");
      }
      if (url.toLowerCase(java.util.Locale.ROOT).contains("password=")) {
        throw new InvalidValue("url", "must not contain the password; name an environment variable in password_env");
      }
      if ((table == null) == (query == null)) {
        throw new InvalidValue(table == null ? "table" : "query", "give exactly one of table and query");
      }
      if (partitionColumn != null && (lowerBound == null || upperBound == null || numPartitions == null)) {
        throw new InvalidValue("partition_column", "needs lower_bound, upper_bound and num_partitions");
      }
      fetchSize = InvalidValue.orDefault(fetchSize, 1000);
      if (keyColumn == null) {
        keyColumn = partitionColumn;
      }
    }
  }
}
