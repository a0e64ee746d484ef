package dev.sparktune.train;

import dev.sparktune.config.LrSchedule;

/**
 * The learning rate per optimizer step, as transformers' schedulers define it: linear warmup from
 * 0 over {@code warmupSteps}, then {@code cosine} (half a cosine down to {@code minLrRatio} · peak),
 * {@code linear} (straight down to {@code minLrRatio} · peak at {@code totalSteps}), {@code constant},
 * or {@code constant_with_warmup}. {@code constant} ignores warmup, as transformers' does.
 */
public record Schedule(LrSchedule type, double peakLr, int warmupSteps, int totalSteps, double minLrRatio) {

  public Schedule {
    if (peakLr <= 0 || warmupSteps < 0 || totalSteps < 1 || minLrRatio < 0 || minLrRatio > 1) {
      throw new IllegalArgumentException("schedule needs learning_rate > 0, warmup ≥ 0, total steps ≥ 1 "
          + "and min_lr_ratio in [0, 1]");
    }
  }

  /** The schedule {@code type} names as the config writes it ({@code cosine} …). */
  public Schedule(String type, double peakLr, int warmupSteps, int totalSteps, double minLrRatio) {
    this(LrSchedule.of(type), peakLr, warmupSteps, totalSteps, minLrRatio);
  }

  /** The learning rate of optimizer step {@code step} (0-based). */
  public double lr(int step) {
    if (type == LrSchedule.CONSTANT) {
      return peakLr;
    }
    if (step < warmupSteps) {
      return peakLr * step / Math.max(1, warmupSteps);
    }
    if (type == LrSchedule.CONSTANT_WITH_WARMUP) {
      return peakLr;
    }
    double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    progress = Math.min(1, progress);
    double factor = type == LrSchedule.COSINE ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
    return peakLr * (minLrRatio + (1 - minLrRatio) * factor);
  }
}
