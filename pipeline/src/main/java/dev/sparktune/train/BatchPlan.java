package dev.sparktune.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Which train examples each optimizer step uses, and which of them this rank computes: a seeded
 * shuffle per epoch (optionally grouped by length), cut into global batches of micro_batch_size ×
 * grad_accum_steps × ranks examples, each split into contiguous parts per rank.
 */
final class BatchPlan {
  private final List<TrainData.Example> train;
  private final int microBatchSize;
  private final int gradAccumSteps;
  private final int rank;
  private final int ranks;
  private final long seed;
  private final boolean groupByLength;
  private final Integer maxSteps;
  private final int epochs;

  BatchPlan(List<TrainData.Example> train, TrainOptions options, int rank, int ranks) {
    this.train = train;
    this.microBatchSize = options.microBatchSize();
    this.gradAccumSteps = options.gradAccumSteps();
    this.rank = rank;
    this.ranks = ranks;
    this.seed = options.seed();
    this.groupByLength = options.groupByLength();
    this.maxSteps = options.maxSteps();
    this.epochs = options.epochs();
  }

  /** Examples per optimizer step over all ranks. */
  int globalBatch() {
    return microBatchSize * gradAccumSteps * ranks;
  }

  int stepsPerEpoch() {
    return (train.size() + globalBatch() - 1) / globalBatch();
  }

  int totalSteps() {
    return maxSteps != null ? maxSteps : epochs * stepsPerEpoch();
  }

  /** The example order of one epoch: a seeded shuffle, optionally grouped by length. */
  int[] epochOrder(int epoch) {
    int n = train.size();
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    SplittableRandom random = new SplittableRandom(seed * 1_000_003L + epoch);
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    if (groupByLength) {
      // Sort windows of 50 micro-batches by length (longest first), as transformers' sampler does.
      int window = 50 * microBatchSize;
      for (int s = 0; s < n; s += window) {
        int e = Math.min(n, s + window);
        Integer[] part = new Integer[e - s];
        for (int i = s; i < e; i++) {
          part[i - s] = order[i];
        }
        Arrays.sort(part, Comparator.comparingInt((Integer i) -> -train.get(i).length()));
        for (int i = s; i < e; i++) {
          order[i] = part[i - s];
        }
      }
    }
    return order;
  }

  /** All train example indices of optimizer step {@code step}, over every rank. */
  int[] stepExamples(int step) {
    int[] order = epochOrder(step / stepsPerEpoch());
    int from = (step % stepsPerEpoch()) * globalBatch();
    return Arrays.copyOfRange(order, from, Math.min(order.length, from + globalBatch()));
  }

  /** This rank's micro-batches of step {@code step}: its contiguous part of the step's examples. */
  List<int[]> microBatches(int[] stepExamples) {
    int n = stepExamples.length;
    int from = (int) ((long) n * rank / ranks);
    int to = (int) ((long) n * (rank + 1) / ranks);
    List<int[]> batches = new ArrayList<>();
    for (int i = from; i < to; i += microBatchSize) {
      batches.add(Arrays.copyOfRange(stepExamples, i, Math.min(to, i + microBatchSize)));
    }
    return batches;
  }

  /** The label tokens of all of a step's examples (every rank knows the whole step's count). */
  long labelTokens(int[] stepExamples) {
    long n = 0;
    for (int i : stepExamples) {
      n += labelCount(train.get(i));
    }
    return n;
  }

  static long labelCount(TrainData.Example e) {
    long n = 0;
    for (int t = 1; t < e.labels().length; t++) {
      if (e.labels()[t] != -100) {
        n++;
      }
    }
    return n;
  }
}
