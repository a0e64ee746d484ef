package dev.sparktune.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;

/** The k-means the cluster stage runs, on generated sparse unit vectors with known groups. */
class SparseKMeansTest {
  private static final int DIM = 1000;

  /** Four groups, each on its own 40 terms, with a few shared noise terms; L2-normalized. */
  static List<Row> groups(int perGroup, long seed) {
    Random random = new Random(seed);
    List<Row> rows = new ArrayList<>();
    for (int g = 0; g < 4; g++) {
      for (int i = 0; i < perGroup; i++) {
        Map<Integer, Double> terms = new java.util.TreeMap<>();
        for (int t = 0; t < 6; t++) {
          terms.merge(g * 40 + random.nextInt(40), 1.0 + random.nextDouble(), Double::sum);
        }
        terms.merge(900 + random.nextInt(50), 0.3, Double::sum);
        int[] idx = terms.keySet().stream().mapToInt(Integer::intValue).toArray();
        double[] val = terms.values().stream().mapToDouble(Double::doubleValue).toArray();
        double norm = 0;
        for (double v : val) {
          norm += v * v;
        }
        for (int k = 0; k < val.length; k++) {
          val[k] /= Math.sqrt(norm);
        }
        rows.add(RowFactory.create("g" + g + "-" + i, Vectors.sparse(DIM, idx, val)));
      }
    }
    return rows;
  }

  static JavaRDD<SparseKMeans.Block> blocks(List<Row> rows, int partitions) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(TestSpark.get().sparkContext());
    return sc.parallelize(rows, partitions).mapPartitions(it -> List.of(SparseKMeans.Block.of(it, 0, 1, 3L)).iterator())
        .cache();
  }

  /** The reference term-major copy: {@code t[j][c] = centers[c][j]}, every entry. */
  static float[][] transpose(float[][] centers, int dim) {
    float[][] t = new float[dim][centers.length];
    for (int c = 0; c < centers.length; c++) {
      for (int j = 0; j < dim; j++) {
        t[j][c] = centers[c][j];
      }
    }
    return t;
  }

  /** The reference unit vector: every entry divided by the norm over all entries (a zero vector as it is). */
  static float[] dividedByNorm(float[] v) {
    float[] out = v.clone();
    double n = Math.sqrt(SparseKMeans.squaredNorm(v));
    if (n > 0) {
      for (int j = 0; j < out.length; j++) {
        out[j] = (float) (out[j] / n);
      }
    }
    return out;
  }

  @Test
  void seedingDoesNotDependOnHowManySeedingsRunAtOnce() {
    List<Row> rows = groups(40, 6);
    JavaRDD<SparseKMeans.Block> blocks = blocks(rows, 2);
    float[][] one = KMeansSeeding.init(blocks, rows.size(), DIM, 5, 42, true, 1);
    float[][] four = KMeansSeeding.init(blocks, rows.size(), DIM, 5, 42, true, 4);
    float[][] otherSeed = KMeansSeeding.init(blocks, rows.size(), DIM, 5, 43, true, 4);
    assertEquals(java.util.Arrays.deepToString(one), java.util.Arrays.deepToString(four));
    assertTrue(!java.util.Arrays.deepEquals(one, otherSeed), "another seed, other centers");
  }

  /**
   * Sparse partials of three partitions, merged, give each center the mean of its rows (unit-scaled for
   * cosine), counts and cost equal to one dense pass over all rows, center by center.
   */
  @Test
  void mergedSparsePartialsAreTheDenseMeans() {
    List<Row> rows = groups(25, 4);
    int k = 4;
    float[][] seeds = new float[k][DIM];
    for (int c = 0; c < k; c++) {
      Vector v = rows.get(c * 25).getAs(1);
      for (int j = 0; j < DIM; j++) {
        seeds[c][j] = (float) v.apply(j);
      }
    }
    float[][] centersT = transpose(seeds, DIM);
    List<KMeansPartial> partials = new ArrayList<>();
    for (int part = 0; part < 3; part++) {
      List<Row> slice = new ArrayList<>();
      for (int r = part; r < rows.size(); r += 3) {
        slice.add(rows.get(r));
      }
      partials.add(KMeansPartial.of(SparseKMeans.Block.of(slice.iterator(), 0, 1, 3L), centersT, new float[k], k,
          DIM, true));
    }
    KMeansPartial total = partials.get(0).merge(partials.get(1)).merge(partials.get(2));

    double[][] sums = new double[k][DIM];
    long[] counts = new long[k];
    double cost = 0;
    for (Row r : rows) {
      Vector v = r.getAs(1);
      int best = 0;
      double bestDot = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < k; c++) {
        double dot = 0;
        for (int j = 0; j < DIM; j++) {
          dot += (float) v.apply(j) * seeds[c][j];
        }
        if (dot > bestDot) {
          bestDot = dot;
          best = c;
        }
      }
      counts[best]++;
      cost += 1 - bestDot; // unit rows
      for (int j = 0; j < DIM; j++) {
        sums[best][j] += (float) v.apply(j);
      }
    }
    assertArrayEquals(counts, total.counts);
    assertEquals(cost, total.cost, 1e-4);
    float[][] means = total.centers(k, DIM);
    int nonZero = 0;
    for (int c = 0; c < k; c++) {
      for (int j = 0; j < DIM; j++) {
        assertEquals(counts[c] == 0 ? 0 : sums[c][j] / counts[c], means[c][j], 1e-5, "center " + c + " term " + j);
        nonZero += means[c][j] != 0 ? 1 : 0;
      }
    }
    assertTrue(nonZero > 4 * 40 && total.positions.length == nonZero, "non-zero sums: " + nonZero);
    int[][] supports = total.supports(k, DIM);
    for (int c = 0; c < k; c++) {
      assertArrayEquals(KMeansSeeding.nonZeros(means[c]), supports[c], "center " + c);
    }
  }

  @Test
  void findsTheGroupsAndAssignsToTheNearestCenter() {
    List<Row> rows = groups(60, 1);
    SparseKMeans.Model model = SparseKMeans.fit(blocks(rows, 3), rows.size(), DIM, 4, 20, 42, true);
    Map<String, Set<Integer>> byGroup = new HashMap<>();
    for (Row r : rows) {
      Vector v = r.getAs(1);
      double[] a = model.assign(v);
      byGroup.computeIfAbsent(r.getString(0).substring(0, 2), g -> new HashSet<>()).add((int) a[0]);
      // Nearest by brute force over all centers, in double.
      double best = Double.POSITIVE_INFINITY;
      for (float[] c : model.centers()) {
        double dot = 0;
        double cn = 0;
        for (int j = 0; j < DIM; j++) {
          dot += v.apply(j) * c[j];
          cn += (double) c[j] * c[j];
        }
        best = Math.min(best, 1 - dot / Math.sqrt(cn));
      }
      assertEquals(best, a[1], 1e-9);
    }
    Set<Integer> used = new HashSet<>();
    for (Set<Integer> ids : byGroup.values()) {
      assertEquals(1, ids.size(), "a group split over clusters: " + byGroup);
      assertTrue(used.addAll(ids), "two groups share a cluster: " + byGroup);
    }
    assertTrue(model.iterations() >= 1 && model.iterations() < 20, "converged in " + model.iterations());
  }

  @Test
  void sameSeedSameCentersWhateverThePartitioning() {
    List<Row> rows = groups(50, 2);
    SparseKMeans.Model one = SparseKMeans.fit(blocks(rows, 1), rows.size(), DIM, 6, 10, 7, true);
    SparseKMeans.Model four = SparseKMeans.fit(blocks(rows, 4), rows.size(), DIM, 6, 10, 7, true);
    assertEquals(one.centers().length, four.centers().length);
    for (int c = 0; c < one.centers().length; c++) {
      assertArrayEquals(one.centers()[c], four.centers()[c], 1e-5f);
    }
    assertEquals(one.cost(), four.cost(), 1e-6);
  }

  @Test
  void euclideanCostIsTheSumOfSquaredDistances() {
    List<Row> rows = groups(30, 3);
    SparseKMeans.Model model = SparseKMeans.fit(blocks(rows, 2), rows.size(), DIM, 4, 20, 5, false);
    double cost = 0;
    for (Row r : rows) {
      double d = model.assign(r.getAs(1))[1];
      cost += d * d;
    }
    assertEquals(cost, model.cost(), 1e-3 * cost);
  }
  /** assign (term-major) gives exactly what a center-by-center loop over the non-zeros gives, both metrics. */
  @Test
  void assignMatchesTheCenterByCenterLoopBitForBit() {
    List<Row> rows = groups(25, 4);
    for (boolean cosine : new boolean[] {true, false}) {
      SparseKMeans.Model model = SparseKMeans.fit(blocks(rows, 2), rows.size(), DIM, 5, 5, 11, cosine);
      for (Row r : rows) {
        org.apache.spark.ml.linalg.SparseVector v = ((Vector) r.getAs(1)).toSparse();
        double vNorm = 0;
        for (double x : v.values()) {
          vNorm += x * x;
        }
        int best = 0;
        double bestDistance = Double.POSITIVE_INFINITY;
        for (int c = 0; c < model.centers().length; c++) {
          float[] center = model.centers()[c];
          double dot = 0;
          for (int p = 0; p < v.indices().length; p++) {
            dot += v.values()[p] * center[v.indices()[p]];
          }
          double cn = SparseKMeans.squaredNorm(center);
          double d = cosine ? (vNorm * cn == 0 ? 1.0 : 1.0 - dot / Math.sqrt(vNorm * cn))
              : Math.sqrt(Math.max(0, vNorm - 2 * dot + cn));
          if (d < bestDistance) {
            bestDistance = d;
            best = c;
          }
        }
        double[] a = model.assign(v);
        assertEquals(best, (int) a[0], r.getString(0));
        assertEquals(Double.doubleToLongBits(bestDistance), Double.doubleToLongBits(a[1]), r.getString(0));
      }
    }
  }
  /**
   * nearest's sums (four non-zeros a pass) are bit for bit those of one non-zero a pass, for rows of
   * 0 to 11 non-zeros (every remainder) with signed values, and so is its pick.
   */
  @Test
  void nearestSumsAreThoseOfOneNonZeroAPass() {
    Random random = new Random(21);
    int k = 37;
    int dim = 50;
    float[][] centers = new float[k][dim];
    for (float[] c : centers) {
      for (int j = 0; j < dim; j++) {
        c[j] = random.nextInt(4) == 0 ? 0f : (float) random.nextGaussian();
      }
    }
    float[][] centersT = transpose(centers, dim);
    float[] penalty = new float[k];
    for (int c = 0; c < k; c++) {
      penalty[c] = (float) SparseKMeans.squaredNorm(centers[c]);
    }
    for (int trial = 0; trial < 600; trial++) {
      int nnz = trial % 12;
      java.util.TreeSet<Integer> terms = new java.util.TreeSet<>();
      while (terms.size() < nnz) {
        terms.add(random.nextInt(dim));
      }
      int[] index = new int[nnz + 2]; // the row sits inside a longer array, as in a block
      float[] value = new float[nnz + 2];
      int at = 1;
      for (int t : terms) {
        index[at] = t;
        value[at++] = (float) random.nextGaussian() * 3;
      }
      float[] expected = new float[k];
      for (int p = 1; p < 1 + nnz; p++) {
        for (int c = 0; c < k; c++) {
          expected[c] += value[p] * centersT[index[p]][c];
        }
      }
      for (boolean cosine : new boolean[] {true, false}) {
        float[] acc = new float[k];
        int best = SparseKMeans.nearest(index, value, 1, 1 + nnz, centersT, penalty, cosine, acc);
        for (int c = 0; c < k; c++) {
          assertEquals(Float.floatToIntBits(expected[c]), Float.floatToIntBits(acc[c]), "row " + trial + ", center " + c);
        }
        int expectedBest = 0;
        for (int c = 1; c < k; c++) {
          float score = cosine ? expected[c] : 2 * expected[c] - penalty[c];
          float bestScore = cosine ? expected[expectedBest] : 2 * expected[expectedBest] - penalty[expectedBest];
          if (score > bestScore) {
            expectedBest = c;
          }
        }
        assertEquals(expectedBest, best, "row " + trial);
      }
    }
  }

  /** A sampled row made dense and unit length is exactly the scattered row normalized as the centers are. */
  @Test
  void denseSampledRowIsTheScatteredRowNormalized() {
    Random random = new Random(5);
    int dim = 300;
    for (int trial = 0; trial < 200; trial++) {
      java.util.TreeSet<Integer> terms = new java.util.TreeSet<>();
      int nnz = 1 + random.nextInt(40);
      while (terms.size() < nnz) {
        terms.add(random.nextInt(dim));
      }
      int[] index = terms.stream().mapToInt(Integer::intValue).toArray();
      float[] value = new float[nnz];
      for (int p = 0; p < nnz; p++) {
        value[p] = trial % 7 == 0 ? 0f : (float) (random.nextDouble() * (random.nextBoolean() ? 1 : 1e-3));
      }
      KMeansSeeding.Sampled s = new KMeansSeeding.Sampled(trial, index, value);
      for (boolean cosine : new boolean[] {true, false}) {
        float[] expected = new float[dim];
        for (int p = 0; p < nnz; p++) {
          expected[index[p]] = value[p];
        }
        if (cosine) {
          double n = Math.sqrt(SparseKMeans.squaredNorm(expected));
          for (int j = 0; j < dim; j++) { // normalize as it was: every entry divided
            expected[j] = n > 0 ? (float) (expected[j] / n) : expected[j];
          }
        }
        float[] dense = KMeansSeeding.dense(s, dim, cosine);
        for (int j = 0; j < dim; j++) {
          assertEquals(Float.floatToIntBits(expected[j]), Float.floatToIntBits(dense[j]), "row " + trial + ", term " + j);
        }
      }
    }
  }

  /**
   * Over a support (positions that hold every non-zero, ascending), normalize gives what dividing
   * every entry by the norm gives, bit for bit; the term-major copy from supports is the transpose.
   */
  @Test
  void theSupportPassesAreTheDensePasses() {
    Random random = new Random(12);
    for (int trial = 0; trial < 200; trial++) {
      float[] v = new float[97];
      for (int j = 0; j < v.length; j++) {
        int kind = random.nextInt(6);
        v[j] = kind < 3 ? 0f : kind == 3 ? -0.0f : (float) random.nextGaussian();
      }
      int[] support = KMeansSeeding.nonZeros(v);
      if (trial % 3 == 0 && v[0] == 0) { // a support may hold zeros too (a sum that came to 0)
        int[] wider = new int[support.length + 1];
        System.arraycopy(support, 0, wider, 1, support.length);
        support = wider; // position 0 first: still ascending
      }
      float[] dense = dividedByNorm(v);
      KMeansPartial.normalize(v, support);
      for (int j = 0; j < v.length; j++) {
        assertEquals(Float.floatToIntBits(dense[j]), Float.floatToIntBits(v[j]), "vector " + trial + ", entry " + j);
      }
    }
    float[][] centers = new float[5][130];
    int[][] supports = new int[5][];
    for (int c = 0; c < centers.length; c++) {
      for (int j = 0; j < 130; j++) {
        centers[c][j] = random.nextInt(4) == 0 ? (float) random.nextGaussian() : 0f;
      }
      supports[c] = KMeansSeeding.nonZeros(centers[c]);
    }
    assertArrayEquals(transpose(centers, 130), KMeansSeeding.termMajor(centers, supports, 130));
  }

  /**
   * The seeding's term-major array rewritten over the old and new supports, center by center (some
   * kept as they were, some moved to other terms, some emptied), is the transpose each time.
   */
  @Test
  void rewritingTheSupportsIsTheTranspose() {
    Random random = new Random(14);
    int k = 9;
    int dim = 120;
    float[][] centers = new float[k][dim];
    int[][] support = new int[k][0];
    int[][] written = new int[k][0];
    float[][] t = new float[dim][k];
    for (int round = 0; round < 30; round++) {
      for (int c = 0; c < k; c++) {
        int change = random.nextInt(4);
        if (round > 0 && change == 0) {
          continue; // kept: the same array, as an empty cluster keeps its center
        }
        float[] next = new float[dim];
        for (int j = 0; j < dim && change != 1; j++) {
          next[j] = random.nextInt(6) == 0 ? (float) random.nextGaussian() : 0f;
        }
        centers[c] = next;
        support[c] = KMeansSeeding.nonZeros(next);
      }
      KMeansSeeding.rewrite(t, centers, support, written);
      assertArrayEquals(transpose(centers, dim), t, "round " + round);
    }
  }

  /** normalize over the non-zeros gives what dividing every entry gives, -0.0 and zero vectors included. */
  @Test
  void normalizeSkipsOnlyWhatDividingLeavesAsItIs() {
    Random random = new Random(8);
    for (int trial = 0; trial < 300; trial++) {
      float[] v = new float[64];
      for (int j = 0; j < v.length; j++) {
        int kind = random.nextInt(5);
        v[j] = kind == 0 ? -0.0f : kind == 1 ? 0f : (float) random.nextGaussian();
      }
      if (trial % 10 == 0) {
        java.util.Arrays.fill(v, trial % 20 == 0 ? 0f : -0.0f); // a zero vector stays as it is
      }
      float[] expected = dividedByNorm(v);
      KMeansPartial.normalize(v, KMeansSeeding.nonZeros(v));
      for (int j = 0; j < v.length; j++) {
        assertEquals(Float.floatToIntBits(expected[j]), Float.floatToIntBits(v[j]), "vector " + trial + ", entry " + j);
      }
    }
  }
  /**
   * A block's partial (each center's rows summed in a dense row of its own) has the positions, sums,
   * counts and cost of the k x dim array filled row by row, bit for bit, both metrics, with empty centers.
   */
  @Test
  void partialIsTheRowByRowDenseFill() {
    List<Row> rows = groups(30, 9);
    int k = 7;
    Random random = new Random(17);
    float[][] centers = new float[k][DIM];
    for (int c = 0; c < k - 2; c++) { // the last two centers far from every row: empty in cosine
      Vector v = rows.get(random.nextInt(rows.size())).getAs(1);
      for (int j = 0; j < DIM; j++) {
        centers[c][j] = (float) (v.apply(j) + (j % 7 == c ? 0.05 : 0));
      }
    }
    centers[k - 1][999] = -1f;
    float[][] centersT = transpose(centers, DIM);
    SparseKMeans.Block block = SparseKMeans.Block.of(rows.iterator(), 0, 1, 3L);
    for (boolean cosine : new boolean[] {true, false}) {
      float[] penalty = new float[k];
      for (int c = 0; c < k && !cosine; c++) {
        penalty[c] = (float) SparseKMeans.squaredNorm(centers[c]);
      }
      KMeansPartial partial = KMeansPartial.of(block, centersT, penalty, k, DIM, cosine);
      double[] dense = new double[k * DIM];
      long[] counts = new long[k];
      double cost = 0;
      float[] acc = new float[k];
      for (int r = 0; r < block.rows(); r++) {
        int from = block.start[r];
        int to = block.start[r + 1];
        int best = SparseKMeans.nearest(block.index, block.value, from, to, centersT, penalty, cosine, acc);
        float bestScore = cosine ? acc[best] : 2 * acc[best] - penalty[best];
        double norm = 0;
        for (int p = from; p < to; p++) {
          norm += (double) block.value[p] * block.value[p];
        }
        cost += cosine ? (norm == 0 ? 1.0 : 1.0 - bestScore / Math.sqrt(norm)) : Math.max(0, norm - bestScore);
        counts[best]++;
        double scale = cosine && norm > 0 ? 1.0 / Math.sqrt(norm) : 1.0;
        for (int p = from; p < to; p++) {
          dense[best * DIM + block.index[p]] += block.value[p] * scale;
        }
      }
      List<Integer> positions = new ArrayList<>();
      List<Double> sums = new ArrayList<>();
      for (int i = 0; i < dense.length; i++) {
        if (dense[i] != 0) {
          positions.add(i);
          sums.add(dense[i]);
        }
      }
      assertArrayEquals(counts, partial.counts);
      assertTrue(java.util.Arrays.stream(counts).filter(n -> n == 0).count() >= 1, "an empty center");
      assertEquals(Double.doubleToLongBits(cost), Double.doubleToLongBits(partial.cost));
      assertArrayEquals(positions.stream().mapToInt(Integer::intValue).toArray(), partial.positions);
      for (int i = 0; i < sums.size(); i++) {
        assertEquals(Double.doubleToLongBits(sums.get(i)), Double.doubleToLongBits(partial.sums[i]), "position " + i);
      }
    }
  }
}
