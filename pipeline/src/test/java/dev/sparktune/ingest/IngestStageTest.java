package dev.sparktune.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ingest stage end to end on real fixture files, through the real stage runner. */
class IngestStageTest {
  private static final String FIXTURES = Path.of("src/test/resources/ingest").toAbsolutePath().toString();

  @TempDir static Path work;
  static SparkSession spark;
  static Manifest manifest;
  static Dataset<Row> data;
  static Dataset<Row> rejects;

  static IngestConfig config(String fixtures) {
    String yaml = """
        sources:
          - name: faq
            type: csv
            path: %1$s/faq.csv
            fields: {instruction: question, input: context, output: answer}
            meta: [category]
          - name: songs
            type: csv
            path: %1$s/songs.csv
            csv: {delimiter: ";"}
            fields:
              instruction: "Who composed {Name}?"
              output: "{Name} was composed by {Composer} in {Year}."
          - name: alpaca
            type: json
            path: %1$s/alpaca-*.json
          - name: chats
            type: json
            path: %1$s/chats.jsonl
          - name: pages
            type: html
            path: "%1$s/html/{article,broken-encoding,nav-only}.html"
          - name: faq_html
            type: html
            path: %1$s/html/faq.html
            html:
              mode: selectors
              record: div.faq-item
              selectors: {instruction: h3.q, output: div.a}
          - name: mysql_dump
            type: sql
            path: %1$s/sql/mysql.sql
            sql: {table: faq}
            fields: {instruction: question, output: answer}
            meta: [category]
          - name: pg_dump
            type: sql
            path: %1$s/sql/postgres.sql
            sql: {table: faq, dialect: postgres}
            fields: {instruction: question, output: answer}
        """.formatted(fixtures);
    return ConfigBinder.bind(ConfigTree.parse(yaml, "test"), IngestConfig.class);
  }

  @BeforeAll
  static void runIngest() {
    spark = TestSpark.get();
    Workspace ws = new Workspace(work.toString(), work, spark.sparkContext().hadoopConfiguration());
    StageRunner runner = new StageRunner(spark, ws, List.of(new IngestStage(config(FIXTURES))));
    List<StageRunner.Outcome> outcomes = runner.run(StageRunner.Options.all());
    manifest = outcomes.get(0).manifest();
    data = spark.read().parquet(ws.table("ingest", "data").toString()).cache();
    rejects = spark.read().parquet(ws.table("ingest", "rejects").toString()).cache();
  }

  private static Row record(String source, String locator) {
    List<Row> rows = data.filter("source = '" + source + "' AND locator = '" + locator + "'").collectAsList();
    assertEquals(1, rows.size(), "records at " + source + " " + locator);
    return rows.get(0);
  }

  @Test
  void countInvariantHoldsPerSource() {
    // What each fixture holds, counted by hand: units read = records + rejects.
    Map<String, long[]> expected = Map.of(
        "faq", new long[] {6, 4, 2},
        "songs", new long[] {2, 2, 0},
        "alpaca", new long[] {6, 4, 2},
        "chats", new long[] {4, 2, 2},
        "pages", new long[] {3, 2, 1},
        "faq_html", new long[] {3, 3, 0},
        "mysql_dump", new long[] {6, 5, 1},
        "pg_dump", new long[] {6, 5, 1});
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      Manifest.SourceCounts c = manifest.counts().bySource().get(e.getKey());
      long out = data.filter("source = '" + e.getKey() + "'").count();
      long rejected = rejects.filter("source = '" + e.getKey() + "'").count();
      assertEquals(e.getValue()[0], c.in(), "records read from " + e.getKey());
      assertEquals(e.getValue()[1], out, "records out of " + e.getKey());
      assertEquals(e.getValue()[2], rejected, "rejects of " + e.getKey());
      assertEquals(c.in(), out + rejected, "read = out + rejected for " + e.getKey());
      assertEquals(out, c.out());
      assertEquals(rejected, c.rejected());
    }
    assertEquals(36, manifest.counts().in());
    assertEquals(27, manifest.counts().out());
    assertEquals(9, manifest.counts().rejected());
    assertEquals(Map.of("csv_field_count", 1L, "csv_malformed", 1L, "json_not_object", 1L, "empty_record", 1L,
        "json_syntax", 1L, "conversation_unpaired_turn", 1L, "html_no_text", 1L, "sql_parse_error", 2L),
        manifest.counts().rejectedByReason());
  }

  @Test
  void rejectsCarryReasonLocatorAndRawSnippet() {
    Set<String> got = rejects.collectAsList().stream()
        .map(r -> r.getAs("source") + " " + r.getAs("locator") + " " + r.getAs("reason"))
        .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(new TreeSet<>(List.of(
        "faq line:7 csv_field_count",
        "faq line:8 csv_malformed",
        "alpaca index:1 json_not_object",
        "alpaca index:2 empty_record",
        "chats line:2 json_syntax",
        "chats line:3/turn:3 conversation_unpaired_turn",
        "pages page html_no_text",
        "mysql_dump statement:6 sql_parse_error",
        "pg_dump statement:12 sql_parse_error")), got);
    Row fieldCount = rejects.filter("reason = 'csv_field_count'").first();
    assertEquals("expected 4 fields, found 5", fieldCount.getAs("detail"));
    assertEquals("Is there an API?,,\"Yes, a REST API.\",api,unexpected", fieldCount.getAs("raw"));
    assertTrue(((String) fieldCount.getAs("uri")).endsWith("/faq.csv"));
    Row notObject = rejects.filter("reason = 'json_not_object'").first();
    assertTrue(((String) notObject.getAs("uri")).endsWith("/alpaca-1.json"));
  }

  @Test
  void csvFieldsAreMappedDespiteBomAndQuotedNewlines() {
    Row formats = record("faq", "line:3");
    assertEquals("Which formats can I import?", formats.getAs("instruction"));
    assertEquals("CSV, TSV and\nJSON lines.\n\nExcel files must be saved as CSV first.", formats.getAs("output"));
    assertNull(formats.getAs("input"), "an empty CSV field is stored as null");
    assertEquals("import", formats.<scala.collection.Map<String, String>>getAs("meta").get("category").get());
    assertEquals("Monthly plan", record("faq", "line:9").getAs("input"));
    assertEquals("csv", formats.getAs("source_type"));
  }

  @Test
  void templatesRenderAndSkipMissingValues() {
    Row clair = record("songs", "line:2");
    assertEquals("Who composed Clair de lune?", clair.getAs("instruction"));
    assertEquals("Clair de lune was composed by Claude Debussy in 1905.", clair.getAs("output"));
    Row canon = record("songs", "line:3");
    assertEquals("Who composed Canon in D?", canon.getAs("instruction"));
    assertNull(canon.getAs("output"), "a template with an empty placeholder yields null, not 'in .'");
  }

  @Test
  void idsAreContentHashes() {
    String first = record("faq", "line:2").getAs("id");
    assertTrue(first.matches("[0-9a-f]{32}"), first);
    assertEquals(first, record("faq", "line:10").getAs("id"), "identical content, identical id");
    assertEquals(record("alpaca", "index:3").<String>getAs("id"), record("alpaca", "index:1").<String>getAs("id"),
        "the same record in two files of a source");
    assertEquals(record("faq", "line:2").<String>getAs("id"),
        data.filter("source = 'pg_dump' AND locator LIKE 'statement:10/%'").first().<String>getAs("id"),
        "the same question and answer from a CSV export and a PostgreSQL dump");
    assertEquals(24, data.select("id").distinct().count(), "27 records holding three exact duplicate pairs");
  }

  @Test
  void theSourceWithTheBiggestFileIsReadFirst() throws java.io.IOException {
    // Spark starts tasks in partition order: the first part file is the first task's output, and it
    // holds the source with the biggest file (pages: article.html), not the first one configured.
    Workspace ws = new Workspace(work.toString(), work, spark.sparkContext().hadoopConfiguration());
    org.apache.hadoop.fs.Path dir = ws.table("ingest", "data");
    String first = java.util.Arrays.stream(dir.getFileSystem(spark.sparkContext().hadoopConfiguration())
            .listStatus(dir))
        .map(f -> f.getPath().toString()).filter(f -> f.contains("/part-")).sorted().findFirst().orElseThrow();
    assertEquals(List.of("pages"), spark.read().parquet(first).select("source").distinct()
        .as(org.apache.spark.sql.Encoders.STRING()).collectAsList(), first);
  }

  @Test
  void eachFileIsReadByItsOwnTask() throws java.io.IOException {
    IngestConfig cfg = config(FIXTURES);
    Workspace ws = new Workspace(work.toString(), work, spark.sparkContext().hadoopConfiguration());
    var alpaca = cfg.sources().get(2);
    var files = InputListing.list(ws, alpaca.name(), alpaca.path());
    assertEquals(2, files.size());
    Dataset<Row> parsed = SourceRead.read(spark, alpaca, files,
        new dev.sparktune.core.HadoopConf(spark.sparkContext().hadoopConfiguration()), 100);
    assertEquals(2, parsed.rdd().getNumPartitions());
    assertEquals(6, parsed.count());
  }

  @Test
  void htmlAndSqlRecords() {
    Row article = data.filter("source = 'pages' AND uri LIKE '%article.html'").first();
    assertTrue(((String) article.getAs("text")).startsWith("How we cut our Spark shuffle time in half\n\n"));
    scala.collection.Map<String, String> meta = article.getAs("meta");
    assertEquals("en-GB", meta.get("lang").get());
    Row item = record("faq_html", "match:1");
    assertEquals("Kann ich meine Daten exportieren?", item.getAs("instruction"));
    assertEquals("Ja, als CSV oder JSON.", item.getAs("output"));
    Row mysql = data.filter("source = 'mysql_dump' AND instruction = 'What\\'s the refund policy?'").first();
    assertTrue(((String) mysql.getAs("output")).startsWith("Annual plans: 14 days. It's pro-rated"));
    assertEquals("sql", mysql.getAs("source_type"));
    Row copy = data.filter("source = 'pg_dump' AND instruction = 'How do I invite a colleague?'").first();
    assertEquals("Settings > Team > Invite.\nThey get an e-mail.", copy.getAs("output"));
  }

  @Test
  void jsonAndShareGptRecords() {
    Row text = data.filter("source = 'alpaca' AND text IS NOT NULL").first();
    assertEquals("A plain-text record with no instruction.", text.getAs("text"));
    assertNull(text.getAs("instruction"));
    Row chat = record("chats", "line:3");
    assertNull(chat.getAs("instruction"));
    assertNull(chat.getAs("output"));
    List<Row> messages = chat.getList(chat.fieldIndex("messages"));
    assertEquals(List.of("system:Be brief.", "user:2+2?", "assistant:4"),
        messages.stream().map(m -> m.getString(0) + ":" + m.getString(1)).toList(),
        "the conversation without its unanswered last turn (rejected on its own)");
    scala.collection.Map<String, String> meta = chat.getAs("meta");
    assertEquals("c3", meta.get("conversation_id").get());
  }
}
