package dev.sparktune.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;

/** The k-means seeding (k-means++ and Lloyd's on the sample) against what it gave before it was made faster. */
class KMeansSeedingTest {
  private static final int DIM = 300;

  /**
   * Sparse rows in five groups of terms, their values spread over 2^-12..2^12 before the rows are
   * L2-normalized, so that the order of a sum over a row or a center changes its rounding.
   */
  private static List<Row> rows(long seed) {
    Random random = new Random(seed);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 600; i++) {
      TreeMap<Integer, Double> terms = new TreeMap<>();
      int group = i % 5;
      for (int t = 0; t < 3 + random.nextInt(9); t++) {
        int term = random.nextInt(4) == 0 ? random.nextInt(DIM) : group * 50 + random.nextInt(50);
        terms.merge(term, random.nextDouble() * Math.scalb(1.0, random.nextInt(25) - 12), Double::sum);
      }
      double norm = Math.sqrt(terms.values().stream().mapToDouble(v -> v * v).sum());
      int[] index = terms.keySet().stream().mapToInt(Integer::intValue).toArray();
      double[] value = terms.values().stream().mapToDouble(v -> v / norm).toArray();
      rows.add(RowFactory.create("r" + i, Vectors.sparse(DIM, index, value)));
    }
    return rows;
  }

  /** A digest of every center's bits. */
  private static long bits(float[][] centers) {
    long h = 1;
    for (float[] c : centers) {
      for (float x : c) {
        h = 31 * h + Float.floatToRawIntBits(x);
      }
    }
    return h;
  }

  /**
   * The centers, bit for bit, are those the seeding gave at c8e58ca, before the sample's postings
   * (k-means++), the support passes of its Lloyd's iterations and the term-major rows. (A change in
   * rounding shows here where it reaches a float center; a double sum one ulp off mostly does not,
   * so the order of each sum is tested where it is taken: SamplePostingsTest, SparseKMeansTest.)
   */
  @Test
  void theCentersAreThoseOfTheSeedingBeforeItWasMadeFaster() {
    List<Row> rows = rows(3);
    var blocks = SparseKMeansTest.blocks(rows, 2);
    assertEquals(GOLDEN_COSINE, bits(KMeansSeeding.init(blocks, rows.size(), DIM, 7, 42, true, 2)), "cosine");
    assertEquals(GOLDEN_EUCLIDEAN, bits(KMeansSeeding.init(blocks, rows.size(), DIM, 7, 42, false, 2)), "euclidean");
  }

  private static final long GOLDEN_COSINE = -4884356167986404777L;
  private static final long GOLDEN_EUCLIDEAN = 4972082507502493825L;
}
