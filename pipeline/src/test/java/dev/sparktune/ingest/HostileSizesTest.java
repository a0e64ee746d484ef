package dev.sparktune.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile input sizes through the real ingest stage in a heap of at most 1 GB: a 50 MB page, a page
 * nested 100,000 levels deep, a 20 MB CSV field, JSON nested 100,000 levels deep and a 2 GB SQL dump
 * each end as records or as rejects with a reason, never as an OutOfMemoryError or a
 * StackOverflowError. The files are generated here, never committed.
 *
 * <p>Runs only in the {@code bounded-heap} surefire execution ({@code -Xmx1g}; see pipeline/pom.xml).
 */
@Tag("bounded-heap")
class HostileSizesTest {
  private static final long MIB = 1L << 20;

  static SparkSession spark;

  @BeforeAll
  static void boundedHeap() {
    long max = Runtime.getRuntime().maxMemory();
    assertTrue(max <= 1L << 30, "this test must run in a heap of at most 1 GB (the bounded-heap surefire "
        + "execution sets -Xmx1g), but the heap may grow to " + max / MIB + " MB");
    spark = TestSpark.get();
  }

  /** What one ingest run wrote: its manifest, records and rejects. */
  private record Run(Manifest manifest, Dataset<Row> data, Dataset<Row> rejects) {
    /** {@code locator -> reason: detail} of every reject. */
    Map<String, String> rejectsByLocator() {
      Map<String, String> out = new TreeMap<>();
      for (Row r : rejects.select("locator", "reason", "detail").collectAsList()) {
        out.put(r.getString(0), r.getString(1) + ": " + r.getString(2));
      }
      return out;
    }

    /** {@code locator -> length of column}, computed in Spark so that a huge value is never collected. */
    Map<String, Integer> lengths(String column) {
      Map<String, Integer> out = new TreeMap<>();
      for (Row r : data.selectExpr("locator", "length(" + column + ")").collectAsList()) {
        out.put(r.getString(0), r.isNullAt(1) ? null : r.getInt(1));
      }
      return out;
    }
  }

  private static Run ingest(Path work, String sourcesYaml) {
    IngestConfig config = ConfigBinder.bind(ConfigTree.parse("sources:\n" + sourcesYaml, "test"), IngestConfig.class);
    Workspace ws = new Workspace(work.resolve("work").toString(), work, spark.sparkContext().hadoopConfiguration());
    List<StageRunner.Outcome> outcomes =
        new StageRunner(spark, ws, List.of(new IngestStage(config))).run(StageRunner.Options.all());
    Manifest m = outcomes.get(0).manifest();
    Dataset<Row> data = spark.read().parquet(ws.table("ingest", "data").toString());
    Dataset<Row> rejects = spark.read().parquet(ws.table("ingest", "rejects").toString());
    assertEquals(m.counts().in(), m.counts().out() + m.counts().rejected(), "read = out + rejected");
    return new Run(m, data, rejects);
  }

  /** {@code unit} written {@code times} times in a row. */
  private record Repeat(String unit, long times) {}

  /** Writes the parts in order, each a {@code String} or a {@link Repeat}, in blocks of about 8 MB. */
  private static void write(Path file, Object... parts) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (Object part : parts) {
        if (part instanceof Repeat r) {
          byte[] u = r.unit().getBytes(StandardCharsets.UTF_8);
          int perBlock = (int) Math.max(1, Math.min(r.times(), (8 * MIB) / u.length));
          ByteBuffer block = ByteBuffer.allocate(perBlock * u.length);
          for (int i = 0; i < perBlock; i++) {
            block.put(u);
          }
          for (long left = r.times(); left > 0; left -= perBlock) {
            block.clear();
            block.limit((int) Math.min(left, perBlock) * u.length);
            writeFully(ch, block);
          }
        } else {
          writeFully(ch, ByteBuffer.wrap(((String) part).getBytes(StandardCharsets.UTF_8)));
        }
      }
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  // ---------------------------------------------------------------- HTML

  private static final String PARAGRAPH = "<p>Shuffle files are written by the map side and fetched by the reduce "
      + "side, so a skewed key makes one reducer fetch most of them while the others wait.</p>\n";

  /** A 50 MB article: a nav bar, a headline, then paragraphs. */
  private static Path bigPage(Path dir) throws IOException {
    Path page = dir.resolve("big.html");
    String head = "<!doctype html><html lang=\"en\"><head><title>A very long article</title></head><body>"
        + "<nav><a href=\"/\">Home</a> <a href=\"/blog\">Blog</a></nav><article><h1>A very long article</h1>\n";
    String tail = "</article><footer>© 2026 Example</footer></body></html>\n";
    write(page, head, new Repeat(PARAGRAPH, 50 * MIB / PARAGRAPH.length()), tail);
    assertTrue(Files.size(page) >= 50 * MIB - PARAGRAPH.length());
    return page;
  }

  @Test
  void pageOf50MbIsRejectedAtTheDefaultLimit(@TempDir Path dir) throws IOException {
    bigPage(dir);
    Run run = ingest(dir, """
          - name: big
            type: html
            path: %s/big.html
        """.formatted(dir));
    assertEquals(0, run.manifest().counts().out());
    assertEquals(Map.of("page", "html_too_large: page is larger than max_page_bytes (20971520 bytes); "
        + "raise html.max_page_bytes to read it"), run.rejectsByLocator());
  }

  @Test
  void pageOf50MbIsReadWhole(@TempDir Path dir) throws IOException {
    bigPage(dir);
    Run run = ingest(dir, """
          - name: big
            type: html
            path: %s/big.html
            html: {max_page_bytes: 67108864}
        """.formatted(dir));
    assertEquals(Map.of(), run.rejectsByLocator());
    Map<String, Integer> lengths = run.lengths("text");
    assertEquals(1, lengths.size());
    long paragraphs = 50 * MIB / PARAGRAPH.length();
    // The headline, then each paragraph's text with a blank line between them: no nav, no footer.
    int expected = (int) (paragraphs * (PARAGRAPH.length() - "<p></p>\n".length() + 2) - 2
        + "A very long article\n\n".length());
    assertEquals(expected, lengths.get("page"));
    Row start = run.data.selectExpr("substring(text, 1, 200)", "meta['title']").first();
    assertTrue(start.getString(0).startsWith("A very long article\n\nShuffle files are written"), start.getString(0));
    assertEquals("A very long article", start.getString(1));
  }

  /** jsoup nests at most 512 levels (deeper elements become siblings), so nothing walks 100,000 deep. */
  @Test
  void pageNested100000LevelsDeepIsRead(@TempDir Path dir) throws IOException {
    int depth = 100_000;
    String text = "The innermost paragraph of a page nested a hundred thousand levels deep, still read.";
    Files.writeString(dir.resolve("deep.html"), "<!doctype html><html><head><title>Deep</title></head><body>"
        + "<div>".repeat(depth) + "<p>" + text + "</p>" + "</div>".repeat(depth) + "</body></html>");
    Run run = ingest(dir, """
          - name: deep
            type: html
            path: %s/deep.html
        """.formatted(dir));
    assertEquals(Map.of(), run.rejectsByLocator());
    List<Row> rows = run.data.select("text").collectAsList();
    assertEquals(1, rows.size());
    assertEquals(text, rows.get(0).getString(0));
  }

  // ---------------------------------------------------------------- CSV

  private static final int FIELD = 20 << 20;

  /** Rows 2 and 5 are small; row 3 has a quoted 20 MB field, row 4 an unquoted one. */
  private static void bigFieldCsv(Path dir) throws IOException {
    write(dir.resolve("big.csv"), "instruction,output\nsmall,row\nquoted,\"", new Repeat("y", FIELD),
        "\"\nunquoted,", new Repeat("z", FIELD), "\nafter,row\n");
  }

  @Test
  void csvFieldOf20MbIsRejectedAtTheDefaultLimit(@TempDir Path dir) throws IOException {
    bigFieldCsv(dir);
    Run run = ingest(dir, """
          - name: big
            type: csv
            path: %s/big.csv
            fields: {instruction: instruction, output: output}
        """.formatted(dir));
    assertEquals(Map.of("line:2", 3, "line:5", 3), run.lengths("output"));
    assertEquals(Map.of(
        "line:3", "csv_record_too_long: record on line 3 is longer than max_record_chars (1000000): a quoted "
            + "field is still open after 1000000 characters (its closing quote is missing, or it is longer than "
            + "the limit); resumed reading at line 4",
        "line:4", "csv_record_too_long: record on line 4 is longer than max_record_chars (1000000); "
            + "resumed reading at line 5"), run.rejectsByLocator());
  }

  @Test
  void csvFieldOf20MbIsReadWithARaisedLimit(@TempDir Path dir) throws IOException {
    bigFieldCsv(dir);
    Run run = ingest(dir, """
          - name: big
            type: csv
            path: %s/big.csv
            fields: {instruction: instruction, output: output}
            csv: {max_record_chars: 33554432}
        """.formatted(dir));
    assertEquals(Map.of(), run.rejectsByLocator());
    assertEquals(Map.of("line:2", 3, "line:3", FIELD, "line:4", FIELD, "line:5", 3), run.lengths("output"));
  }

  // ---------------------------------------------------------------- JSON

  private static String deepArray(int depth) {
    return "[".repeat(depth) + "1" + "]".repeat(depth);
  }

  @Test
  void jsonArrayElementNested100000LevelsDeepIsRejectedAlone(@TempDir Path dir) throws IOException {
    String deep = "{\"instruction\": \"deep\", \"input\": ";
    Files.writeString(dir.resolve("deep.json"), "[\n{\"instruction\": \"before\", \"output\": \"ok\"},\n"
        + deep + deepArray(100_000) + ", \"output\": \"x\"},\n"
        + "{\"instruction\": \"limit\", \"input\": " + deepArray(999) + "},\n"
        + "{\"instruction\": \"after\", \"output\": \"ok\"}\n]\n");
    Run run = ingest(dir, """
          - name: deep
            type: json
            path: %s/deep.json
        """.formatted(dir));
    assertEquals(Map.of("index:0", 6, "index:2", 5, "index:3", 5), run.lengths("instruction"));
    assertEquals(2 * 999 + 1, run.lengths("input").get("index:2"), "a record exactly 1000 levels deep is read");
    // The record's object is level 1, so its 1001st level is the 1000th bracket of "input".
    assertEquals(Map.of("index:1", "json_too_deep: element nested deeper than 1000 levels (at line 3, column "
        + (deep.length() + 1000) + "); skipped"), run.rejectsByLocator());
  }

  @Test
  void jsonLineNested100000LevelsDeepIsRejectedAlone(@TempDir Path dir) throws IOException {
    int depth = 100_000;
    String deep = "{\"instruction\": \"deep\", \"input\": ";
    Files.writeString(dir.resolve("deep.jsonl"), "{\"instruction\": \"before\", \"output\": \"ok\"}\n"
        + deep + "{\"a\": ".repeat(depth) + "1" + "}".repeat(depth) + "}\n"
        + "{\"instruction\": \"limit\", \"input\": " + deepArray(999) + "}\n"
        + "{\"instruction\": \"after\", \"output\": \"ok\"}\n");
    Run run = ingest(dir, """
          - name: deep
            type: json
            path: %s/deep.jsonl
        """.formatted(dir));
    assertEquals(Map.of("line:1", 6, "line:3", 5, "line:4", 5), run.lengths("instruction"));
    assertEquals(2 * 999 + 1, run.lengths("input").get("line:3"), "a record exactly 1000 levels deep is read");
    assertEquals(Map.of("line:2", "json_too_deep: record nested deeper than 1000 levels (at column "
        + (deep.length() + 999 * "{\"a\": ".length() + 1) + "); skipped"), run.rejectsByLocator());
  }

  // ---------------------------------------------------------------- SQL

  /** One INSERT holds a 2 GiB string literal between two small ones; the file is deleted afterwards. */
  @Test
  void sqlDumpOf2GbWithOneHugeStatementIsStreamed(@TempDir Path dir) throws IOException {
    Path dump = dir.resolve("huge.sql");
    try {
      String insert = "INSERT INTO faq (question, answer) VALUES ";
      write(dump, insert + "('q1', 'a1');\n" + insert + "('huge', '", new Repeat("z", 2L << 30),
          "');\n" + insert + "('q3', 'a3');\n");
      assertTrue(Files.size(dump) > 2L << 30);
      Run run = ingest(dir, """
            - name: dump
              type: sql
              path: %s/huge.sql
              sql: {table: faq}
              fields: {instruction: question, output: answer}
          """.formatted(dir));
      assertEquals(Map.of("statement:1/row:0", 2, "statement:3/row:0", 2), run.lengths("output"));
      assertEquals(Map.of("statement:2", "sql_statement_too_long: statement at line 2 is longer than "
          + "max_statement_chars (33554432); skipped"), run.rejectsByLocator());
    } finally {
      Files.deleteIfExists(dump);
    }
  }
}
