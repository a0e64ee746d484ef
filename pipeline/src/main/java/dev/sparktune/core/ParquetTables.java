package dev.sparktune.core;

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
final class ParquetTables {
  static final String LEGACY_FORMAT = "spark.sql.parquet.writeLegacyFormat";

  private ParquetTables() {}

  /** Writes {@code table} to {@code path}, which must not exist yet. */
  static void write(Dataset<Row> table, String path) {
    SparkSession spark = table.sparkSession();
    DataFrameWriter<Row> writer = table.write().mode(SaveMode.ErrorIfExists);
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
