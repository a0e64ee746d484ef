package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import java.util.stream.IntStream;

/**
 * Scoring (per-token log-probabilities) and generation (KV cache, temperature and nucleus
 * sampling from a seed, stop at EOS) with a {@link CausalLm}.
 */
public final class Generation {
  private Generation() {}

  /** log p(ids[i] | ids[..i]) for i ≥ 1 (index 0 is NaN: nothing predicts the first token). */
  public record Scored(long[] ids, double[] logprobs, double meanNll, double perplexity) {}

  public static Scored score(CausalLm model, long[] ids) {
    if (ids.length < 2) {
      throw new IllegalArgumentException("scoring needs at least 2 token ids, got " + ids.length);
    }
    checkIds(model, ids);
    double[] logprobs = new double[ids.length];
    logprobs[0] = Double.NaN;
    try (NDManager step = model.manager().newSubManager();
        Torch.GradMode off = Torch.gradMode(false)) {
      NDArray input = step.create(ids, new Shape(1, ids.length));
      NDArray logits = model.forward(input, null, null, false); // (1, T, V)
      NDArray logp = logits.get("0, :{}, :", ids.length - 1).toType(DataType.FLOAT64, false)
          .logSoftmax(-1); // (T-1, V)
      NDArray next = step.create(Arrays.copyOfRange(ids, 1, ids.length)).expandDims(1); // (T-1, 1)
      double[] picked = logp.gather(next, 1).squeeze(1).toDoubleArray(); // (T-1)
      System.arraycopy(picked, 0, logprobs, 1, picked.length);
    }
    double nll = -Arrays.stream(logprobs, 1, logprobs.length).sum() / (ids.length - 1);
    return new Scored(ids, logprobs, nll, Math.exp(nll));
  }

  /** Sampling settings: temperature 0 means greedy (argmax). */
  public record Sampling(int maxNewTokens, double temperature, double topP, long seed) {
    public Sampling {
      if (maxNewTokens < 1) {
        throw new IllegalArgumentException("max new tokens must be ≥ 1, got " + maxNewTokens);
      }
      if (temperature < 0) {
        throw new IllegalArgumentException("temperature must be ≥ 0, got " + temperature);
      }
      if (topP <= 0 || topP > 1) {
        throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
      }
    }
  }

  /**
   * Generates after {@code prompt} until a stop id or the token budget; each new id is passed to
   * {@code onToken} as it is chosen. Returns the new ids (the stop id included when reached).
   */
  public static long[] generate(CausalLm model, long[] prompt, Sampling sampling, Set<Long> stopIds,
      LongConsumer onToken) {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("the prompt has no tokens");
    }
    checkIds(model, prompt);
    SplittableRandom random = new SplittableRandom(sampling.seed());
    long[] out = new long[sampling.maxNewTokens()];
    int produced = 0;
    try (KvCache cache = new KvCache(model.config(), model.manager());
        Torch.GradMode off = Torch.gradMode(false)) {
      long[] feed = prompt;
      while (produced < sampling.maxNewTokens()) {
        float[] last;
        try (NDManager step = model.manager().newSubManager()) {
          NDArray input = step.create(feed, new Shape(1, feed.length));
          NDArray logits = model.forward(input, null, cache, false); // (1, T, V)
          last = logits.get("0, -1, :").toType(DataType.FLOAT32, false).toFloatArray(); // (V)
        }
        long next = choose(last, sampling, random);
        out[produced++] = next;
        onToken.accept(next);
        if (stopIds.contains(next)) {
          break;
        }
        feed = new long[] {next};
      }
    }
    return Arrays.copyOf(out, produced);
  }

  /** Greedy at temperature 0; otherwise softmax(logits / T), nucleus-filtered to top-p, sampled. */
  static long choose(float[] logits, Sampling s, SplittableRandom random) {
    if (s.temperature() == 0) {
      int best = 0;
      for (int i = 1; i < logits.length; i++) {
        if (logits[i] > logits[best]) {
          best = i;
        }
      }
      return best;
    }
    double max = Double.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l);
    }
    double[] p = new double[logits.length];
    double sum = 0;
    for (int i = 0; i < p.length; i++) {
      p[i] = Math.exp((logits[i] - max) / s.temperature());
      sum += p[i];
    }
    Integer[] order = IntStream.range(0, p.length).boxed().toArray(Integer[]::new);
    double total = sum;
    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -p[i]).thenComparingInt(i -> i));
    int keep = 0;
    double cumulative = 0;
    while (keep < order.length) {
      cumulative += p[order[keep]] / total;
      keep++;
      if (cumulative >= s.topP()) {
        break;
      }
    }
    double u = random.nextDouble() * (cumulative * total);
    double acc = 0;
    for (int k = 0; k < keep; k++) {
      acc += p[order[k]];
      if (u < acc) {
        return order[k];
      }
    }
    return order[keep - 1];
  }

  private static void checkIds(CausalLm model, long[] ids) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= model.config().vocabSize()) {
        throw new IllegalArgumentException("token id " + ids[i] + " at position " + i
            + " is outside the vocabulary (0.." + (model.config().vocabSize() - 1) + ")");
      }
    }
  }
}
