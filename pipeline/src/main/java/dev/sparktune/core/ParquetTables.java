package dev.sparktune.core;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Writes a stage's table as Parquet. A table whose only lists are lists of non-null numbers (the
 * tokenize stage's input ids and labels) is written in Parquet's two-level list form: each list is
 * one repeated number field, where Spark's standard form wraps every element in a repeated group,
 * which its writer pays for per element (a group started and ended, its fields marked and checked:
 * ~1.5 s of a 200,000-record tokenize stage, 56.7 M ids and as many labels). Both forms read as the
 * same {@code list<int32>} in Spark, pyarrow and Hugging Face {@code datasets} (the Parquet format's
 * backward-compatibility rules for lists); the list's child field is named {@code array} instead of
 * {@code element}. The two-level form is Spark's legacy Parquet format
 * ({@code spark.sql.parquet.writeLegacyFormat}), which also changes how decimals, maps and lists of
 * anything else are written, so any table with one of those keeps the standard form; and where the
 * user sets that property, their choice holds for every table.
 */
public final class ParquetTables {
  static final String LEGACY_FORMAT = "spark.sql.parquet.writeLegacyFormat";
  /** Where Spark keeps a table's schema in each Parquet file's footer (ParquetReadSupport's key). */
  static final String SPARK_SCHEMA_KEY = "org.apache.spark.sql.parquet.row.metadata";

  private ParquetTables() {}

  /**
   * A Parquet table written by Spark, read with the schema that its first file's footer records.
   * {@code spark.read().parquet(path)} finds the same schema with a Spark job of its own (to read
   * footers in parallel, even for one file): a job per table read, ~0.1 s each between a run's
   * stages and in its report. Tables without that footer entry, and sessions that merge schemas,
   * are read as Spark reads them.
   */
  public static Dataset<Row> read(SparkSession spark, String path) {
    StructType schema = footerSchema(spark, path);
    return schema == null ? spark.read().parquet(path) : spark.read().schema(schema).parquet(path);
  }

  /** The Spark schema in the footer of the table's first data file, or null (then Spark infers it). */
  static StructType footerSchema(SparkSession spark, String path) {
    if (Boolean.parseBoolean(spark.conf().get("spark.sql.parquet.mergeSchema", "false"))) {
      return null;
    }
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    try {
      Path dir = new Path(path);
      FileStatus first = null;
      for (FileStatus f : dir.getFileSystem(conf).listStatus(dir)) {
        String name = f.getPath().getName();
        if (f.isFile() && !name.startsWith("_") && !name.startsWith(".")
            && (first == null || name.compareTo(first.getPath().getName()) < 0)) {
          first = f;
        }
      }
      if (first == null) {
        return null;
      }
      try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromStatus(first, conf))) {
        String json = reader.getFooter().getFileMetaData().getKeyValueMetaData().get(SPARK_SCHEMA_KEY);
        return json != null && DataType.fromJson(json) instanceof StructType schema ? schema : null;
      }
    } catch (IOException | RuntimeException e) {
      return null; // Spark's own read then says what is wrong with the table
    }
  }

  /**
   * The record columns whose values are nearly all distinct (ids, locators, the texts), by their
   * Parquet paths: written without a dictionary. Parquet's writer otherwise hashes every value into a
   * dictionary until it outgrows its page and then writes them plain anyway, ~15 % of the clean
   * stage's data write on the 200,000-record corpus (docs/benchmarks.md, nineteenth session). Columns
   * with few distinct values (source, uri, roles, reasons) keep it.
   */
  static final java.util.List<String> NO_DICTIONARY = java.util.List.of("id", "locator", "instruction", "input",
      "output", "text", "messages.list.element.content");

  /** parquet-mr's setting for dictionary encoding; {@code #path} after it sets it for one column. */
  static final String DICTIONARY = "parquet.enable.dictionary";

  /** Writes {@code table} to {@code path}, which must not exist yet. */
  static void write(Dataset<Row> table, String path) {
    SparkSession spark = table.sparkSession();
    DataFrameWriter<Row> writer = table.write().mode(SaveMode.ErrorIfExists);
    for (String column : NO_DICTIONARY) {
      writer.option(DICTIONARY + "#" + column, "false");
    }
    if (numberListsOnly(table.schema()) && !spark.conf().getAll().contains(LEGACY_FORMAT)) {
      // Read when the write is planned, on this thread.
      Sessions.withSetting(spark, LEGACY_FORMAT, "true", () -> {
        writer.parquet(path);
        return path;
      });
    } else {
      writer.parquet(path);
    }
  }

  /**
   * True when the schema has at least one list, every list is of non-null numbers (not decimals),
   * and there are no decimals, maps or nested structs, whose Parquet form the legacy format would
   * also change.
   */
  static boolean numberListsOnly(StructType schema) {
    boolean lists = false;
    for (StructField field : schema.fields()) {
      DataType type = field.dataType();
      if (type instanceof ArrayType array) {
        DataType element = array.elementType();
        if (array.containsNull() || !(element instanceof NumericType) || element instanceof DecimalType) {
          return false;
        }
        lists = true;
      } else if (type instanceof StructType || type instanceof MapType || type instanceof DecimalType) {
        return false;
      }
    }
    return lists;
  }
}
