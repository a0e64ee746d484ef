package dev.sparktune.cluster;

import static dev.sparktune.cluster.ClusterStage.NO_TERMS;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Streams one partition sorted by (cluster, distance, id): keeps a record unless its cosine
 * similarity to a record already kept in the same cluster reaches the threshold. Only the kept
 * vectors of the current cluster are held, as an inverted index (term to the kept records that have
 * it, with their weights), never a pairwise matrix.
 *
 * <p>A record's similarity to every kept record is accumulated term by term through that index, in
 * ascending term order, so each sum adds the same products in the same order as a dot product over
 * the shared terms would: the results are bit for bit those of comparing with each kept vector in
 * turn ({@code SemanticDedupTest}), at the cost of the postings touched instead of all pairs.
 */
final class SemanticDedup implements Iterator<Row> {
  private final Iterator<Row> rows;
  private final int featuresIndex;
  private final int clusterIndex;
  private final int idIndex;
  private final double minSimilarity;
  private final List<String> keptIds = new ArrayList<>();
  /** Per term: the kept records (positions in keptIds) that have it, and their weights. */
  private int[][] postingRecords = new int[0][];
  private double[][] postingWeights = new double[0][];
  private int[] postingSizes = new int[0];
  private int[] touchedTerms = new int[16];
  private int touched;
  private double[] similarities = new double[16];
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
      clear();
    }
    Vector v = r.getAs(featuresIndex);
    int[] terms;
    double[] weights;
    if (v instanceof SparseVector sv) {
      terms = sv.indices();
      weights = sv.values();
    } else {
      weights = v.toArray();
      terms = new int[weights.length];
      for (int t = 0; t < terms.length; t++) {
        terms[t] = t;
      }
    }
    String dupOf = null;
    double best = -1;
    if (c != NO_TERMS) {
      int kept = keptIds.size();
      Arrays.fill(similarities, 0, kept, 0.0);
      for (int i = 0; i < terms.length; i++) {
        int t = terms[i];
        if (t < postingSizes.length) {
          int[] records = postingRecords[t];
          double[] w = postingWeights[t];
          double x = weights[i];
          for (int p = 0, n = postingSizes[t]; p < n; p++) {
            similarities[records[p]] += x * w[p];
          }
        }
      }
      for (int i = 0; i < kept; i++) {
        double sim = similarities[i];
        if (sim > best) {
          best = sim;
          if (sim >= minSimilarity) {
            dupOf = keptIds.get(i);
          }
        }
      }
    }
    if (dupOf == null) {
      keep(r.getString(idIndex), terms, weights);
    }
    Object[] values = new Object[r.length() + 2];
    for (int i = 0; i < r.length(); i++) {
      values[i] = r.get(i);
    }
    values[r.length()] = dupOf;
    values[r.length() + 1] = dupOf == null ? null : best;
    return RowFactory.create(values);
  }

  private void keep(String id, int[] terms, double[] weights) {
    int record = keptIds.size();
    keptIds.add(id);
    if (record == similarities.length) {
      similarities = Arrays.copyOf(similarities, record * 2);
    }
    for (int i = 0; i < terms.length; i++) {
      int t = terms[i];
      if (weights[i] == 0.0) {
        continue; // adds nothing to any similarity
      }
      if (t >= postingSizes.length) {
        int size = Math.max(t + 1, postingSizes.length * 2);
        postingRecords = Arrays.copyOf(postingRecords, size);
        postingWeights = Arrays.copyOf(postingWeights, size);
        postingSizes = Arrays.copyOf(postingSizes, size);
      }
      int n = postingSizes[t];
      if (n == 0) {
        if (touched == touchedTerms.length) {
          touchedTerms = Arrays.copyOf(touchedTerms, touched * 2);
        }
        touchedTerms[touched++] = t;
        if (postingRecords[t] == null) {
          postingRecords[t] = new int[4];
          postingWeights[t] = new double[4];
        }
      } else if (n == postingRecords[t].length) {
        postingRecords[t] = Arrays.copyOf(postingRecords[t], n * 2);
        postingWeights[t] = Arrays.copyOf(postingWeights[t], n * 2);
      }
      postingRecords[t][n] = record;
      postingWeights[t][n] = weights[i];
      postingSizes[t] = n + 1;
    }
  }

  /** Empties the index for the next cluster (the posting arrays stay allocated). */
  private void clear() {
    keptIds.clear();
    for (int i = 0; i < touched; i++) {
      postingSizes[touchedTerms[i]] = 0;
    }
    touched = 0;
  }
}
