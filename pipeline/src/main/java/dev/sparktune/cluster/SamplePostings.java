package dev.sparktune.cluster;

import java.util.Arrays;
import java.util.List;

/**
 * The seeding sample by term: for each term, the sampled rows that hold it (ascending) with their
 * values. k-means++ measures every sampled row against each candidate center, a sampled row of a few
 * non-zeros; only the rows that share a term with it have a non-zero dot product, and these postings
 * reach them without a pass over every row's non-zeros. Read-only once built: the seedings share it.
 */
final class SamplePostings {
  private final int[] start;
  private final int[] row;
  private final float[] value;
  private final double[] squaredNorms;

  private SamplePostings(int[] start, int[] row, float[] value, double[] squaredNorms) {
    this.start = start;
    this.row = row;
    this.value = value;
    this.squaredNorms = squaredNorms;
  }

  /** The postings of {@code sample}'s rows over {@code dim} terms. */
  static SamplePostings of(List<KMeansSeeding.Sampled> sample, int dim) {
    int[] start = new int[dim + 1];
    double[] squaredNorms = new double[sample.size()];
    for (int i = 0; i < sample.size(); i++) {
      KMeansSeeding.Sampled s = sample.get(i);
      for (int j : s.index()) {
        start[j + 1]++;
      }
      squaredNorms[i] = s.squaredNorm();
    }
    for (int j = 0; j < dim; j++) {
      start[j + 1] += start[j];
    }
    int[] row = new int[start[dim]];
    float[] value = new float[start[dim]];
    int[] fill = Arrays.copyOf(start, dim);
    for (int i = 0; i < sample.size(); i++) { // rows ascending within each term
      int[] index = sample.get(i).index();
      float[] values = sample.get(i).value();
      for (int p = 0; p < index.length; p++) {
        row[fill[index[p]]] = i;
        value[fill[index[p]]++] = values[p];
      }
    }
    return new SamplePostings(start, row, value, squaredNorms);
  }

  int rows() {
    return squaredNorms.length;
  }

  /**
   * Distance of every sampled row to {@code center} (1 - cosine, or squared euclidean), into {@code out}.
   * {@code nonZeros}: the ascending positions of the center's non-zeros; the center must be zero
   * everywhere else (a scattered sampled row is). A row's dot product gets its
   * products with the center's non-zeros in ascending term order, as the pass over the row's own
   * non-zeros adds them (the other products are zeros, which change no sum), so every distance is that
   * pass's bit for bit; a row with a dot of 0 gets the distance the formula gives for 0.
   *
   * @param dots scratch of {@link #rows()} doubles (one per thread)
   */
  double[] distances(float[] center, int[] nonZeros, boolean cosine, double[] out, double[] dots) {
    int m = rows();
    double[] d = out == null ? new double[m] : out;
    Arrays.fill(dots, 0);
    double centerNorm = 0;
    for (int j : nonZeros) {
      float cv = center[j];
      centerNorm += (double) cv * cv;
      for (int q = start[j]; q < start[j + 1]; q++) {
        dots[row[q]] += value[q] * cv;
      }
    }
    // A dot of +0.0 or -0.0: 1 - 0 / x is 1.0 for cosine (x >= 1e-12); sNorm - 0 + c is sNorm + c.
    for (int i = 0; i < m; i++) {
      double dot = dots[i];
      double sNorm = squaredNorms[i];
      if (dot == 0) {
        d[i] = cosine ? 1.0 : Math.max(0, sNorm + centerNorm);
      } else {
        d[i] = cosine ? Math.max(0, 1.0 - dot / Math.max(1e-12, Math.sqrt(sNorm * centerNorm)))
            : Math.max(0, sNorm - 2 * dot + centerNorm);
      }
    }
    return d;
  }
}
