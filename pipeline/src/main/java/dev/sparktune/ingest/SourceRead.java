package dev.sparktune.ingest;

import dev.sparktune.config.SourceConfig;
import dev.sparktune.core.HadoopConf;
import dev.sparktune.core.InputFile;
import dev.sparktune.core.Schemas;
import dev.sparktune.ingest.csv.CsvRecordReader;
import dev.sparktune.ingest.json.JsonRecordReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import dev.sparktune.ingest.html.HtmlRecordReader;
import dev.sparktune.ingest.sql.SqlDumpReader;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The Spark step shared by every file source: spreads a source's files over tasks (one big file is
 * streamed by one task, never collected to the driver), runs the source's {@link RecordReader} on
 * each, and maps every unit to a record row or a reject row.
 */
final class SourceRead {
  /** Record columns of the canonical schema (without id) plus the reject columns; reason null = record. */
  static final StructType PARSED = new StructType(new StructField[] {
      DataTypes.createStructField("source", DataTypes.StringType, false),
      DataTypes.createStructField("source_type", DataTypes.StringType, false),
      DataTypes.createStructField("uri", DataTypes.StringType, false),
      DataTypes.createStructField("locator", DataTypes.StringType, false),
      DataTypes.createStructField("instruction", DataTypes.StringType, true),
      DataTypes.createStructField("input", DataTypes.StringType, true),
      DataTypes.createStructField("output", DataTypes.StringType, true),
      DataTypes.createStructField("text", DataTypes.StringType, true),
      DataTypes.createStructField("meta",
          DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType, false), false),
      DataTypes.createStructField("messages", DataTypes.createArrayType(Schemas.MESSAGE, false), true),
      DataTypes.createStructField("reason", DataTypes.StringType, true),
      DataTypes.createStructField("detail", DataTypes.StringType, true),
      DataTypes.createStructField("raw", DataTypes.StringType, true),
  });

  /** Spark rows need Scala maps. */
  private static final scala.collection.Map<String, String> EMPTY_META =
      CollectionConverters.asScala(new java.util.HashMap<String, String>());

  private SourceRead() {}

  static Dataset<Row> read(SparkSession spark, SourceConfig source, List<InputFile> files, HadoopConf conf,
      int maxSnippet) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int slices = Math.max(1, Math.min(files.size(), jsc.defaultParallelism() * 4));
    List<String> paths = files.stream().map(InputFile::path).toList();
    JavaRDD<Row> rows = jsc.parallelize(paths, slices)
        .flatMap(path -> new FileRows(source, path, conf, maxSnippet));
    return spark.createDataFrame(rows, PARSED);
  }

  /** A {@link #PARSED} row from a mapped record or a reject. */
  static Row toRow(String source, String type, String uri, String locator, Object mappedOrReject, int maxSnippet) {
    if (mappedOrReject instanceof ReadResult.Reject r) {
      return RowFactory.create(source, type, uri, r.locator(), null, null, null, null, EMPTY_META, null,
          r.reason(), r.detail(), TextInput.snippet(r.raw(), maxSnippet));
    }
    RecordMapper.Mapped m = (RecordMapper.Mapped) mappedOrReject;
    return RowFactory.create(source, type, uri, locator, m.instruction(), m.input(), m.output(), m.text(),
        CollectionConverters.asScala(m.meta()), Schemas.messagesValue(m.messages()), null, null, null);
  }

  /** Opens a source's reader on one file's (decompressed) bytes. */
  static RecordReader open(SourceConfig source, InputStream bytes) throws IOException {
    return switch (source.type()) {
      case CSV -> {
        SourceConfig.CsvOptions o = source.csv();
        yield new CsvRecordReader(TextInput.decode(bytes, Charset.forName(o.encoding())), o.delimiterChar(),
            o.quoteChar(), o.escapeChar(), o.commentChar(), o.header(), o.columns(), o.maxRecordChars());
      }
      case JSON -> new JsonRecordReader(TextInput.decode(bytes, Charset.forName(source.json().encoding())),
          JsonRecordReader.Layout.valueOf(source.json().format().name()));
      case HTML -> {
        SourceConfig.HtmlOptions o = source.html();
        yield new HtmlRecordReader(bytes, o.mode() == SourceConfig.HtmlOptions.HtmlMode.MAIN_TEXT, o.record(),
            o.selectors(), o.maxPageBytes());
      }
      case SQL -> {
        SourceConfig.SqlOptions o = source.sql();
        yield new SqlDumpReader(TextInput.decode(bytes, Charset.forName(o.encoding())), o.table(),
            SqlDumpReader.Dialect.valueOf(o.dialect().name()), o.columns(), o.maxStatementChars());
      }
      case JDBC -> throw new IllegalArgumentException("a jdbc source has no files");
    };
  }

  /** The rows of one file; an I/O failure becomes one reject row that says where reading stopped. */
  private static final class FileRows implements Iterator<Row> {
    private final SourceConfig source;
    private final String uri;
    private final String type;
    private final HadoopConf conf;
    private final int maxSnippet;
    private final RecordMapper mapper;
    private RecordReader reader;
    private Row next;
    private boolean finished;
    private String lastLocator;

    FileRows(SourceConfig source, String uri, HadoopConf conf, int maxSnippet) {
      this.source = source;
      this.uri = uri;
      this.type = source.type().name().toLowerCase(Locale.ROOT);
      this.conf = conf;
      this.maxSnippet = maxSnippet;
      this.mapper = new RecordMapper(source.fields(), source.meta(), source.systemPrompt());
    }

    @Override
    public boolean hasNext() {
      if (next == null && !finished) {
        next = advance();
      }
      return next != null;
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Row r = next;
      next = null;
      return r;
    }

    private Row advance() {
      try {
        if (reader == null) {
          InputStream bytes = TextInput.open(new Path(uri), conf.get());
          try {
            reader = open(source, bytes);
          } catch (IOException | RuntimeException e) {
            bytes.close();
            throw e;
          }
          TaskContext task = TaskContext.get();
          if (task != null) {
            task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> closeQuietly());
          }
        }
        if (!reader.hasNext()) {
          finish();
          return null;
        }
        ReadResult unit = reader.next();
        lastLocator = unit.locator();
        Object mapped = unit instanceof ReadResult.Fields f ? mapper.map(f) : unit;
        return toRow(source.name(), type, uri, unit.locator(), mapped, maxSnippet);
      } catch (IOException | RuntimeException e) {
        finish();
        String where = lastLocator == null ? "file" : "after:" + lastLocator;
        String cause = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        String detail = (lastLocator == null ? "cannot read file: "
            : "reading stopped after " + lastLocator + ", the rest of the file was not read: ") + cause;
        return toRow(source.name(), type, uri, where, new ReadResult.Reject(where, "io_error", detail, null),
            maxSnippet);
      }
    }

    private void finish() {
      finished = true;
      closeQuietly();
    }

    private void closeQuietly() {
      if (reader != null) {
        try {
          reader.close();
        } catch (IOException ignored) {
          // nothing more is read from it
        }
      }
    }
  }
}
