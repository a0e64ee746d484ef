package dev.sparktune.train;

/**
 * What one logged optimizer step reports: a line of {@code metrics.jsonl} (see {@link MetricsLog})
 * and a row of the train stage's metrics table.
 *
 * @param totalSteps the run's optimizer steps (not in metrics.jsonl: 0 when read back from it)
 * @param evalLoss null unless the step evaluated
 * @param phases seconds of the step per phase; null in lines from before they were logged
 * @param lossScale float16 runs only, else null
 * @param skipped the step was skipped for a float16 overflow
 */
public record StepMetrics(int step, int totalSteps, double epoch, double loss, double lr, double gradNorm,
    double tokensPerSecond, double gflops, Double evalLoss, TrainStep.Phases phases, Double lossScale,
    boolean skipped) {}
