package dev.sparktune.train;

/**
 * Dynamic loss scaling for float16 training, as {@code torch.amp.GradScaler}: the loss is
 * multiplied by the scale before backward so small gradients survive half precision; a step whose
 * gradients came out inf/NaN is skipped and the scale halved; after {@code growthInterval}
 * consecutive good steps the scale doubles. Its state is checkpointed, so a resumed run continues
 * with the same scale.
 */
public final class LossScaler {
  /** torch.amp.GradScaler's defaults. */
  public static final double INIT_SCALE = 65536.0;
  public static final int GROWTH_INTERVAL = 2000;

  private final double growthFactor;
  private final double backoffFactor;
  private final int growthInterval;
  private double scale;
  private int goodSteps;

  public LossScaler(double initScale, double growthFactor, double backoffFactor, int growthInterval) {
    if (initScale <= 0 || growthFactor <= 1 || backoffFactor <= 0 || backoffFactor >= 1 || growthInterval < 1) {
      throw new IllegalArgumentException("loss scaler needs scale > 0, growth > 1, backoff in (0, 1), interval ≥ 1");
    }
    this.scale = initScale;
    this.growthFactor = growthFactor;
    this.backoffFactor = backoffFactor;
    this.growthInterval = growthInterval;
  }

  /** GradScaler's defaults: 2^16, ×2 every 2000 good steps, ×0.5 on overflow. */
  public static LossScaler standard() {
    return new LossScaler(INIT_SCALE, 2.0, 0.5, GROWTH_INTERVAL);
  }

  public double scale() {
    return scale;
  }

  public int goodSteps() {
    return goodSteps;
  }

  /**
   * Records the outcome of a step's gradients.
   *
   * @return true when the step must be skipped (non-finite gradients)
   */
  public boolean update(boolean finite) {
    if (!finite) {
      scale *= backoffFactor;
      goodSteps = 0;
      return true;
    }
    if (++goodSteps == growthInterval) {
      scale *= growthFactor;
      goodSteps = 0;
    }
    return false;
  }

  /** Restores the state saved with a checkpoint. */
  public void restore(double savedScale, int savedGoodSteps) {
    this.scale = savedScale;
    this.goodSteps = savedGoodSteps;
  }
}
