package dev.sparktune.cluster;

import static dev.sparktune.cluster.SparseKMeans.squaredNorm;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.api.java.JavaRDD;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The initial centers of {@link SparseKMeans}: a seeded sample of at most {@code max(5000, 30 k)} rows
 * collected to the driver (bounded, not data-sized), greedy k-means++ on it, refined by Lloyd's
 * iterations on the sample, best of a few seedings — as MLlib's k-means|| ends. The seedings run
 * side by side on the driver's cores.
 */
final class KMeansSeeding {
  private static final Logger LOG = LoggerFactory.getLogger(KMeansSeeding.class);

  private KMeansSeeding() {}

  /** k-means++ on a seeded sample of the rows, collected to the driver. */
  static float[][] init(JavaRDD<SparseKMeans.Block> blocks, long rows, int dim, int k, long seed, boolean cosine) {
    return init(blocks, rows, dim, k, seed, cosine, Runtime.getRuntime().availableProcessors());
  }

  /** As {@link #init(JavaRDD, long, int, int, long, boolean)}, with at most {@code cores} seedings at a time. */
  static float[][] init(JavaRDD<SparseKMeans.Block> blocks, long rows, int dim, int k, long seed, boolean cosine,
      int cores) {
    int target = (int) Math.min(rows, Math.max(5_000L, 30L * k));
    double rate = rows == 0 ? 1.0 : Math.min(1.0, (double) target / rows);
    long threshold = rate >= 1.0 ? Long.MAX_VALUE : (long) (rate * Long.MAX_VALUE);
    List<Sampled> sample = new ArrayList<>(blocks.flatMap(b -> {
      List<Sampled> out = new ArrayList<>();
      for (int r = 0; r < b.rows(); r++) {
        if ((b.key[r] >>> 1) <= threshold) {
          out.add(new Sampled(b.key[r], Arrays.copyOfRange(b.index, b.start[r], b.start[r + 1]),
              Arrays.copyOfRange(b.value, b.start[r], b.start[r + 1])));
        }
      }
      return out.iterator();
    }).collect());
    sample.sort((a, b) -> Long.compare(a.key(), b.key())); // independent of partitioning
    if (sample.isEmpty()) {
      throw new IllegalStateException("k-means: no rows to initialize from");
    }
    // As MLlib's k-means|| ends: seeds are refined by Lloyd's iterations on the sample, and of a few
    // seedings the one with the lowest sample cost starts the distributed iterations.
    // Small problems get more seedings (they cost little and small sets have more bad local optima).
    int attempts = (long) sample.size() * k <= 2_000_000L ? 10 : INIT_ATTEMPTS;
    // The seedings are independent (each has its own seeded random), so they run on the driver's
    // cores side by side while the executors wait; the best one does not depend on the thread count.
    SamplePostings postings = SamplePostings.of(sample, dim);
    List<Callable<Seeding>> tasks = new ArrayList<>();
    for (int attempt = 0; attempt < attempts; attempt++) {
      Random random = new Random(seed + ATTEMPT_SEED_STEP * attempt);
      tasks.add(() -> {
        float[][] seeded = plusPlus(sample, postings, dim, k, cosine, random);
        return new Seeding(seeded, refine(sample, seeded, dim, cosine, INIT_ITERATIONS));
      });
    }
    int threads = Math.max(1, Math.min(attempts, cores));
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    float[][] centers = null;
    double bestCost = Double.POSITIVE_INFINITY;
    try {
      for (Future<Seeding> done : pool.invokeAll(tasks)) {
        Seeding s = done.get();
        if (s.cost() < bestCost) { // ties: the earlier attempt
          bestCost = s.cost();
          centers = s.centers();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("k-means: interrupted while seeding", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("k-means: seeding failed: " + e.getCause(), e.getCause());
    } finally {
      pool.shutdownNow();
    }
    int m = sample.size();
    LOG.info("k-means: initialized {} centers by greedy k-means++ and Lloyd's on a sample of {} rows", centers.length, m);
    return centers;
  }

  static final int INIT_ATTEMPTS = 3;
  /** Attempt a draws from {@code new Random(seed + a * ATTEMPT_SEED_STEP)}. */
  static final long ATTEMPT_SEED_STEP = 0x9E3779B97F4A7C15L;

  /** One seeding's centers and their cost on the sample. */
  private record Seeding(float[][] centers, double cost) {}
  static final int INIT_ITERATIONS = 10;

  /** Greedy k-means++ on the sample. */
  private static float[][] plusPlus(List<Sampled> sample, SamplePostings postings, int dim, int k, boolean cosine,
      Random random) {
    int m = sample.size();
    float[][] centers = new float[Math.min(k, m)][];
    // Greedy k-means++ (as scikit-learn): each step draws 2 + ln k candidates by D² sampling and
    // keeps the one that lowers the total distance most, which plain k-means++ often misses on
    // small or unevenly sized sets.
    int trials = 2 + (int) Math.log(centers.length);
    Sampled firstRow = sample.get(random.nextInt(m));
    centers[0] = dense(firstRow, dim, cosine);
    double[] dots = new double[m];
    double[] closest = postings.distances(centers[0], firstRow.index(), cosine, null, dots);
    double[] trial = new double[m];
    float[] candidate = new float[dim]; // one candidate at a time, its non-zeros set and cleared again
    for (int c = 1; c < centers.length; c++) {
      double total = 0;
      for (double d : closest) {
        total += d;
      }
      double bestPotential = Double.POSITIVE_INFINITY;
      Sampled best = null;
      double[] bestDistances = null;
      for (int t = 0; t < trials; t++) {
        Sampled row = sample.get(draw(closest, total, random));
        scatter(row, candidate, cosine);
        postings.distances(candidate, row.index(), cosine, trial, dots);
        for (int j : row.index()) {
          candidate[j] = 0;
        }
        double potential = 0;
        for (int i = 0; i < m; i++) {
          trial[i] = Math.min(trial[i], closest[i]);
          potential += trial[i];
        }
        if (potential < bestPotential) {
          bestPotential = potential;
          best = row;
          double[] swap = bestDistances == null ? new double[m] : bestDistances;
          bestDistances = trial;
          trial = swap;
        }
      }
      centers[c] = dense(best, dim, cosine);
      double[] swap = closest;
      closest = bestDistances;
      trial = swap;
    }
    return centers;
  }

  /** A row drawn with probability proportional to its distance (D² sampling), uniformly when all are 0. */
  private static int draw(double[] closest, double total, Random random) {
    int m = closest.length;
    if (total > 0) {
      double r = random.nextDouble() * total;
      for (int i = 0; i < m; i++) {
        r -= closest[i];
        if (r < 0) {
          return i;
        }
      }
      return m - 1;
    }
    return random.nextInt(m);
  }

  /** Lloyd's iterations on the sample (centers updated in place); returns the final sample cost. */
  private static double refine(List<Sampled> sample, float[][] centers, int dim, boolean cosine, int iterations) {
    int k = centers.length;
    int[] assignment = new int[sample.size()];
    int[][] support = new int[k][]; // the positions where each center may be non-zero
    for (int c = 0; c < k; c++) {
      support[c] = nonZeros(centers[c]);
    }
    double cost = 0;
    float[][] centersT = new float[dim][k]; // as the distributed iterations score: term-major
    int[][] written = new int[k][0]; // the supports centersT holds
    for (int it = 0; it <= iterations; it++) {
      float[] penalty = new float[k];
      for (int c = 0; c < k; c++) {
        penalty[c] = cosine ? 0 : (float) squaredNorm(centers[c]);
      }
      cost = 0;
      rewrite(centersT, centers, support, written);
      float[] acc = new float[k];
      for (int i = 0; i < sample.size(); i++) {
        Sampled s = sample.get(i);
        int best = SparseKMeans.nearest(s.index(), s.value(), 0, s.index().length, centersT, penalty, cosine, acc);
        double bestScore = cosine ? acc[best] : 2 * acc[best] - penalty[best];
        double sNorm = 0;
        for (float v : s.value()) {
          sNorm += (double) v * v;
        }
        assignment[i] = best;
        cost += cosine ? 1.0 - bestScore / Math.max(1e-12, Math.sqrt(sNorm)) : Math.max(0, sNorm - bestScore);
      }
      if (it == iterations) {
        break;
      }
      meansInto(sample, assignment, centers, support, dim, cosine);
    }
    return cost;
  }

  /**
   * Each center with rows becomes their mean (unit length for cosine). The rows are taken center by
   * center, ascending within one (a counting sort), into one scratch row of sums, and only the terms
   * they touch are divided and cleared: every term gets the same additions in the same order as in a
   * k x dim array of sums filled row by row, so the centers are the same bit for bit, without
   * allocating and scanning k x dim doubles per iteration.
   */
  private static void meansInto(List<Sampled> sample, int[] assignment, float[][] centers, int[][] support, int dim,
      boolean cosine) {
    int k = centers.length;
    int[] from = new int[k + 1];
    for (int c : assignment) {
      from[c + 1]++;
    }
    for (int c = 0; c < k; c++) {
      from[c + 1] += from[c];
    }
    int[] order = new int[assignment.length];
    int[] fill = Arrays.copyOf(from, k);
    for (int i = 0; i < assignment.length; i++) {
      order[fill[assignment[i]]++] = i;
    }
    double[] sum = new double[dim];
    int[] touched = new int[dim];
    int[] owner = new int[dim];
    for (int c = 0; c < k; c++) {
      long count = from[c + 1] - from[c];
      if (count == 0) {
        continue;
      }
      int n = 0;
      for (int o = from[c]; o < from[c + 1]; o++) {
        Sampled s = sample.get(order[o]);
        for (int p = 0; p < s.index().length; p++) {
          int j = s.index()[p];
          if (owner[j] != c + 1) {
            owner[j] = c + 1;
            touched[n++] = j;
          }
          sum[j] += s.value()[p];
        }
      }
      float[] next = new float[dim];
      for (int t = 0; t < n; t++) {
        int j = touched[t];
        next[j] = (float) (sum[j] / count);
        sum[j] = 0;
      }
      int[] terms = Arrays.copyOf(touched, n);
      Arrays.sort(terms); // ascending: the norm adds what the pass over all terms adds, bit for bit
      if (cosine) {
        KMeansPartial.normalize(next, terms);
      }
      centers[c] = next;
      support[c] = terms;
    }
  }

  /**
   * Makes {@code t} the term-major copy of {@code centers} ({@code t[j][c] = centers[c][j]}), where
   * it held the centers at the supports {@code written}: only the old and new supports are cleared
   * and written, not k x dim floats. {@code written} becomes {@code support} (the arrays, which the
   * caller replaces rather than changes).
   */
  static void rewrite(float[][] t, float[][] centers, int[][] support, int[][] written) {
    for (int c = 0; c < centers.length; c++) {
      for (int j : written[c]) {
        t[j][c] = 0;
      }
      for (int j : support[c]) {
        t[j][c] = centers[c][j];
      }
      written[c] = support[c];
    }
  }

  /** The ascending positions of {@code v}'s non-zeros. */
  static int[] nonZeros(float[] v) {
    int n = 0;
    int[] out = new int[16];
    for (int j = 0; j < v.length; j++) {
      if (v[j] != 0) {
        if (n == out.length) {
          out = Arrays.copyOf(out, 2 * n);
        }
        out[n++] = j;
      }
    }
    return Arrays.copyOf(out, n);
  }

  /**
   * The centers term-major ({@code t[j][c] = centers[c][j]}) from their supports (an entry outside a
   * support is zero; a -0.0 there, written as 0.0, adds nothing to a score either way). The
   * terms outside every support share one row of zeros: the rows are for reading only.
   */
  static float[][] termMajor(float[][] centers, int[][] support, int dim) {
    int k = centers.length;
    float[][] t = new float[dim][];
    for (int c = 0; c < k; c++) {
      for (int j : support[c]) {
        if (t[j] == null) {
          t[j] = new float[k];
        }
        t[j][c] = centers[c][j];
      }
    }
    float[] zeros = new float[k];
    for (int j = 0; j < dim; j++) {
      if (t[j] == null) {
        t[j] = zeros;
      }
    }
    return t;
  }

  /** A sampled row (a class, not a record: Kryo cannot build records). */
  static final class Sampled implements Serializable {
    private static final long serialVersionUID = 1L;
    private final long key;
    private final int[] index;
    private final float[] value;

    private final double squaredNorm;

    Sampled(long key, int[] index, float[] value) {
      this.key = key;
      this.index = index;
      this.value = value;
      double norm = 0;
      for (float v : value) {
        norm += v * v; // float products summed in double, as the distances always took them
      }
      this.squaredNorm = norm;
    }

    double squaredNorm() {
      return squaredNorm;
    }

    long key() {
      return key;
    }

    int[] index() {
      return index;
    }

    float[] value() {
      return value;
    }
  }


  /**
   * The row as a dense vector, unit length for cosine: what dividing every entry of the scattered row
   * by its norm gives, computed over its non-zeros alone. The indices ascend, so the squared norm adds the same
   * products in the same order (the zeros in between add nothing), and only non-zeros are divided.
   */
  static float[] dense(Sampled s, int dim, boolean cosine) {
    float[] out = new float[dim];
    scatter(s, out, cosine);
    return out;
  }

  /** Writes {@code s}'s values (unit length for cosine) at its positions of {@code out}. */
  private static void scatter(Sampled s, float[] out, boolean cosine) {
    int[] index = s.index();
    float[] value = s.value();
    double n = cosine ? Math.sqrt(squaredNorm(value)) : 1;
    for (int p = 0; p < index.length; p++) {
      out[index[p]] = cosine && n > 0 ? (float) (value[p] / n) : value[p];
    }
  }
}
