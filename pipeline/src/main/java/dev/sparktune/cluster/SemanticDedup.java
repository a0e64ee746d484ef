package dev.sparktune.cluster;

import static dev.sparktune.cluster.ClusterStage.NO_TERMS;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Streams one partition sorted by (cluster, distance, id): keeps a record unless its cosine
 * similarity to a record already kept in the same cluster reaches the threshold. Only the kept
 * vectors of the current cluster are held (sparse, L2-normalized), never a pairwise matrix.
 */
final class SemanticDedup implements Iterator<Row> {
  private final Iterator<Row> rows;
  private final int featuresIndex;
  private final int clusterIndex;
  private final int idIndex;
  private final double minSimilarity;
  private final List<Vector> keptVectors = new ArrayList<>();
  private final List<String> keptIds = new ArrayList<>();
  private Integer cluster;

  SemanticDedup(Iterator<Row> rows, int featuresIndex, int clusterIndex, int idIndex, double minSimilarity) {
    this.rows = rows;
    this.featuresIndex = featuresIndex;
    this.clusterIndex = clusterIndex;
    this.idIndex = idIndex;
    this.minSimilarity = minSimilarity;
  }

  @Override
  public boolean hasNext() {
    return rows.hasNext();
  }

  @Override
  public Row next() {
    Row r = rows.next();
    int c = r.getInt(clusterIndex);
    if (cluster == null || cluster != c) {
      cluster = c;
      keptVectors.clear();
      keptIds.clear();
    }
    Vector v = r.getAs(featuresIndex);
    String dupOf = null;
    double best = -1;
    if (c != NO_TERMS) {
      for (int i = 0; i < keptVectors.size(); i++) {
        double sim = dot(v, keptVectors.get(i));
        if (sim > best) {
          best = sim;
          if (sim >= minSimilarity) {
            dupOf = keptIds.get(i);
          }
        }
      }
    }
    if (dupOf == null) {
      keptVectors.add(v);
      keptIds.add(r.getString(idIndex));
    }
    Object[] values = new Object[r.length() + 2];
    for (int i = 0; i < r.length(); i++) {
      values[i] = r.get(i);
    }
    values[r.length()] = dupOf;
    values[r.length() + 1] = dupOf == null ? null : best;
    return RowFactory.create(values);
  }

  static double dot(Vector a, Vector b) {
    org.apache.spark.ml.linalg.SparseVector sa = a.toSparse();
    int[] idx = sa.indices();
    double[] val = sa.values();
    double sum = 0;
    for (int i = 0; i < idx.length; i++) {
      sum += val[i] * b.apply(idx[i]);
    }
    return sum;
  }
}
