package dev.sparktune.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The seeding's distances through the sample's postings against the pass over each row's non-zeros. */
class SamplePostingsTest {

  /** The distance as the pass over a row's own non-zeros takes it (the dense center read at each). */
  private static double rowPass(KMeansSeeding.Sampled s, float[] center, int[] nonZeros, boolean cosine) {
    return rowPass(s, center, nonZeros, cosine, false);
  }

  /** {@link #rowPass}, the row's non-zeros taken last to first when {@code reversed}. */
  private static double rowPass(KMeansSeeding.Sampled s, float[] center, int[] nonZeros, boolean cosine,
      boolean reversed) {
    double centerNorm = 0;
    for (int j : nonZeros) {
      centerNorm += (double) center[j] * center[j];
    }
    double dot = 0;
    int n = s.index().length;
    for (int q = 0; q < n; q++) {
      int p = reversed ? n - 1 - q : q;
      dot += s.value()[p] * center[s.index()[p]];
    }
    double sNorm = s.squaredNorm();
    return cosine ? Math.max(0, 1.0 - dot / Math.max(1e-12, Math.sqrt(sNorm * centerNorm)))
        : Math.max(0, sNorm - 2 * dot + centerNorm);
  }

  /**
   * Rows of 0 to 12 non-zeros over 80 terms, signed or not, -0.0 and 0 values among them, their
   * magnitudes spread over 2^-30..2^30 so that the order of a sum changes its rounding.
   */
  private static List<KMeansSeeding.Sampled> sample(Random random, int rows, int dim, boolean signed) {
    List<KMeansSeeding.Sampled> sample = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      TreeSet<Integer> terms = new TreeSet<>();
      int nnz = i % 13;
      while (terms.size() < nnz) {
        terms.add(random.nextInt(dim));
      }
      int[] index = terms.stream().mapToInt(Integer::intValue).toArray();
      float[] value = new float[index.length];
      for (int p = 0; p < value.length; p++) {
        int kind = random.nextInt(12);
        float x = (float) (signed ? random.nextGaussian() : random.nextDouble());
        value[p] = kind == 0 ? -0.0f : kind == 1 ? 0f : x * Math.scalb(1f, random.nextInt(61) - 30);
      }
      sample.add(new KMeansSeeding.Sampled(i, index, value));
    }
    return sample;
  }

  @Test
  void distancesAreTheRowByRowPassBitForBit() {
    Random random = new Random(41);
    int dim = 80;
    for (boolean signed : new boolean[] {false, true}) {
      List<KMeansSeeding.Sampled> sample = sample(random, 300, dim, signed);
      SamplePostings postings = SamplePostings.of(sample, dim);
      double[] dots = new double[sample.size()];
      double[] out = new double[sample.size()];
      int apart = 0;
      int orderMatters = 0;
      for (int trial = 0; trial < 60; trial++) {
        KMeansSeeding.Sampled candidate = sample.get(random.nextInt(sample.size()));
        for (boolean cosine : new boolean[] {true, false}) {
          float[] center = KMeansSeeding.dense(candidate, dim, cosine);
          postings.distances(center, candidate.index(), cosine, out, dots);
          for (int i = 0; i < sample.size(); i++) {
            double expected = rowPass(sample.get(i), center, candidate.index(), cosine);
            assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(out[i]),
                "trial " + trial + ", row " + i + (cosine ? ", cosine" : ", euclidean"));
            apart += cosine && expected == 1.0 && sample.get(i).index().length > 0 ? 1 : 0;
            orderMatters += expected != rowPass(sample.get(i), center, candidate.index(), cosine, true) ? 1 : 0;
          }
          double[] fresh = postings.distances(center, candidate.index(), cosine, null, dots);
          assertEquals(java.util.Arrays.toString(out), java.util.Arrays.toString(fresh));
        }
      }
      assertTrue(apart > 0, "rows sharing no term with the candidate were measured");
      // The data can tell the sums' order: summed last to first, some distances differ.
      assertTrue(orderMatters > 0, "no distance depends on the order of its sum");
    }
  }
}
