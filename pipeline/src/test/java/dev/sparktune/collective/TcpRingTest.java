package dev.sparktune.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The TCP ring on loopback, ranks as threads of one JVM. */
class TcpRingTest {

  /** Runs {@code body} on every rank of a fresh ring; returns each rank's result or exception. */
  static List<Object> onRing(int n, int timeoutMs, Function<TcpRing, Object> body) throws Exception {
    return LoopbackRanks.run(n, timeoutMs, c -> body.apply((TcpRing) c));
  }

  static double[] random(int length, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] a = new double[length];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextDouble() * 2 - 1;
    }
    return a;
  }

  @Test
  void allReduceEqualsTheElementWiseSum() throws Exception {
    for (int n : new int[] {2, 3, 4}) {
      for (int length : new int[] {1, n - 1, 1_000_003}) {
        double[] expected = new double[length];
        for (int r = 0; r < n; r++) {
          double[] mine = random(length, 100 * n + r);
          for (int i = 0; i < length; i++) {
            expected[i] += mine[i];
          }
        }
        int len = length;
        List<Object> results = onRing(n, 10_000, ring -> {
          double[] mine = random(len, 100 * n + ring.rank());
          ring.allReduceSum(mine);
          return mine;
        });
        for (int r = 0; r < n; r++) {
          assertTrue(results.get(r) instanceof double[], "rank " + r + ": " + results.get(r));
          double[] got = (double[]) results.get(r);
          for (int i = 0; i < length; i++) {
            assertEquals(expected[i], got[i], 1e-12, n + " ranks, length " + length + ", rank " + r + "[" + i + "]");
          }
        }
      }
    }
  }

  @Test
  void reduceScatterLeavesEachRankItsSummedShard() throws Exception {
    int n = 3;
    int length = 10;
    List<Object> results = onRing(n, 10_000, ring -> {
      double[] mine = new double[length];
      java.util.Arrays.fill(mine, ring.rank() + 1); // sum over ranks = 6
      ring.reduceScatterSum(mine);
      return mine;
    });
    for (int r = 0; r < n; r++) {
      double[] got = (double[]) results.get(r);
      int from = (int) ((long) length * r / n);
      int to = (int) ((long) length * (r + 1) / n);
      for (int i = from; i < to; i++) {
        assertEquals(6.0, got[i], 0.0, "rank " + r + " owns [" + from + ", " + to + ")");
      }
    }
  }

  @Test
  void aPeerThatDisconnectsMakesTheOthersFailNamingIt() throws Exception {
    long start = System.nanoTime();
    List<Object> results = onRing(3, 3_000, ring -> {
      if (ring.rank() == 2) {
        ring.close(); // rank 2 dies right after joining
        return "dead";
      }
      double[] mine = random(1000, ring.rank());
      ring.allReduceSum(mine);
      return mine;
    });
    double seconds = (System.nanoTime() - start) / 1e9;
    assertTrue(seconds < 10, "failed within the timeout, took " + seconds + " s");
    assertTrue(results.get(0) instanceof TcpRing.CollectiveException, String.valueOf(results.get(0)));
    assertTrue(results.get(1) instanceof TcpRing.CollectiveException, String.valueOf(results.get(1)));
    String m0 = ((Exception) results.get(0)).getMessage();
    assertTrue(m0.startsWith("rank 0: receiving from rank 2"), m0);
  }
}
