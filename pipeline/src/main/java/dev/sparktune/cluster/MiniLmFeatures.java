package dev.sparktune.cluster;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.apache.spark.sql.catalyst.encoders.RowEncoder;
import org.apache.spark.sql.types.StructType;

/** Adds all-MiniLM-L6-v2 embeddings of a text column as an ML vector column. */
final class MiniLmFeatures {
  static final int BATCH = 32;

  private MiniLmFeatures() {}

  static Dataset<Row> embed(Dataset<Row> in, String textColumn, String vectorColumn) {
    StructType schema = in.schema().add(vectorColumn, SQLDataTypes.VectorType(), false);
    int textIndex = in.schema().fieldIndex(textColumn);
    MapPartitionsFunction<Row, Row> fn = rows -> new Iterator<Row>() {
      private final List<Row> pending = new ArrayList<>();
      private float[][] vectors;
      private int next;

      @Override
      public boolean hasNext() {
        if (vectors != null && next < pending.size()) {
          return true;
        }
        pending.clear();
        next = 0;
        vectors = null;
        while (pending.size() < BATCH && rows.hasNext()) {
          pending.add(rows.next());
        }
        if (pending.isEmpty()) {
          return false;
        }
        List<String> texts = new ArrayList<>(pending.size());
        for (Row r : pending) {
          texts.add(r.isNullAt(textIndex) ? "" : r.getString(textIndex));
        }
        vectors = MiniLmEmbedder.shared().embed(texts);
        return true;
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        Row r = pending.get(next);
        float[] v = vectors[next];
        next++;
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
          d[i] = v[i];
        }
        Object[] values = new Object[r.length() + 1];
        for (int i = 0; i < r.length(); i++) {
          values[i] = r.get(i);
        }
        values[r.length()] = Vectors.dense(d);
        return RowFactory.create(values);
      }
    };
    return in.mapPartitions(fn, ExpressionEncoder.apply(RowEncoder.encoderFor(schema)));
  }
}
