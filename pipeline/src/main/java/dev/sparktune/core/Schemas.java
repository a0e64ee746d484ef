package dev.sparktune.core;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/** The table schemas stages share. */
public final class Schemas {
  private Schemas() {}

  private static StructField string(String name, boolean nullable) {
    return DataTypes.createStructField(name, DataTypes.StringType, nullable);
  }

  /** One message of a conversation: role and content. */
  public static final StructType MESSAGE = new StructType(new StructField[] {
      string("role", true),
      string("content", true),
  });

  /** The turns of a conversation's {@code role} joined by newlines, as a SQL expression (null: not one). */
  public static String turnsSql(String role) {
    return "array_join(transform(filter(messages, m -> m.role = '" + role + "'), m -> m.content), '\\n')";
  }

  /**
   * The canonical record: provenance, then instruction-shaped fields, plain {@code text}, or a
   * conversation ({@code messages}, the other content fields null). {@code id} is a content hash, so
   * exact duplicates share it until the clean stage removes them.
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
      DataTypes.createStructField("messages", DataTypes.createArrayType(MESSAGE, false), true),
  });

  /** The column index of {@code messages} in {@link #RECORD}. */
  public static final int MESSAGES = 10;

  /** A conversation's messages as Spark rows (null stays null). */
  public static Object messagesValue(List<ChatMessage> messages) {
    if (messages == null) {
      return null;
    }
    List<Row> rows = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      rows.add(RowFactory.create(m.role(), m.content()));
    }
    return CollectionConverters.asScala(rows).toSeq();
  }

  /** The messages of a record row's {@code messages} value (null for a record that is not a conversation). */
  public static List<ChatMessage> messagesOf(Row record, int index) {
    if (record.isNullAt(index)) {
      return null;
    }
    List<Row> rows = record.getList(index);
    List<ChatMessage> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      out.add(new ChatMessage(r.getString(0), r.getString(1)));
    }
    return out;
  }

  /** A record with the cluster it was assigned to and its distance to that cluster's centroid. */
  public static final StructType CLUSTERED = RECORD
      .add("cluster_id", DataTypes.IntegerType, false)
      .add("centroid_distance", DataTypes.DoubleType, true);

  /**
   * A tokenized example: its split, ids and labels (the attention mask is all ones: no padding), and
   * how many messages of a conversation were dropped to fit max_length.
   */
  public static final StructType TOKENIZED = new StructType(new StructField[] {
      string("id", false),
      string("source", false),
      string("split", false),
      DataTypes.createStructField("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
      DataTypes.createStructField("labels", DataTypes.createArrayType(DataTypes.LongType, false), false),
      DataTypes.createStructField("num_tokens", DataTypes.IntegerType, false),
      DataTypes.createStructField("truncated", DataTypes.BooleanType, false),
      DataTypes.createStructField("dropped_messages", DataTypes.IntegerType, false),
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
