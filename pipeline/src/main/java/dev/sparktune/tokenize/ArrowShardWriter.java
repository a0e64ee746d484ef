package dev.sparktune.tokenize;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Writes tokenized examples as one Arrow IPC <em>stream</em> (the format Hugging Face
 * {@code datasets} reads; it cannot read the IPC file format), with the columns and types
 * {@code datasets} itself writes: {@code input_ids} list&lt;int32&gt;, {@code attention_mask}
 * list&lt;int8&gt;, {@code labels} list&lt;int64&gt;, {@code id} string, {@code num_tokens} int32, and
 * the {@code huggingface} schema metadata that carries the features.
 */
public final class ArrowShardWriter {
  /** One example of a shard; {@code positionIds} only in packed datasets (restarting at 0 per example). */
  public record Example(String id, long[] inputIds, long[] labels, long[] positionIds) {
    public Example(String id, long[] inputIds, long[] labels) {
      this(id, inputIds, labels, null);
    }
  }

  static final int BATCH_ROWS = 1000;

  /** The features as {@code datasets} describes them (dataset_info.json and the schema metadata). */
  public static final String FEATURES_JSON = "{\"input_ids\": {\"feature\": {\"dtype\": \"int32\", \"_type\": \"Value\"}, "
      + "\"_type\": \"Sequence\"}, \"attention_mask\": {\"feature\": {\"dtype\": \"int8\", \"_type\": \"Value\"}, "
      + "\"_type\": \"Sequence\"}, \"labels\": {\"feature\": {\"dtype\": \"int64\", \"_type\": \"Value\"}, "
      + "\"_type\": \"Sequence\"}, \"id\": {\"dtype\": \"string\", \"_type\": \"Value\"}, "
      + "\"num_tokens\": {\"dtype\": \"int32\", \"_type\": \"Value\"}}";

  private ArrowShardWriter() {}

  private static Field list(String name, ArrowType element) {
    return new Field(name, FieldType.nullable(ArrowType.List.INSTANCE),
        List.of(new Field("item", FieldType.nullable(element), null)));
  }

  /** The features with {@code position_ids}, for packed datasets. */
  public static final String PACKED_FEATURES_JSON = FEATURES_JSON.substring(0, FEATURES_JSON.length() - 1)
      + ", \"position_ids\": {\"feature\": {\"dtype\": \"int32\", \"_type\": \"Value\"}, \"_type\": \"Sequence\"}}";

  static Schema schema(boolean packed) {
    List<Field> fields = new java.util.ArrayList<>(List.of(
        list("input_ids", new ArrowType.Int(32, true)),
        list("attention_mask", new ArrowType.Int(8, true)),
        list("labels", new ArrowType.Int(64, true)),
        new Field("id", FieldType.nullable(ArrowType.Utf8.INSTANCE), null),
        new Field("num_tokens", FieldType.nullable(new ArrowType.Int(32, true)), null)));
    if (packed) {
      fields.add(list("position_ids", new ArrowType.Int(32, true)));
    }
    return new Schema(fields, Map.of("huggingface", "{\"info\": {\"features\": "
        + (packed ? PACKED_FEATURES_JSON : FEATURES_JSON) + "}}"));
  }

  /** Writes all examples to {@code out} (not closed); returns the number written. */
  public static long write(Iterator<Example> examples, OutputStream out) throws IOException {
    return write(examples, out, false);
  }

  /** As {@link #write(Iterator, OutputStream)}; {@code packed} adds the position_ids column. */
  public static long write(Iterator<Example> examples, OutputStream out, boolean packed) throws IOException {
    long n = 0;
    try (BufferAllocator allocator = new RootAllocator();
        VectorSchemaRoot root = VectorSchemaRoot.create(schema(packed), allocator);
        ArrowStreamWriter writer = new ArrowStreamWriter(root, null, Channels.newChannel(out))) {
      writer.start();
      ListVector ids = (ListVector) root.getVector("input_ids");
      ListVector mask = (ListVector) root.getVector("attention_mask");
      ListVector labels = (ListVector) root.getVector("labels");
      VarCharVector idCol = (VarCharVector) root.getVector("id");
      IntVector numTokens = (IntVector) root.getVector("num_tokens");
      int row = 0;
      UnionListWriter idsWriter = ids.getWriter();
      UnionListWriter maskWriter = mask.getWriter();
      UnionListWriter labelsWriter = labels.getWriter();
      ListVector positions = packed ? (ListVector) root.getVector("position_ids") : null;
      UnionListWriter positionsWriter = packed ? positions.getWriter() : null;
      while (examples.hasNext()) {
        Example e = examples.next();
        writeInts(idsWriter, row, e.inputIds());
        maskWriter.setPosition(row);
        maskWriter.startList();
        for (int i = 0; i < e.inputIds().length; i++) {
          maskWriter.writeTinyInt((byte) 1);
        }
        maskWriter.endList();
        labelsWriter.setPosition(row);
        labelsWriter.startList();
        for (long v : e.labels()) {
          labelsWriter.writeBigInt(v);
        }
        labelsWriter.endList();
        if (packed) {
          writeInts(positionsWriter, row, e.positionIds());
        }
        idCol.setSafe(row, e.id().getBytes(StandardCharsets.UTF_8));
        numTokens.setSafe(row, e.inputIds().length);
        row++;
        n++;
        if (row == BATCH_ROWS) {
          flush(root, writer, row);
          row = 0;
          idsWriter = ids.getWriter();
          maskWriter = mask.getWriter();
          labelsWriter = labels.getWriter();
          positionsWriter = packed ? positions.getWriter() : null;
        }
      }
      if (row > 0 || n == 0) {
        flush(root, writer, row);
      }
      writer.end();
    }
    return n;
  }

  /** Row {@code row} of an int32 list column. */
  private static void writeInts(UnionListWriter writer, int row, long[] values) {
    writer.setPosition(row);
    writer.startList();
    for (long v : values) {
      writer.writeInt((int) v);
    }
    writer.endList();
  }

  private static void flush(VectorSchemaRoot root, ArrowStreamWriter writer, int rows) throws IOException {
    for (String list : new String[] {"input_ids", "attention_mask", "labels", "position_ids"}) {
      if (root.getVector(list) != null) {
        ((ListVector) root.getVector(list)).setValueCount(rows);
      }
    }
    root.getVector("id").setValueCount(rows);
    root.getVector("num_tokens").setValueCount(rows);
    root.setRowCount(rows);
    writer.writeBatch();
    root.clear();
    root.allocateNew();
  }
}
