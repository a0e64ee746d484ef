package dev.sparktune.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;

/** The streaming semantic dedup against the plain rule: each record against every kept one of its cluster. */
class SemanticDedupTest {
  /** The rule as first written: the dot product with each kept vector in turn, the first best match wins. */
  static List<Object[]> reference(List<Row> rows, double minSimilarity) {
    List<Object[]> out = new ArrayList<>();
    List<Vector> kept = new ArrayList<>();
    List<String> keptIds = new ArrayList<>();
    Integer cluster = null;
    for (Row r : rows) {
      int c = r.getInt(1);
      if (cluster == null || cluster != c) {
        cluster = c;
        kept.clear();
        keptIds.clear();
      }
      Vector v = r.getAs(2);
      String dupOf = null;
      double best = -1;
      if (c != ClusterStage.NO_TERMS) {
        for (int i = 0; i < kept.size(); i++) {
          double sim = 0;
          org.apache.spark.ml.linalg.SparseVector sv = v.toSparse();
          for (int j = 0; j < sv.indices().length; j++) {
            sim += sv.values()[j] * kept.get(i).apply(sv.indices()[j]);
          }
          if (sim > best) {
            best = sim;
            if (sim >= minSimilarity) {
              dupOf = keptIds.get(i);
            }
          }
        }
      }
      if (dupOf == null) {
        kept.add(v);
        keptIds.add(r.getString(0));
      }
      out.add(new Object[] {dupOf, dupOf == null ? null : best});
    }
    return out;
  }

  /** Clusters of unit vectors over few terms (many near and exact matches), some dense, one without terms. */
  static List<Row> rows(Random random, int dim) {
    List<Row> rows = new ArrayList<>();
    int id = 0;
    for (int c : new int[] {ClusterStage.NO_TERMS, 0, 1, 2, 5, 6}) {
      double[][] bases = new double[4][];
      for (int b = 0; b < bases.length; b++) {
        bases[b] = new double[dim];
        for (int t = random.nextInt(6); t < dim; t += 1 + random.nextInt(9)) {
          bases[b][t] = random.nextDouble();
        }
      }
      for (int n = 10 + random.nextInt(60); n > 0; n--) {
        double[] x = bases[random.nextInt(bases.length)].clone();
        for (int noise = random.nextInt(4); noise > 0; noise--) {
          x[random.nextInt(dim)] += random.nextDouble() * 0.5;
        }
        double norm = 0;
        for (double d : x) {
          norm += d * d;
        }
        for (int t = 0; t < dim; t++) {
          x[t] = norm == 0 ? 0 : x[t] / Math.sqrt(norm);
        }
        Vector v = c == 6 ? Vectors.dense(x) : Vectors.dense(x).toSparse();
        rows.add(RowFactory.create(String.format("r%04d", id++), c, v));
      }
    }
    return rows;
  }

  @Test
  void keepsAndDropsAsThePlainRuleWithTheSameSimilarities() {
    Random random = new Random(3);
    for (double minSimilarity : new double[] {0.9, 0.97, 0.5, 0.0}) {
      List<Row> rows = rows(random, 64);
      List<Object[]> want = reference(rows, minSimilarity);
      SemanticDedup dedup = new SemanticDedup(rows.iterator(), 2, 1, 0, minSimilarity);
      int dropped = 0;
      for (int i = 0; i < rows.size(); i++) {
        Row got = dedup.next();
        assertEquals(5, got.length());
        assertEquals(rows.get(i).getString(0), got.getString(0));
        assertEquals(want.get(i)[0], got.get(3), "dup_of of " + rows.get(i).getString(0) + " at " + minSimilarity);
        assertEquals(want.get(i)[1], got.get(4), "similarity of " + rows.get(i).getString(0)); // bit for bit
        dropped += got.get(3) == null ? 0 : 1;
      }
      assertEquals(false, dedup.hasNext());
      assertTrue(dropped > 0 && dropped < rows.size(), "some kept, some dropped at " + minSimilarity + ": " + dropped);
    }
  }
}
