package dev.sparktune.core;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.BoundReference;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.columnar.CachedBatch;
import org.apache.spark.sql.columnar.CachedBatchSerializer;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.unsafe.Platform;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction2;

/**
 * How cached tables ({@code Dataset.persist}) hold their rows on local masters: each batch keeps its
 * rows in Spark's own binary row format ({@link UnsafeRow}), back to back in one byte array, and a
 * row is read back by pointing a row at its bytes. Spark's default format turns every batch into
 * columns (a builder and statistics per column, per value) and reads them back through a class it
 * generates and compiles for each set of column types a scan reads, which a run's short stages pay
 * for in CPU (a 200k-corpus run: 43 C2 compilations of those classes' methods, after Janino's).
 * This format copies each row once in and hands it out without a copy when every column is read (a
 * projection of the columns read otherwise). Batches have at most {@code spark.sql.inMemoryColumnarStorage.batchSize}
 * rows and about {@link #MAX_BATCH_BYTES} bytes, as Spark's own; they carry no column statistics, so a
 * filter over a cached table reads every batch (Spark's default can skip a batch by its min/max).
 * Spark's {@code spark.sql.cache.serializer} names the format: {@link Sessions} sets this one for
 * local masters unless it is set.
 */
public final class RowBatchSerializer implements CachedBatchSerializer {
  private static final long serialVersionUID = 1L;
  /** A batch ends at this many bytes (Spark's default format: 4 MB, ColumnBuilder.MAX_BATCH_SIZE_IN_BYTES). */
  static final int MAX_BATCH_BYTES = 4 << 20;

  /** One batch: the rows' bytes back to back; row {@code i} ends at {@code ends[i]}. */
  static final class RowBatch implements CachedBatch, Serializable {
    private static final long serialVersionUID = 1L;
    final byte[] bytes;
    final int[] ends;

    RowBatch(byte[] bytes, int[] ends) {
      this.bytes = bytes;
      this.ends = ends;
    }

    @Override
    public int numRows() {
      return ends.length;
    }

    @Override
    public long sizeInBytes() {
      return bytes.length + 4L * ends.length;
    }
  }

  @Override
  public boolean supportsColumnarInput(Seq<Attribute> schema) {
    return false;
  }

  @Override
  public RDD<CachedBatch> convertColumnarBatchToCachedBatch(RDD<ColumnarBatch> input, Seq<Attribute> schema,
      StorageLevel storageLevel, SQLConf conf) {
    throw new UnsupportedOperationException("RowBatchSerializer takes rows, not columnar batches");
  }

  @Override
  public RDD<CachedBatch> convertInternalRowToCachedBatch(RDD<InternalRow> input, Seq<Attribute> schema,
      StorageLevel storageLevel, SQLConf conf) {
    int batchRows = conf.columnBatchSize();
    DataType[] types = types(schema);
    FlatMapFunction<Iterator<InternalRow>, CachedBatch> pack = rows -> new Packer(rows, types, batchRows);
    return input.toJavaRDD().mapPartitions(pack).rdd();
  }

  @Override
  public scala.Function2<Object, scala.collection.Iterator<CachedBatch>, scala.collection.Iterator<CachedBatch>>
      buildFilter(Seq<Expression> predicates, Seq<Attribute> cachedAttributes) {
    return new AllBatches();
  }

  @Override
  public boolean supportsColumnarOutput(StructType schema) {
    return false;
  }

  @Override
  public RDD<ColumnarBatch> convertCachedBatchToColumnarBatch(RDD<CachedBatch> input, Seq<Attribute> cacheAttributes,
      Seq<Attribute> selectedAttributes, SQLConf conf) {
    throw new UnsupportedOperationException("RowBatchSerializer gives rows, not columnar batches");
  }

  @Override
  public RDD<InternalRow> convertCachedBatchToInternalRow(RDD<CachedBatch> input, Seq<Attribute> cacheAttributes,
      Seq<Attribute> selectedAttributes, SQLConf conf) {
    List<Attribute> cached = CollectionConverters.asJava(cacheAttributes);
    List<Attribute> selected = CollectionConverters.asJava(selectedAttributes);
    int fields = cached.size();
    List<Expression> columns = new ArrayList<>();
    boolean all = selected.size() == fields;
    for (int i = 0; i < selected.size(); i++) {
      Attribute a = selected.get(i);
      int ordinal = indexOf(cached, a);
      columns.add(new BoundReference(ordinal, a.dataType(), a.nullable()));
      all &= ordinal == i;
    }
    // The columns a scan reads, when not all of them in order (projected on the executors).
    Seq<Expression> some = all ? null : CollectionConverters.asScala(columns).toSeq();
    FlatMapFunction<Iterator<CachedBatch>, InternalRow> unpack = batches -> new Unpacker(batches, fields, some);
    return input.toJavaRDD().mapPartitions(unpack).rdd();
  }

  private static int indexOf(List<Attribute> cached, Attribute a) {
    for (int i = 0; i < cached.size(); i++) {
      if (cached.get(i).exprId().equals(a.exprId())) {
        return i;
      }
    }
    throw new IllegalArgumentException("column " + a.name() + " is not in the cached table " + cached);
  }

  private static DataType[] types(Seq<Attribute> schema) {
    List<Attribute> attributes = CollectionConverters.asJava(schema);
    DataType[] types = new DataType[attributes.size()];
    for (int i = 0; i < types.length; i++) {
      types[i] = attributes.get(i).dataType();
    }
    return types;
  }

  /** Rows in, batches out: each row's bytes copied once (rows of another kind made binary first). */
  private static final class Packer implements Iterator<CachedBatch> {
    private final Iterator<InternalRow> rows;
    private final DataType[] types;
    private final int batchRows;
    private UnsafeProjection toUnsafe;
    private byte[] buffer = new byte[64 << 10];
    private int[] ends = new int[256];

    Packer(Iterator<InternalRow> rows, DataType[] types, int batchRows) {
      this.rows = rows;
      this.types = types;
      this.batchRows = batchRows;
    }

    @Override
    public boolean hasNext() {
      return rows.hasNext();
    }

    @Override
    public CachedBatch next() {
      if (!rows.hasNext()) {
        throw new NoSuchElementException();
      }
      int n = 0;
      int size = 0;
      while (n < batchRows && size < MAX_BATCH_BYTES && rows.hasNext()) {
        UnsafeRow row = unsafe(rows.next());
        int length = row.getSizeInBytes();
        if (size + length > buffer.length) {
          buffer = Arrays.copyOf(buffer, Math.max(size + length, 2 * buffer.length));
        }
        row.writeToMemory(buffer, Platform.BYTE_ARRAY_OFFSET + size);
        size += length;
        if (n == ends.length) {
          ends = Arrays.copyOf(ends, 2 * n);
        }
        ends[n++] = size;
      }
      return new RowBatch(Arrays.copyOf(buffer, size), Arrays.copyOf(ends, n));
    }

    private UnsafeRow unsafe(InternalRow row) {
      if (row instanceof UnsafeRow u) {
        return u;
      }
      if (toUnsafe == null) {
        toUnsafe = UnsafeProjection.create(types);
      }
      return toUnsafe.apply(row);
    }
  }

  /** Batches in, rows out: one row object pointed at each row's bytes in turn (projected when needed). */
  private static final class Unpacker implements Iterator<InternalRow> {
    private final Iterator<CachedBatch> batches;
    private final UnsafeRow row;
    private final UnsafeProjection projection;
    private RowBatch batch;
    private int next;

    Unpacker(Iterator<CachedBatch> batches, int fields, Seq<Expression> columns) {
      this.batches = batches;
      this.row = new UnsafeRow(fields);
      this.projection = columns == null ? null : UnsafeProjection.create(columns);
    }

    @Override
    public boolean hasNext() {
      while (batch == null || next == batch.ends.length) {
        if (!batches.hasNext()) {
          return false;
        }
        batch = (RowBatch) batches.next();
        next = 0;
      }
      return true;
    }

    @Override
    public InternalRow next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      int start = next == 0 ? 0 : batch.ends[next - 1];
      row.pointTo(batch.bytes, Platform.BYTE_ARRAY_OFFSET + start, batch.ends[next] - start);
      next++;
      return projection == null ? row : projection.apply(row);
    }
  }

  /** Every batch: these batches carry no statistics to rule one out by. */
  private static final class AllBatches extends AbstractFunction2<Object, scala.collection.Iterator<CachedBatch>,
      scala.collection.Iterator<CachedBatch>> implements Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public scala.collection.Iterator<CachedBatch> apply(Object partition, scala.collection.Iterator<CachedBatch> batches) {
      return batches;
    }
  }
}
