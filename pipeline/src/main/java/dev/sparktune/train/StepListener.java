package dev.sparktune.train;

import java.io.Serializable;

/**
 * Told, on every rank, after each optimizer step: the seam through which tests inject faults into
 * the barrier stage (throwing fails that rank's task). A no-op in production.
 */
@FunctionalInterface
public interface StepListener extends Serializable {
  /** Does nothing. */
  StepListener NONE = (rank, attempt, step) -> { };

  /**
   * @param rank this task's rank
   * @param attempt the barrier stage's attempt (0 first)
   */
  void afterStep(int rank, int attempt, StepMetrics step);
}
