package dev.sparktune.config;

import static dev.sparktune.config.InvalidValue.orDefault;

import java.io.Serializable;

/**
 * Config of the cluster stage: k-means over text features, then per-cluster semantic dedup and
 * quota selection for a diverse dataset.
 *
 * @param enabled when false the stage is skipped and later stages read the clean output (default true)
 * @param features {@code tfidf} (default: Spark MLlib tokenizer, stop words, HashingTF, IDF, L2) or
 *     {@code minilm} (all-MiniLM-L6-v2 sentence embeddings via ONNX Runtime in each task; much slower
 *     than tfidf on CPU, see docs/benchmarks.md: for GPU executors or small sets)
 * @param k number of clusters, or {@code auto}: round(sqrt(n / 2)), at least 2, at most {@code max_k}
 * @param maxK cap for {@code k: auto} (default 1000)
 * @param distance {@code cosine} (default) or {@code euclidean}
 * @param seed k-means and random selection seed (default 42)
 * @param maxIter k-means iterations (default 20)
 * @param numFeatures HashingTF dimensions (default 2^14): k-means centers are dense, so every
 *     iteration broadcasts k x num_features x 8 bytes (100 x 2^14: 13 MB; 100 x 2^18 ran a 2 GB
 *     heap out of memory)
 * @param minDocFreq IDF minimum document frequency (default 1)
 * @param maxPerCluster keep at most this many records per cluster (default: no quota)
 * @param keep which records a full cluster keeps: {@code random} (seeded, default), {@code nearest}
 *     to the centroid, or {@code farthest} (NeMo Curator's "hard" examples)
 * @param semanticDedupEps drop a record whose cosine similarity to an already kept record of its
 *     cluster is at least 1 - eps (default: off; 0 is off too, as {@code ${EPS:-0}} in a config means)
 * @param topTerms top terms reported per cluster (default 10)
 * @param restarts k-means runs with seeds seed, seed+1, ...; the one with the lowest cost wins
 *     (default 1; small or embedding-based sets benefit from 3-10, at that many times the cost)
 */
public record ClusterConfig(Boolean enabled, Features features, String k, Integer maxK, Distance distance, Long seed,
    Integer maxIter, Integer numFeatures, Integer minDocFreq, Integer maxPerCluster, Keep keep,
    Double semanticDedupEps, Integer topTerms, Integer restarts) implements Serializable {

  /** Feature extractors. */
  public enum Features { TFIDF, MINILM }

  /** k-means distance measures. */
  public enum Distance { COSINE, EUCLIDEAN }

  /** Which records a full cluster keeps. */
  public enum Keep { RANDOM, NEAREST, FARTHEST }

  public ClusterConfig {
    enabled = orDefault(enabled, Boolean.TRUE);
    features = orDefault(features, Features.TFIDF);
    k = orDefault(k, "auto");
    if (!k.equals("auto")) {
      try {
        if (Integer.parseInt(k) < 2) {
          throw new InvalidValue("k", "must be at least 2");
        }
      } catch (NumberFormatException e) {
        throw new InvalidValue("k", "must be a number of clusters or 'auto', got '" + k + "'");
      }
    }
    maxK = orDefault(maxK, 1000);
    distance = orDefault(distance, Distance.COSINE);
    seed = orDefault(seed, 42L);
    maxIter = orDefault(maxIter, 20);
    numFeatures = orDefault(numFeatures, 1 << 14);
    minDocFreq = orDefault(minDocFreq, 1);
    if (maxPerCluster != null && maxPerCluster < 1) {
      throw new InvalidValue("max_per_cluster", "must be at least 1");
    }
    keep = orDefault(keep, Keep.RANDOM);
    if (semanticDedupEps != null && (semanticDedupEps < 0 || semanticDedupEps >= 1)) {
      throw new InvalidValue("semantic_dedup_eps", "must be in [0, 1)");
    }
    if (semanticDedupEps != null && semanticDedupEps == 0) {
      semanticDedupEps = null; // off: exact duplicates are the clean stage's
    }
    topTerms = orDefault(topTerms, 10);
    restarts = orDefault(restarts, 1);
    if (restarts < 1) {
      throw new InvalidValue("restarts", "must be at least 1");
    }
    if (maxK < 2 || maxIter < 1 || numFeatures < 2 || topTerms < 0) {
      throw new InvalidValue(null, "max_k and num_features must be at least 2, max_iter at least 1");
    }
  }

  /** The k to use for {@code n} records. */
  public int kFor(long n) {
    if (!k.equals("auto")) {
      return (int) Math.min(Integer.parseInt(k), Math.max(1, n));
    }
    return (int) Math.max(2, Math.min(maxK, Math.round(Math.sqrt(n / 2.0))));
  }
}
