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
import dev.sparktune.core.StageStatus;
import dev.sparktune.core.Workspace;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * JDBC ingest against a real PostgreSQL server: started by .ci/run, or locally with
 * {@code eval "$(bin/test-postgres start)"}. Skipped when no server is configured, except in CI
 * ({@code SPARKTUNE_REQUIRE_PG=1}), where a missing server fails the test.
 */
class JdbcIngestTest {
  @TempDir Path work;

  @Test
  void ingestsATableWithoutLeakingThePassword() throws Exception {
    String url = System.getenv("SPARKTUNE_TEST_PG_URL");
    if (url == null) {
      if ("1".equals(System.getenv("SPARKTUNE_REQUIRE_PG"))) {
        throw new AssertionError("SPARKTUNE_TEST_PG_URL is not set but SPARKTUNE_REQUIRE_PG=1");
      }
      Assumptions.abort("no PostgreSQL configured; run eval \"$(bin/test-postgres start)\"");
    }
    String user = System.getenv("SPARKTUNE_TEST_PG_USER");
    String password = System.getenv("SPARKTUNE_TEST_PG_PASSWORD");
    try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS support_faq");
      s.execute("CREATE TABLE support_faq (id int PRIMARY KEY, question text, answer text, category text)");
      s.execute("INSERT INTO support_faq VALUES "
          + "(1, 'How do I reset my password?', 'Settings > Account > Reset password.', 'account'),"
          + "(2, 'Can I export my data?', E'Yes.\\nAs CSV or JSON.', 'data'),"
          + "(3, 'Is there an API?', 'Yes, see Settings > Developers.', NULL),"
          + "(4, NULL, NULL, 'empty'),"
          + "(5, 'Where are invoices?', 'Billing > Invoices.', 'billing'),"
          + "(6, 'Does it work offline?', 'Partly.', 'app')");
    }
    String yaml = """
        sources:
          - name: helpdesk
            type: jdbc
            jdbc:
              url: %s
              table: public.support_faq
              user: %s
              password_env: SPARKTUNE_TEST_PG_PASSWORD
              partition_column: id
              lower_bound: "1"
              upper_bound: "7"
              num_partitions: 2
            fields: {instruction: question, output: answer}
            meta: [category]
        """.formatted(url, user);
    IngestConfig config = ConfigBinder.bind(ConfigTree.parse(yaml, "test"), IngestConfig.class);

    SparkSession spark = TestSpark.get();
    Workspace ws = new Workspace(work.toString(), work, spark.sparkContext().hadoopConfiguration());
    StringWriter logs = new StringWriter();
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    Configuration cfg = ctx.getConfiguration();
    WriterAppender appender = WriterAppender.newBuilder().setName("capture").setTarget(logs)
        .setLayout(PatternLayout.newBuilder().withPattern("%p %c %m%n").build()).build();
    appender.start();
    // Everything at INFO, and Spark's JDBC package at DEBUG (where it would log the password), into a
    // buffer instead of the console.
    LoggerConfig root = cfg.getRootLogger();
    Level before = root.getLevel();
    java.util.Map<String, org.apache.logging.log4j.core.Appender> consoles = new java.util.HashMap<>(root.getAppenders());
    consoles.keySet().forEach(root::removeAppender);
    root.addAppender(appender, Level.DEBUG, null);
    root.setLevel(Level.INFO);
    org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.spark.sql.execution.datasources.jdbc",
        Level.DEBUG);
    ctx.updateLoggers();
    Manifest manifest;
    try {
      manifest = new StageRunner(spark, ws, List.of(new IngestStage(config))).run(StageRunner.Options.all())
          .get(0).manifest();
    } finally {
      root.removeAppender("capture");
      consoles.values().forEach(a -> root.addAppender(a, null, null));
      root.setLevel(before);
      org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.spark.sql.execution.datasources.jdbc",
          Level.WARN);
      ctx.updateLoggers();
      appender.stop();
    }

    assertEquals(6, manifest.counts().in());
    assertEquals(5, manifest.counts().out());
    assertEquals(1, manifest.counts().rejected());
    assertEquals(java.util.Map.of("empty_record", 1L), manifest.counts().rejectedByReason());
    Dataset<Row> data = spark.read().parquet(ws.table("ingest", "data").toString());
    Row two = data.filter("locator = 'id=2'").first();
    assertEquals("Yes.\nAs CSV or JSON.", two.getAs("output"));
    assertEquals(url + "#public.support_faq", two.getAs("uri"));
    assertEquals("jdbc", two.getAs("source_type"));

    String manifestText = Files.readString(work.resolve("ingest/_manifest.json"));
    assertTrue(manifestText.contains("SPARKTUNE_TEST_PG_PASSWORD"), "the manifest names the variable");
    assertFalse(manifestText.contains(password), "the manifest must not contain the password");
    assertTrue(logs.toString().length() > 1000, "logs were captured: " + logs.toString().length());
    assertTrue(logs.toString().contains("Spark logs JDBC passwords at that level"), "the guard says what it did");
    String log = logs.toString();
    int at = log.indexOf(password);
    assertTrue(at < 0, () -> "the logs must not contain the password; found in: "
        + log.substring(Math.max(0, log.lastIndexOf('\n', at) + 1), Math.min(log.length(), at + 200)));

    StageStatus status = new StageRunner(spark, ws, List.of(new IngestStage(config))).status().get(0);
    assertEquals(StageStatus.State.STALE, status.state(), "a JDBC source is read again on every run");
  }
}
