package dev.sparktune.core;

import static dev.sparktune.core.StageRunner.DATA;
import static dev.sparktune.core.StageRunner.DROPPED;
import static dev.sparktune.core.StageRunner.REJECTS;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * A stage's tables on disk: reads the committed outputs of its upstream stages (checking the columns
 * it requires), checks the schemas of what it returns, and writes its tables into a staging folder.
 */
final class StageTables {
  private final SparkSession spark;
  private final Workspace workspace;
  private final Fingerprints fingerprints;

  /** The upstream outputs a stage reads, their fingerprints, and the first one's record count (-1 if none). */
  record Upstream(Map<String, Dataset<Row>> tables, Map<String, String> fingerprints, long records) {}

  StageTables(SparkSession spark, Workspace workspace, Fingerprints fingerprints) {
    this.spark = spark;
    this.workspace = workspace;
    this.fingerprints = fingerprints;
  }

  Upstream readUpstream(FileSystem fs, Stage stage) throws IOException {
    Map<String, String> upstreamFps = new TreeMap<>();
    Map<String, Dataset<Row>> inputs = new LinkedHashMap<>();
    long inputRecords = -1; // the first upstream's output count, for the progress line
    for (String up : stage.upstream()) {
      Manifest um = fingerprints.readManifest(up);
      Path table = workspace.table(up, DATA);
      if (um == null || !fs.exists(table)) {
        throw new IllegalStateException("needs the output of stage " + up
            + ", which does not exist yet; run `sparktune run --to " + up + "` first");
      }
      Dataset<Row> df = ParquetTables.read(spark, table.toString());
      StructType required = stage.requiredInputSchemas().get(up);
      if (required != null) {
        checkHasColumns(df.schema(), required, up + "/" + DATA);
      }
      inputs.put(up, df);
      upstreamFps.put(up, um.fingerprint());
      if (up.equals(stage.upstream().get(0))) {
        inputRecords = um.counts().out();
      }
    }
    return new Upstream(inputs, upstreamFps, inputRecords);
  }

  /** Checks the data table against the stage's declared schema, and that every loss table has a reason. */
  static void checkOutput(StageOutput output, StructType declared) {
    checkSchema(output.data().schema(), declared, "data");
    for (Map.Entry<String, Dataset<Row>> loss : losses(output).entrySet()) {
      if (!List.of(loss.getValue().columns()).contains("reason")) {
        throw new IllegalStateException("table " + loss.getKey() + " has no 'reason' column");
      }
    }
  }

  /** Writes the data, loss and extra tables into {@code staging}. */
  static void write(StageOutput output, Path staging) {
    write(output.data(), new Path(staging, DATA));
    for (Map.Entry<String, Dataset<Row>> loss : losses(output).entrySet()) {
      write(loss.getValue(), new Path(staging, loss.getKey()));
    }
    for (Map.Entry<String, Dataset<Row>> extra : output.extras().entrySet()) {
      write(extra.getValue(), new Path(staging, extra.getKey()));
    }
  }

  private static Map<String, Dataset<Row>> losses(StageOutput output) {
    Map<String, Dataset<Row>> losses = new LinkedHashMap<>();
    if (output.rejected() != null) {
      losses.put(REJECTS, output.rejected());
    }
    if (output.dropped() != null) {
      losses.put(DROPPED, output.dropped());
    }
    return losses;
  }

  /**
   * A table written under {@code staging}, read with the schema it was written with, which spares
   * Spark the job that reads a footer to learn it.
   */
  static Dataset<Row> readWritten(SparkSession spark, StageOutput output, Path staging, String table) {
    Dataset<Row> source = table.equals(DATA) ? output.data() : losses(output).containsKey(table)
        ? losses(output).get(table) : output.extras().get(table);
    String path = new Path(staging, table).toString();
    return source == null ? ParquetTables.read(spark, path) : spark.read().schema(source.schema()).parquet(path);
  }

  private static void write(Dataset<Row> table, Path path) {
    ParquetTables.write(table, path.toString());
  }

  private static void checkHasColumns(StructType actual, StructType required, String table) {
    for (StructField f : required.fields()) {
      StructField found = find(actual, f.name());
      if (found == null) {
        throw new IllegalStateException(table + " has no column '" + f.name() + "' (columns: "
            + String.join(", ", actual.fieldNames()) + ")");
      }
      if (!DataType.equalsIgnoreNullability(found.dataType(), f.dataType())) {
        throw new IllegalStateException(table + " column '" + f.name() + "' is " + found.dataType().simpleString()
            + ", expected " + f.dataType().simpleString());
      }
    }
  }

  private static void checkSchema(StructType actual, StructType declared, String table) {
    if (!DataType.equalsIgnoreNullability(actual, declared)) {
      throw new IllegalStateException("table " + table + " has schema " + actual.simpleString()
          + " but the stage declares " + declared.simpleString());
    }
  }

  private static StructField find(StructType schema, String name) {
    for (StructField f : schema.fields()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    return null;
  }
}
