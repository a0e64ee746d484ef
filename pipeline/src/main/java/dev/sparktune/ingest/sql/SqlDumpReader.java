package dev.sparktune.ingest.sql;

import dev.sparktune.ingest.ReadResult;
import dev.sparktune.ingest.QueuedRecordReader;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.operators.relational.ExpressionList;
import net.sf.jsqlparser.expression.operators.relational.ParenthesedExpressionList;
import net.sf.jsqlparser.parser.CCJSqlParser;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.create.table.ColumnDefinition;
import net.sf.jsqlparser.statement.create.table.CreateTable;
import net.sf.jsqlparser.statement.insert.Insert;

/**
 * Streams the rows of one table out of a SQL dump (MySQL, PostgreSQL, SQLite, SQL Server, Oracle):
 * statements are split by {@link SqlStatementSplitter}, the INSERTs into the configured table are
 * parsed with JSqlParser (multi-row VALUES, with or without a column list; names from the table's
 * CREATE TABLE otherwise), PostgreSQL {@code COPY ... FROM stdin} blocks are read too, and every
 * other statement is skipped unparsed. Nothing is ever executed. A statement about the table that
 * does not parse is one reject with its index and line; the rest of the dump still loads.
 */
public final class SqlDumpReader extends QueuedRecordReader {

  /** Quoting and separator rules of a dump. */
  public enum Dialect { AUTO, MYSQL, POSTGRES, SQLITE, SQLSERVER, ORACLE, ANSI }

  private static final Pattern COPY = Pattern.compile(
      "(?is)^COPY\\s+(.+?)\\s*(\\(([^)]*)\\))?\\s+FROM\\s+stdin\\b.*");

  private final SqlStatementSplitter splitter;
  private final Dialect dialect;
  private final String table;
  private final List<String> configuredColumns;
  private final int maxStatementChars;
  private List<String> createColumns;
  private int statementIndex;
  private boolean done;

  /**
   * @param table the table to read; {@code schema.table} to require a schema, else any schema
   * @param columns names for INSERTs without a column list when the dump has no CREATE TABLE
   */
  public SqlDumpReader(Reader in, String table, Dialect dialect, List<String> columns, int maxStatementChars)
      throws IOException {
    BufferedReader buffered = new BufferedReader(in, 1 << 16);
    this.dialect = dialect == Dialect.AUTO ? DialectDetector.detect(buffered) : dialect;
    this.splitter = new SqlStatementSplitter(buffered, this.dialect, maxStatementChars);
    this.table = table;
    this.configuredColumns = columns;
    this.maxStatementChars = maxStatementChars;
  }

  public Dialect dialect() {
    return dialect;
  }

  @Override
  protected boolean fill() throws IOException {
    step();
    return !done;
  }

  private void step() throws IOException {
    SqlStatementSplitter.Statement st = splitter.next();
    if (st == null) {
      done = true;
      return;
    }
    statementIndex++;
    String locator = "statement:" + statementIndex;
    String text = st.text();
    String head = text.length() > 400 ? text.substring(0, 400) : text;
    String upper = head.toUpperCase(Locale.ROOT);
    Target target = target(head, upper);
    if (target == Target.NONE) {
      return;
    }
    if (st.tooLong()) {
      queue.add(new ReadResult.Reject(locator, "sql_statement_too_long", "statement at line " + st.line()
          + " is longer than max_statement_chars (" + maxStatementChars + "); skipped", head));
      return;
    }
    switch (target) {
      case CREATE -> create(text, locator, st.line());
      case INSERT -> insert(text, locator, st.line());
      case COPY -> copy(text, locator);
      default -> { }
    }
  }

  private enum Target { NONE, CREATE, INSERT, COPY }

  private Target target(String head, String upper) {
    Matcher m = Pattern.compile("^(INSERT|REPLACE)\\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE|OR\\s+\\w+)\\s+)*"
        + "(?:INTO\\s+)?").matcher(upper);
    if (m.find() && tableMatches(head.substring(m.end()))) {
      return Target.INSERT;
    }
    Matcher c = Pattern.compile("^CREATE\\s+(?:(?:GLOBAL|LOCAL|TEMPORARY|TEMP|UNLOGGED)\\s+)*TABLE\\s+"
        + "(?:IF\\s+NOT\\s+EXISTS\\s+)?").matcher(upper);
    if (c.find() && tableMatches(head.substring(c.end()))) {
      return Target.CREATE;
    }
    if (upper.startsWith("COPY ") && tableMatches(head.substring(5).strip())) {
      return Target.COPY;
    }
    return Target.NONE;
  }

  /** Whether the qualified name at the start of {@code rest} is the configured table. */
  private boolean tableMatches(String rest) {
    List<String> parts = new ArrayList<>();
    int i = 0;
    while (i < rest.length()) {
      char ch = rest.charAt(i);
      char close = switch (ch) {
        case '`' -> '`';
        case '"' -> '"';
        case '[' -> ']';
        default -> 0;
      };
      int end;
      String part;
      if (close != 0) {
        end = rest.indexOf(close, i + 1);
        if (end < 0) {
          return false;
        }
        part = rest.substring(i + 1, end);
        end++;
      } else {
        end = i;
        while (end < rest.length() && (Character.isLetterOrDigit(rest.charAt(end)) || rest.charAt(end) == '_'
            || rest.charAt(end) == '$' || rest.charAt(end) == '#')) {
          end++;
        }
        if (end == i) {
          return false;
        }
        part = rest.substring(i, end);
      }
      parts.add(part);
      if (end < rest.length() && rest.charAt(end) == '.') {
        i = end + 1;
      } else {
        break;
      }
    }
    if (parts.isEmpty()) {
      return false;
    }
    String[] wanted = table.split("\\.");
    if (wanted.length > parts.size()) {
      return false;
    }
    for (int k = 0; k < wanted.length; k++) {
      String have = parts.get(parts.size() - wanted.length + k);
      if (!have.equalsIgnoreCase(stripQuotes(wanted[k]))) {
        return false;
      }
    }
    return true;
  }

  private static String stripQuotes(String name) {
    if (name.length() >= 2) {
      char a = name.charAt(0);
      char b = name.charAt(name.length() - 1);
      if ((a == '`' && b == '`') || (a == '"' && b == '"') || (a == '[' && b == ']')) {
        return name.substring(1, name.length() - 1);
      }
    }
    return name;
  }

  private Statement parse(String sql) throws Exception {
    CCJSqlParser parser = CCJSqlParserUtil.newParser(sql)
        .withBackslashEscapeCharacter(dialect == Dialect.MYSQL)
        .withSquareBracketQuotation(dialect == Dialect.SQLSERVER || dialect == Dialect.SQLITE);
    return parser.Statement();
  }

  private static String firstLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int nl = m.indexOf('\n');
    return (nl < 0 ? m : m.substring(0, nl)).strip();
  }

  private void create(String text, String locator, int line) {
    try {
      Statement s = parse(text);
      if (s instanceof CreateTable ct && ct.getColumnDefinitions() != null) {
        List<String> cols = new ArrayList<>();
        for (ColumnDefinition cd : ct.getColumnDefinitions()) {
          cols.add(stripQuotes(cd.getColumnName()));
        }
        createColumns = cols;
      }
    } catch (Exception | Error e) {
      // Without CREATE TABLE, INSERTs with a column list still load; say what was lost.
      queue.add(new ReadResult.Reject(locator, "sql_parse_error", "CREATE TABLE " + table + " at line " + line
          + " does not parse (" + firstLine(e) + "); INSERTs without a column list will lack names", text));
    }
  }

  private void insert(String text, String locator, int line) {
    String sql = normalizeInsert(text);
    Insert insert;
    try {
      Statement s = parse(sql);
      if (!(s instanceof Insert i) || i.getValues() == null) {
        queue.add(new ReadResult.Reject(locator, "sql_unsupported", "statement at line " + line
            + " is not an INSERT ... VALUES (e.g. INSERT ... SELECT); skipped", text));
        return;
      }
      insert = i;
    } catch (Exception | Error e) {
      queue.add(new ReadResult.Reject(locator, "sql_parse_error", "statement at line " + line
          + " does not parse: " + firstLine(e), text));
      return;
    }
    List<String> columns = null;
    if (insert.getColumns() != null && !insert.getColumns().isEmpty()) {
      columns = new ArrayList<>();
      for (Column c : insert.getColumns()) {
        columns.add(stripQuotes(c.getColumnName()));
      }
    } else {
      columns = namesWithoutColumnList();
    }
    List<ExpressionList<?>> rows = rows(insert.getValues().getExpressions());
    for (int r = 0; r < rows.size(); r++) {
      String rowLocator = locator + "/row:" + r;
      ExpressionList<?> row = rows.get(r);
      if (columns == null) {
        queue.add(new ReadResult.Reject(rowLocator, "sql_unknown_columns", "INSERT at line " + line
            + " has no column list and the dump has no CREATE TABLE " + table + " before it; set sql.columns",
            row.toString()));
        continue;
      }
      if (row.size() != columns.size()) {
        queue.add(new ReadResult.Reject(rowLocator, "sql_value_count", "row has " + row.size() + " values but "
            + columns.size() + " columns (" + String.join(", ", columns) + "), INSERT at line " + line,
            row.toString()));
        continue;
      }
      Map<String, String> map = new LinkedHashMap<>();
      for (int k = 0; k < columns.size(); k++) {
        map.put(columns.get(k), SqlValues.text((Expression) row.get(k), dialect));
      }
      queue.add(new ReadResult.Fields(rowLocator, map, Map.of(), true));
    }
  }

  /** The column names of a statement without its own list: the CREATE TABLE's, else the configured ones. */
  private List<String> namesWithoutColumnList() {
    if (createColumns != null) {
      return createColumns;
    }
    return configuredColumns;
  }

  /** The rows of a VALUES list: one per parenthesized list in a multi-row INSERT, else the list itself. */
  private static List<ExpressionList<?>> rows(ExpressionList<?> values) {
    List<ExpressionList<?>> rows = new ArrayList<>();
    boolean multi = !values.isEmpty();
    for (Object v : values) {
      multi &= v instanceof ParenthesedExpressionList;
    }
    if (multi) {
      for (Object v : values) {
        rows.add((ExpressionList<?>) v);
      }
    } else {
      rows.add(values);
    }
    return rows;
  }

  /** JSqlParser knows INSERT; MySQL's REPLACE and SQLite's INSERT OR REPLACE carry the same rows. */
  private static String normalizeInsert(String text) {
    String s = text.replaceFirst("(?is)^REPLACE\\b", "INSERT");
    return s.replaceFirst("(?is)^INSERT\\s+OR\\s+\\w+\\b", "INSERT");
  }

  private void copy(String text, String locator) throws IOException {
    Matcher m = COPY.matcher(text);
    if (!m.matches()) {
      queue.add(new ReadResult.Reject(locator, "sql_unsupported", "COPY without FROM stdin is not read", text));
      return;
    }
    List<String> columns = null;
    if (m.group(3) != null) {
      columns = new ArrayList<>();
      for (String c : m.group(3).split(",")) {
        columns.add(stripQuotes(c.strip()));
      }
    } else {
      columns = namesWithoutColumnList();
    }
    String rest = splitter.readRawLine();
    if (rest != null && !rest.isBlank()) {
      queue.add(new ReadResult.Reject(locator, "sql_unsupported", "unexpected text after COPY: " + rest, rest));
    }
    int row = 0;
    String data;
    while ((data = splitter.readRawLine()) != null && !data.equals("\\.")) {
      String rowLocator = locator + "/row:" + row++;
      String[] fields = data.split("\t", -1);
      if (columns == null || fields.length != columns.size()) {
        queue.add(new ReadResult.Reject(rowLocator, columns == null ? "sql_unknown_columns" : "sql_value_count",
            columns == null ? "COPY without a column list and no CREATE TABLE before it; set sql.columns"
                : "row has " + fields.length + " fields but " + columns.size() + " columns", data));
        continue;
      }
      Map<String, String> map = new LinkedHashMap<>();
      for (int k = 0; k < fields.length; k++) {
        map.put(columns.get(k), copyField(fields[k]));
      }
      queue.add(new ReadResult.Fields(rowLocator, map, Map.of(), true));
    }
  }

  /** PostgreSQL COPY text format: \N is NULL, backslash escapes. */
  static String copyField(String f) {
    if (f.equals("\\N")) {
      return null;
    }
    if (f.indexOf('\\') < 0) {
      return f;
    }
    return SqlEscapes.unescape(f, SqlEscapes.Style.COPY_TEXT);
  }

  @Override
  public void close() throws IOException {
    splitter.close();
  }
}
