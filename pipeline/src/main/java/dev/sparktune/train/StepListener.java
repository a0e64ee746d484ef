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
   * The test seam a run started from the command line takes: {@value #FAULT_PROPERTY} = "rank:step"
   * fails that rank after that step, in the stage's first attempt only; unset, {@link #NONE}. Read
   * on the driver when the stage is built (a run in local mode: its tasks share the JVM).
   */
  String FAULT_PROPERTY = "sparktune.test.failTrainAt";

  /**
   * @param rank this task's rank
   * @param attempt the barrier stage's attempt (0 first)
   */
  void afterStep(int rank, int attempt, StepMetrics step);

  /** The listener {@link #FAULT_PROPERTY} asks for, or {@link #NONE}. */
  static StepListener fromSystemProperty() {
    String at = System.getProperty(FAULT_PROPERTY);
    if (at == null) {
      return NONE;
    }
    return (rank, attempt, step) -> {
      if (attempt == 0 && at.equals(rank + ":" + step.step())) {
        throw new IllegalStateException("injected failure in rank " + rank + " after step " + step.step());
      }
    };
  }
}
