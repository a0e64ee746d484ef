package dev.sparktune.cluster;

import dev.sparktune.clean.MinHasher;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lloyd's k-means over sparse feature vectors (TF-IDF), cosine (spherical: unit-length centers) or
 * euclidean, with MLlib's rules: the run stops when no center moved more than {@link #EPSILON} or after
 * {@code maxIter} iterations, an empty cluster keeps its center, and ties go to the lower index.
 *
 * <p>Why not {@code org.apache.spark.ml.clustering.KMeans}: with k in the hundreds and 2^14 hashed
 * terms it spent ~5 s per iteration here (a k-task job per iteration for the center-distance
 * statistics, sparse vectors boxed per row) and ~45 s of k-means|| initialization on the driver; see
 * docs/benchmarks.md. This one keeps each partition's vectors as one CSR block of primitive arrays,
 * scores a row against all centers with one pass over its non-zeros (centers stored term-major, so
 * the inner loop is a contiguous multiply-add of length k), and runs one Spark job per iteration.
 * Initialization ({@link KMeansSeeding}) is greedy k-means++ on a seeded sample of at most {@code max(5000, 30 k)} rows on the
 * driver (bounded, not data-sized).
 */
final class SparseKMeans {
  private static final Logger LOG = LoggerFactory.getLogger(SparseKMeans.class);
  /** MLlib's default convergence tolerance (center movement). */
  static final double EPSILON = 1e-4;
  /** Partials merged at a time: on the driver up to this many parts, else one shuffle per level. */
  static final int MERGE_FANOUT = 8;

  private SparseKMeans() {}

  /** A fitted model: centers as dense rows, plus what the fit cost (a class: it is broadcast with Kryo). */
  static final class Model implements Serializable {
    private static final long serialVersionUID = 1L;
    private final float[][] centers;
    private final boolean cosine;
    private final double cost;
    private final int iterations;
    private final double[] squaredNorms;
    private transient volatile float[][] centersT;

    Model(float[][] centers, boolean cosine, double cost, int iterations) {
      this.centers = centers;
      this.squaredNorms = new double[centers.length];
      for (int c = 0; c < centers.length; c++) {
        squaredNorms[c] = squaredNorm(centers[c]);
      }
      this.cosine = cosine;
      this.cost = cost;
      this.iterations = iterations;
    }

    double cost() {
      return cost;
    }

    int iterations() {
      return iterations;
    }

    float[][] centers() {
      return centers;
    }

    /**
     * Nearest center and its distance (1 - cosine, or euclidean) for one vector. The dot products are
     * taken against the term-major centers, one contiguous multiply-add of length k per non-zero (over
     * that term's row, see {@link SparseKMeans#nearest}), in double and in the same order over the
     * non-zeros as a center-by-center loop, so the results are those of that loop bit for bit; it
     * reads k x nnz consecutive floats instead of k x nnz scattered ones.
     */
    double[] assign(Vector v) {
      SparseVector s = v.toSparse();
      int[] idx = s.indices();
      double[] val = s.values();
      double vNorm = 0;
      for (double x : val) {
        vNorm += x * x;
      }
      float[][] t = termMajor();
      int k = centers.length;
      double[] dots = new double[k];
      int p = 0;
      for (; p + 4 <= idx.length; p += 4) { // four non-zeros a pass, added in order: see nearest
        float[] t0 = t[idx[p]];
        float[] t1 = t[idx[p + 1]];
        float[] t2 = t[idx[p + 2]];
        float[] t3 = t[idx[p + 3]];
        double x0 = val[p];
        double x1 = val[p + 1];
        double x2 = val[p + 2];
        double x3 = val[p + 3];
        for (int c = 0; c < k; c++) {
          dots[c] = dots[c] + x0 * t0[c] + x1 * t1[c] + x2 * t2[c] + x3 * t3[c];
        }
      }
      for (; p < idx.length; p++) {
        float[] row = t[idx[p]];
        double x = val[p];
        for (int c = 0; c < k; c++) {
          dots[c] += x * row[c];
        }
      }
      int best = 0;
      double bestDistance = Double.POSITIVE_INFINITY;
      for (int c = 0; c < k; c++) {
        double dot = dots[c];
        double d;
        if (cosine) {
          double norm = Math.sqrt(vNorm * squaredNorms[c]);
          d = norm == 0 ? 1.0 : 1.0 - dot / norm;
        } else {
          d = Math.sqrt(Math.max(0, vNorm - 2 * dot + squaredNorms[c]));
        }
        if (d < bestDistance) {
          bestDistance = d;
          best = c;
        }
      }
      return new double[] {best, bestDistance};
    }

    /** The centers term-major, built once per JVM that assigns (not shipped: the broadcast carries the rows). */
    private float[][] termMajor() {
      float[][] t = centersT;
      if (t == null) {
        int dim = centers.length == 0 ? 0 : centers[0].length;
        int[][] support = new int[centers.length][];
        for (int c = 0; c < centers.length; c++) {
          support[c] = KMeansSeeding.nonZeros(centers[c]);
        }
        t = KMeansSeeding.termMajor(centers, support, dim);
        centersT = t; // a race builds the same array twice, harmlessly
      }
      return t;
    }
  }

  /** One partition's vectors in CSR form, with a seeded hash per row for sampling. */
  static final class Block implements Serializable {
    private static final long serialVersionUID = 1L;
    final int[] start;
    final int[] index;
    final float[] value;
    final long[] key;
    /** The vectors' size (0 when the block is empty). */
    final int dim;

    Block(int[] start, int[] index, float[] value, long[] key, int dim) {
      this.start = start;
      this.index = index;
      this.value = value;
      this.key = key;
      this.dim = dim;
    }

    int rows() {
      return key.length;
    }

    /** Packs rows of (id string, vector) at the given positions. */
    static Block of(Iterator<Row> rows, int idIndex, int vectorIndex, long seed) {
      IntList start = new IntList();
      IntList index = new IntList();
      FloatList value = new FloatList();
      List<Long> keys = new ArrayList<>();
      int dim = 0;
      start.add(0);
      while (rows.hasNext()) {
        Row row = rows.next();
        Vector v = row.getAs(vectorIndex);
        dim = Math.max(dim, v.size());
        SparseVector s = v.toSparse();
        int[] idx = s.indices();
        double[] val = s.values();
        for (int p = 0; p < idx.length; p++) {
          index.add(idx[p]);
          value.add((float) val[p]);
        }
        start.add(index.size);
        keys.add(MinHasher.mix(row.getString(idIndex).hashCode() * 0x9E3779B97F4A7C15L + seed));
      }
      long[] k = new long[keys.size()];
      for (int i = 0; i < k.length; i++) {
        k[i] = keys.get(i);
      }
      return new Block(start.toArray(), index.toArray(), value.toArray(), k, dim);
    }
  }

  /**
   * Fits k centers to the blocks (which the caller has persisted). {@code dim} is the vectors' size.
   */
  static Model fit(JavaRDD<Block> blocks, long rows, int dim, int k, int maxIter, long seed, boolean cosine) {
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(blocks.context());
    float[][] centers = KMeansSeeding.init(blocks, rows, dim, k, seed, cosine);
    // Where each center may be non-zero (a few percent of the terms: 6 % at k = 298 on the 200k
    // corpus): the driver's passes over the centers between iterations (the term-major copy, and for
    // cosine the normalization and the movement) go over these alone. Each gives what the pass over
    // all terms gives, bit for bit: the skipped entries are zeros, which add nothing to a sum.
    int[][] support = new int[centers.length][];
    for (int c = 0; c < centers.length; c++) {
      support[c] = KMeansSeeding.nonZeros(centers[c]);
    }
    double cost = Double.NaN;
    int iteration = 0;
    boolean converged = false;
    while (iteration < maxIter && !converged) {
      Broadcast<float[][]> bcT = sc.broadcast(KMeansSeeding.termMajor(centers, support, dim));
      float[] penalty = new float[centers.length];
      if (!cosine) {
        for (int c = 0; c < centers.length; c++) {
          penalty[c] = (float) squaredNorm(centers[c]);
        }
      }
      int kk = centers.length;
      // Merged in partition order: the sums come out the same bit for bit whichever task ends first.
      KMeansPartial total = InOrder.reduce(blocks.map(b -> KMeansPartial.of(b, bcT.value(), penalty, kk, dim, cosine)),
          KMeansPartial::merge, MERGE_FANOUT);
      bcT.destroy();
      converged = true;
      float[][] next = total.centers(kk, dim);
      int[][] nextSupport = total.supports(kk, dim);
      for (int c = 0; c < kk; c++) {
        if (total.counts[c] == 0) {
          continue; // an empty cluster keeps its center
        }
        if (cosine) {
          KMeansPartial.normalize(next[c], nextSupport[c]);
        }
        double moved = cosine ? 1.0 - KMeansPartial.dot(next[c], centers[c], nextSupport[c])
            : Math.sqrt(squaredDistance(next[c], centers[c]));
        if (moved > EPSILON) {
          converged = false;
        }
        centers[c] = next[c];
        support[c] = nextSupport[c];
      }
      cost = total.cost;
      iteration++;
      LOG.debug("k-means iteration {}: cost {}", iteration, cost);
    }
    return new Model(centers, cosine, cost, iteration);
  }

  /**
   * The best center for the sparse row {@code index/value[from, to)}: scores into {@code acc} (length
   * k) the dot product with every center in one pass over the row's non-zeros — centers are stored
   * term-major, a row of k per term, so each non-zero is one contiguous multiply-add of length k — and
   * returns the index of the highest score (cosine: the dot; euclidean: 2 dot - |c|^2), the lower
   * index on ties.
   */
  static int nearest(int[] index, float[] value, int from, int to, float[][] centersT, float[] penalty, boolean cosine,
      float[] acc) {
    int k = acc.length;
    Arrays.fill(acc, 0f);
    int p = from;
    // Four non-zeros a pass over the k sums: a[c] + v0 x0 + v1 x1 + ... is evaluated left to right,
    // each step rounded to float, so every sum gets the same additions in the same order as one
    // non-zero a pass (bit for bit), with a quarter of the loads and stores of acc (2.2x faster here).
    // Each term's centers are an array of their own, read from index 0: C2 vectorizes this loop; it
    // did not over offsets into one flat dim x k (term-major) array (twice the time; docs/benchmarks.md).
    for (; p + 4 <= to; p += 4) {
      float[] t0 = centersT[index[p]];
      float[] t1 = centersT[index[p + 1]];
      float[] t2 = centersT[index[p + 2]];
      float[] t3 = centersT[index[p + 3]];
      float v0 = value[p];
      float v1 = value[p + 1];
      float v2 = value[p + 2];
      float v3 = value[p + 3];
      for (int c = 0; c < k; c++) {
        acc[c] = acc[c] + v0 * t0[c] + v1 * t1[c] + v2 * t2[c] + v3 * t3[c];
      }
    }
    for (; p < to; p++) {
      float[] t = centersT[index[p]];
      float v = value[p];
      for (int c = 0; c < k; c++) {
        acc[c] += v * t[c];
      }
    }
    int best = 0;
    float bestScore = Float.NEGATIVE_INFINITY;
    for (int c = 0; c < k; c++) {
      float score = cosine ? acc[c] : 2 * acc[c] - penalty[c];
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    return best;
  }

  static double squaredNorm(float[] v) {
    double s = 0;
    for (float x : v) {
      s += (double) x * x;
    }
    return s;
  }

  private static double squaredDistance(float[] a, float[] b) {
    double s = 0;
    for (int j = 0; j < a.length; j++) {
      double d = a[j] - b[j];
      s += d * d;
    }
    return s;
  }

  private static final class IntList {
    int[] data = new int[1024];
    int size;

    void add(int v) {
      if (size == data.length) {
        data = Arrays.copyOf(data, size * 2);
      }
      data[size++] = v;
    }

    int[] toArray() {
      return Arrays.copyOf(data, size);
    }
  }

  private static final class FloatList {
    float[] data = new float[1024];
    int size;

    void add(float v) {
      if (size == data.length) {
        data = Arrays.copyOf(data, size * 2);
      }
      data[size++] = v;
    }

    float[] toArray() {
      return Arrays.copyOf(data, size);
    }
  }
}
