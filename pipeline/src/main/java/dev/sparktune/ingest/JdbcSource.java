package dev.sparktune.ingest;

import static org.apache.spark.sql.functions.col;

import dev.sparktune.config.SourceConfig;
import dev.sparktune.config.SourceConfig.JdbcOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.apache.spark.sql.catalyst.encoders.RowEncoder;

/**
 * Reads a database table or query with Spark's JDBC data source (partitioned when configured) and
 * maps its rows like any other source's. The password comes from an environment variable and is
 * handed to the JDBC driver only; it is never logged or stored in the manifest.
 */
final class JdbcSource {
  /** Spark's JDBC connection provider logs the connection properties, password included, at DEBUG. */
  static final String LEAKY_LOGGER = "org.apache.spark.sql.execution.datasources.jdbc.connection";
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(JdbcSource.class);

  private JdbcSource() {}

  /**
   * Caps {@link #LEAKY_LOGGER} at INFO in this JVM when it is more verbose. Runs on the driver before
   * the first connection and in every executor task; conf/log4j2.properties pins it too.
   */
  static void guardPasswordLogging() {
    if (!org.slf4j.LoggerFactory.getLogger(LEAKY_LOGGER + ".BasicConnectionProvider").isDebugEnabled()) {
      return;
    }
    try {
      org.apache.logging.log4j.core.config.Configurator.setLevel(LEAKY_LOGGER, org.apache.logging.log4j.Level.INFO);
      LOG.warn("DEBUG logging of {} turned off: Spark logs JDBC passwords at that level", LEAKY_LOGGER);
    } catch (LinkageError | RuntimeException e) {
      LOG.warn("DEBUG logging of {} is on and cannot be turned off ({}); Spark will log the JDBC password",
          LEAKY_LOGGER, e.toString());
    }
  }

  /** Where a JDBC source's records come from, for the {@code uri} column (no credentials). */
  static String uri(JdbcOptions o) {
    return o.url() + "#" + (o.table() != null ? o.table() : "query");
  }

  static Dataset<Row> read(SparkSession spark, SourceConfig source, int maxSnippet,
      java.util.function.Function<String, String> env) {
    guardPasswordLogging();
    JdbcOptions o = source.jdbc();
    DataFrameReader reader = reader(spark, source, env);
    Dataset<Row> table;
    try {
      table = reader.load();
    } catch (RuntimeException e) {
      throw new IllegalStateException("source '" + source.name() + "': cannot read " + uri(o) + ": "
          + rootMessage(e), e);
    }
    List<Column> asText = new ArrayList<>();
    for (String c : table.columns()) {
      asText.add(col("`" + c.replace("`", "``") + "`").cast("string").as(c));
    }
    String[] names = table.columns();
    String name = source.name();
    String uri = uri(o);
    String key = o.keyColumn();
    RecordMapper mapper = new RecordMapper(source.fields(), source.meta(), source.systemPrompt());
    ExpressionEncoder<Row> encoder = ExpressionEncoder.apply(RowEncoder.encoderFor(SourceRead.PARSED));
    MapPartitionsFunction<Row, Row> toRecords = rows -> new java.util.Iterator<Row>() {
      private final int partition = guardAndPartition();
      private long i;

      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public Row next() {
        Row r = rows.next();
        Map<String, String> columns = new LinkedHashMap<>();
        for (int k = 0; k < names.length; k++) {
          columns.put(names[k], r.getString(k));
        }
        String locator = key != null && columns.containsKey(key) ? key + "=" + columns.get(key)
            : "partition:" + partition + "/row:" + i;
        i++;
        Object mapped = mapper.map(new ReadResult.Fields(locator, columns, Map.of(), true));
        return SourceRead.toRow(name, "jdbc", uri, locator, mapped, maxSnippet);
      }
    };
    return table.select(asText.toArray(Column[]::new)).mapPartitions(toRecords, encoder);
  }

  /** Spark's JDBC reader with the source's options (connection, password from the environment, partitioning). */
  private static DataFrameReader reader(SparkSession spark, SourceConfig source,
      java.util.function.Function<String, String> env) {
    JdbcOptions o = source.jdbc();
    DataFrameReader reader = spark.read().format("jdbc").option("url", o.url())
        .option("fetchsize", o.fetchSize().toString());
    if (o.table() != null) {
      reader.option("dbtable", o.table());
    } else {
      reader.option("query", o.query());
    }
    if (o.user() != null) {
      reader.option("user", o.user());
    }
    if (o.passwordEnv() != null) {
      String password = env.apply(o.passwordEnv());
      if (password == null) {
        throw new IllegalArgumentException("source '" + source.name() + "': environment variable "
            + o.passwordEnv() + " (jdbc.password_env) is not set");
      }
      reader.option("password", password);
    }
    if (o.driver() != null) {
      reader.option("driver", o.driver());
    } else if (o.url().startsWith("jdbc:postgresql:")) {
      reader.option("driver", "org.postgresql.Driver");
    }
    if (o.partitionColumn() != null) {
      reader.option("partitionColumn", o.partitionColumn()).option("lowerBound", o.lowerBound())
          .option("upperBound", o.upperBound()).option("numPartitions", o.numPartitions().toString());
    }
    return reader;
  }

  private static int guardAndPartition() {
    guardPasswordLogging();
    return TaskContext.getPartitionId();
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
