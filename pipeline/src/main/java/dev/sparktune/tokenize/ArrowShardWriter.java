package dev.sparktune.tokenize;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BitVectorHelper;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
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
  /**
   * One example of a shard; {@code positionIds} only in packed datasets (restarting at 0 per example).
   * Token ids, labels (-100 or a token id) and positions all fit an int; the int64 labels column is
   * widened as it is filled.
   */
  public record Example(String id, int[] inputIds, int[] labels, int[] positionIds) {
    public Example(String id, int[] inputIds, int[] labels) {
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
      List<Example> batch = new ArrayList<>(BATCH_ROWS);
      while (examples.hasNext()) {
        batch.add(examples.next());
        if (batch.size() == BATCH_ROWS) {
          n += writeBatch(root, writer, batch, packed);
        }
      }
      if (!batch.isEmpty() || n == 0) {
        n += writeBatch(root, writer, batch, packed);
      }
      writer.end();
    }
    return n;
  }

  /**
   * One record batch. The list columns are filled straight into their buffers, sized once per batch
   * (Arrow's list writers resolve a writer and check the capacity per value, which took longer than
   * the rest of the Arrow pass).
   */
  private static int writeBatch(VectorSchemaRoot root, ArrowStreamWriter writer, List<Example> batch, boolean packed)
      throws IOException {
    int rows = batch.size();
    root.clear();
    root.allocateNew();
    fill((ListVector) root.getVector("input_ids"), batch, Example::inputIds);
    fill((ListVector) root.getVector("attention_mask"), batch, e -> null);
    fill((ListVector) root.getVector("labels"), batch, Example::labels);
    if (packed) {
      fill((ListVector) root.getVector("position_ids"), batch, Example::positionIds);
    }
    VarCharVector idCol = (VarCharVector) root.getVector("id");
    IntVector numTokens = (IntVector) root.getVector("num_tokens");
    for (int row = 0; row < rows; row++) {
      Example e = batch.get(row);
      idCol.setSafe(row, e.id().getBytes(StandardCharsets.UTF_8));
      numTokens.setSafe(row, e.inputIds().length);
    }
    idCol.setValueCount(rows);
    numTokens.setValueCount(rows);
    root.setRowCount(rows);
    writer.writeBatch();
    batch.clear();
    return rows;
  }

  /**
   * Fills a list column with each example's values; a null from {@code values} is the attention
   * mask: a 1 per input id. The values go through one native-order view of the data buffer and the
   * validity bits are set a byte at a time (what {@code IntVector.set} does a value at a time, with a
   * bounds check and a bit update for each).
   */
  private static void fill(ListVector list, List<Example> batch, Function<Example, int[]> values) {
    int total = 0;
    for (Example e : batch) {
      int[] v = values.apply(e);
      total += v == null ? e.inputIds().length : v.length;
    }
    BaseFixedWidthVector data = (BaseFixedWidthVector) list.getDataVector();
    data.allocateNew(Math.max(total, 1));
    int width = data.getTypeWidth(); // 4: input ids, 8: labels, 1: the attention mask
    java.nio.ByteBuffer out = data.getDataBuffer().nioBuffer(0, Math.max(total, 1) * width)
        .order(java.nio.ByteOrder.nativeOrder());
    java.nio.IntBuffer ints = width == 4 ? out.asIntBuffer() : null;
    java.nio.LongBuffer longs = width == 8 ? out.asLongBuffer() : null;
    int at = 0;
    for (int row = 0; row < batch.size(); row++) {
      Example e = batch.get(row);
      int[] v = values.apply(e);
      int size = v == null ? e.inputIds().length : v.length;
      list.startNewValue(row);
      if (ints != null) {
        ints.put(at, v, 0, size);
      } else if (longs != null) {
        for (int k = 0; k < size; k++) {
          longs.put(at + k, v[k]);
        }
      } else {
        for (int k = 0; k < size; k++) {
          out.put(at + k, (byte) 1);
        }
      }
      list.endValue(row, size);
      at += size;
    }
    setValid(data.getValidityBuffer(), total);
    list.setValueCount(batch.size());
  }

  /** Sets the first {@code n} bits of a validity buffer: whole bytes at once, then the last few bits. */
  private static void setValid(ArrowBuf validity, int n) {
    validity.setOne(0L, (long) (n / 8));
    for (int bit = n / 8 * 8; bit < n; bit++) {
      BitVectorHelper.setBit(validity, bit);
    }
  }
}
