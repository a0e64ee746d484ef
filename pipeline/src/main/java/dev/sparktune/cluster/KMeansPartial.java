package dev.sparktune.cluster;

import java.io.Serializable;
import java.util.Arrays;

/**
 * What one partition contributes to an iteration: per-center sums, counts, and its cost. The sums
 * are sparse (ascending {@code center * dim + term} positions with their values): a center's sum
 * touches only the terms of its rows, a few hundred of the 2^14, so a partial is a few MB where the
 * dense k x dim array was 39 MB (k = 298) to serialize, fetch and merge per partition and iteration.
 * (One of {@link SparseKMeans}' iterations; in its own file only for size.)
 */
final class KMeansPartial implements Serializable {
  private static final long serialVersionUID = 1L;
  int[] positions;
  double[] sums;
  final long[] counts;
  double cost;

  private KMeansPartial(int[] positions, double[] sums, long[] counts, double cost) {
    this.positions = positions;
    this.sums = sums;
    this.counts = counts;
    this.cost = cost;
  }

  /**
   * The partial of one block against the centers. Rows are assigned first; then each center's rows
   * (ascending) are summed into one dense row of {@code dim} doubles that stays in cache, whose
   * non-zeros become that center's positions. Every position gets the same additions in the same
   * order (its center's rows, ascending) as in a k x dim array filled row by row, so the sums are the
   * same bit for bit, without allocating and scanning k x dim doubles (39 MB at k = 298) per iteration.
   */
  static KMeansPartial of(SparseKMeans.Block b, float[][] centersT, float[] penalty, int k, int dim, boolean cosine) {
    int rows = b.rows();
    int[] assigned = new int[rows];
    double[] scales = new double[rows];
    long[] counts = new long[k];
    double cost = 0;
    float[] acc = new float[k];
    for (int r = 0; r < rows; r++) {
      int best = SparseKMeans.nearest(b.index, b.value, b.start[r], b.start[r + 1], centersT, penalty, cosine, acc);
      float bestScore = cosine ? acc[best] : 2 * acc[best] - penalty[best];
      double norm = 0;
      for (int p = b.start[r]; p < b.start[r + 1]; p++) {
        norm += (double) b.value[p] * b.value[p];
      }
      if (cosine) {
        double len = Math.sqrt(norm);
        cost += len == 0 ? 1.0 : 1.0 - bestScore / len;
      } else {
        cost += Math.max(0, norm - bestScore);
      }
      counts[best]++;
      assigned[r] = best;
      scales[r] = cosine && norm > 0 ? 1.0 / Math.sqrt(norm) : 1.0;
    }
    return centerSums(b, assigned, scales, counts, dim, cost);
  }

  /** The partial from the rows' centers: each center's rows (ascending) summed in one dense row. */
  private static KMeansPartial centerSums(SparseKMeans.Block b, int[] assigned, double[] scales, long[] counts, int dim,
      double cost) {
    int k = counts.length;
    int rows = assigned.length;
    // The rows grouped by center, ascending within a center (a counting sort).
    int[] from = new int[k + 1];
    for (int c = 0; c < k; c++) {
      from[c + 1] = from[c] + (int) counts[c];
    }
    int[] order = new int[rows];
    int[] fill = Arrays.copyOf(from, k);
    for (int r = 0; r < rows; r++) {
      order[fill[assigned[r]]++] = r;
    }
    double[] sum = new double[dim];
    int[] positions = new int[64];
    double[] sums = new double[64];
    int n = 0;
    for (int c = 0; c < k; c++) {
      if (from[c] == from[c + 1]) {
        continue;
      }
      for (int i = from[c]; i < from[c + 1]; i++) {
        int r = order[i];
        double scale = scales[r];
        for (int p = b.start[r]; p < b.start[r + 1]; p++) {
          sum[b.index[p]] += b.value[p] * scale;
        }
      }
      // An entry left at 0 (or summed to 0) adds nothing when merged: 0.0 + x is x, bit for bit.
      for (int j = 0; j < dim; j++) {
        if (sum[j] != 0) {
          if (n == positions.length) {
            positions = Arrays.copyOf(positions, 2 * n);
            sums = Arrays.copyOf(sums, 2 * n);
          }
          positions[n] = c * dim + j;
          sums[n++] = sum[j];
        }
        sum[j] = 0;
      }
    }
    return new KMeansPartial(Arrays.copyOf(positions, n), Arrays.copyOf(sums, n), counts, cost);
  }

  /** Adds {@code o} to this partial (this side first, as the dense sum did) and returns it. */
  KMeansPartial merge(KMeansPartial o) {
    int[] p = new int[positions.length + o.positions.length];
    double[] v = new double[p.length];
    int i = 0;
    int j = 0;
    int n = 0;
    while (i < positions.length || j < o.positions.length) {
      if (j == o.positions.length || i < positions.length && positions[i] < o.positions[j]) {
        p[n] = positions[i];
        v[n++] = sums[i++];
      } else if (i == positions.length || o.positions[j] < positions[i]) {
        p[n] = o.positions[j];
        v[n++] = o.sums[j++];
      } else {
        p[n] = positions[i];
        v[n++] = sums[i++] + o.sums[j++];
      }
    }
    positions = Arrays.copyOf(p, n);
    sums = Arrays.copyOf(v, n);
    for (int c = 0; c < counts.length; c++) {
      counts[c] += o.counts[c];
    }
    cost += o.cost;
    return this;
  }

  /** Per center, the ascending terms with a sum (where its mean may be non-zero; none for an empty one). */
  int[][] supports(int k, int dim) {
    int[] n = new int[k];
    for (int p : positions) {
      n[p / dim]++;
    }
    int[][] out = new int[k][];
    for (int c = 0; c < k; c++) {
      out[c] = new int[n[c]];
    }
    int[] fill = new int[k];
    for (int p : positions) { // ascending center * dim + term: each center's terms ascending
      int c = p / dim;
      out[c][fill[c]++] = p % dim;
    }
    return out;
  }

  /**
   * Scales {@code v}, whose non-zeros all lie at {@code support} (ascending), to unit length: what
   * dividing every entry by the norm over all entries gives, bit for bit (the zeros add nothing to
   * the norm and stay themselves), without a pass over all terms.
   */
  static void normalize(float[] v, int[] support) {
    double s = 0;
    for (int j : support) {
      s += (double) v[j] * v[j];
    }
    double n = Math.sqrt(s);
    if (n > 0) {
      for (int j : support) {
        if (v[j] != 0) {
          v[j] = (float) (v[j] / n);
        }
      }
    }
  }

  /** The dot product of {@code a} and {@code b}, where {@code a}'s non-zeros all lie at {@code support} (ascending). */
  static double dot(float[] a, float[] b, int[] support) {
    double s = 0;
    for (int j : support) {
      s += (double) a[j] * b[j];
    }
    return s;
  }

  /** The means of the non-empty centers (rows of zeros for empty ones), dense. */
  float[][] centers(int k, int dim) {
    float[][] out = new float[k][dim];
    for (int i = 0; i < positions.length; i++) {
      int c = positions[i] / dim;
      out[c][positions[i] % dim] = (float) (sums[i] * (1.0 / counts[c]));
    }
    return out;
  }
}
