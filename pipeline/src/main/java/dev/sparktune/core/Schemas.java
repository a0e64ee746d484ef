package dev.sparktune.core;

import static org.apache.spark.sql.functions.col;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** The table schemas stages share. */
public final class Schemas {
  private Schemas() {}

  private static StructField string(String name, boolean nullable) {
    return DataTypes.createStructField(name, DataTypes.StringType, nullable);
  }

  /**
   * The canonical record: provenance, then either instruction-shaped fields or plain {@code text}.
   * {@code id} is a content hash, so exact duplicates share it until the clean stage removes them.
   */
  public static final StructType RECORD = new StructType(new StructField[] {
      string("id", false),
      string("source", false),
      string("source_type", false),
      string("uri", false),
      string("locator", false),
      string("instruction", true),
      string("input", true),
      string("output", true),
      string("text", true),
      DataTypes.createStructField("meta",
          DataTypes.createMapType(DataTypes.StringType, DataTypes.StringType, false), false),
  });

  /** A record with the cluster it was assigned to and its distance to that cluster's centroid. */
  public static final StructType CLUSTERED = RECORD
      .add("cluster_id", DataTypes.IntegerType, false)
      .add("centroid_distance", DataTypes.DoubleType, true);

  /** A tokenized example: its split, ids and labels (the attention mask is all ones: no padding). */
  public static final StructType TOKENIZED = new StructType(new StructField[] {
      string("id", false),
      string("source", false),
      string("split", false),
      DataTypes.createStructField("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
      DataTypes.createStructField("labels", DataTypes.createArrayType(DataTypes.LongType, false), false),
      DataTypes.createStructField("num_tokens", DataTypes.IntegerType, false),
      DataTypes.createStructField("truncated", DataTypes.BooleanType, false),
  });

  /** Input that could not be read: where it was, why, and the start of it. */
  public static final StructType REJECT = new StructType(new StructField[] {
      string("source", false),
      string("source_type", false),
      string("uri", false),
      string("locator", false),
      string("reason", false),
      string("detail", false),
      string("raw", true),
  });

  /** The columns of {@link #RECORD}, in order, for a select. */
  public static Column[] recordColumns() {
    String[] names = RECORD.fieldNames();
    Column[] out = new Column[names.length];
    for (int i = 0; i < names.length; i++) {
      out[i] = col(names[i]);
    }
    return out;
  }

  /** The record columns followed by {@code reason} and {@code detail}: a row of a {@code dropped} table. */
  public static Column[] droppedColumns(Column reason, Column detail) {
    return withColumns(recordColumns(), reason.as("reason"), detail.as("detail"));
  }

  /** {@code first} followed by {@code more}. */
  public static Column[] withColumns(Column[] first, Column... more) {
    Column[] out = new Column[first.length + more.length];
    System.arraycopy(first, 0, out, 0, first.length);
    System.arraycopy(more, 0, out, first.length, more.length);
    return out;
  }
}
