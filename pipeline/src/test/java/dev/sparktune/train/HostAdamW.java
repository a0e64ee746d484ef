package dev.sparktune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.Map;

/**
 * AdamW on one rank's shard of the flattened trainable parameters (ZeRO-1/2 style: after a
 * reduce-scatter each rank owns 1/N of the summed gradient and keeps 1/N of the moments), with
 * torch.optim.AdamW's formula: decoupled weight decay, bias-corrected moments,
 * {@code p ← p·(1 − lr·wd) − lr · m̂ / (√v̂ + eps)}. Computed in double precision on the host: the
 * reference the device optimizer ({@link DeviceAdamW}) is tested against (it was the trainer's own
 * optimizer until the update moved to the device).
 */
final class HostAdamW {
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final int from;
  private final int to;
  private final double[] expAvg;
  private final double[] expAvgSq;
  private long steps;

  /** Owns elements [from, to) of the flat parameter vector. */
  HostAdamW(double beta1, double beta2, double eps, double weightDecay, int from, int to) {
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.from = from;
    this.to = to;
    this.expAvg = new double[to - from];
    this.expAvgSq = new double[to - from];
  }

  public long steps() {
    return steps;
  }

  /** Updates params[from, to) from grads[from, to) (the summed, clipped gradient). */
  public void step(double[] params, double[] grads, double lr) {
    steps++;
    double bias1 = 1 - Math.pow(beta1, steps);
    double bias2 = 1 - Math.pow(beta2, steps);
    double stepSize = lr / bias1;
    double decay = 1 - lr * weightDecay;
    for (int i = from; i < to; i++) {
      int k = i - from;
      double g = grads[i];
      expAvg[k] = beta1 * expAvg[k] + (1 - beta1) * g;
      expAvgSq[k] = beta2 * expAvgSq[k] + (1 - beta2) * g * g;
      double denom = Math.sqrt(expAvgSq[k] / bias2) + eps;
      params[i] = params[i] * decay - stepSize * expAvg[k] / denom;
    }
  }

  /** This shard's moments, written into full-length buffers at its own offsets (for a gather). */
  public void exportInto(double[] fullExpAvg, double[] fullExpAvgSq) {
    System.arraycopy(expAvg, 0, fullExpAvg, from, to - from);
    System.arraycopy(expAvgSq, 0, fullExpAvgSq, from, to - from);
  }

  /** Restores this shard from full-length moments saved by a checkpoint. */
  public void restore(double[] fullExpAvg, double[] fullExpAvgSq, long savedSteps) {
    System.arraycopy(fullExpAvg, from, expAvg, 0, to - from);
    System.arraycopy(fullExpAvgSq, from, expAvgSq, 0, to - from);
    steps = savedSteps;
  }

  /** The parameters (in map order) flattened into one vector. */
  public static double[] flatten(Map<String, NDArray> tensors) {
    long total = 0;
    for (NDArray a : tensors.values()) {
      total += a.getShape().size();
    }
    double[] out = new double[Math.toIntExact(total)];
    int off = 0;
    for (NDArray a : tensors.values()) {
      double[] v = a.getDataType() == DataType.FLOAT64 ? a.toDoubleArray()
          : a.toType(DataType.FLOAT64, false).toDoubleArray();
      System.arraycopy(v, 0, out, off, v.length);
      off += v.length;
    }
    return out;
  }

  /** Writes a flat vector back into the tensors (in place, map order). */
  public static void unflatten(double[] flat, Map<String, NDArray> tensors) {
    int off = 0;
    for (NDArray a : tensors.values()) {
      int n = Math.toIntExact(a.getShape().size());
      if (a.getDataType() == DataType.FLOAT64) {
        double[] part = new double[n];
        System.arraycopy(flat, off, part, 0, n);
        a.set(part);
      } else {
        float[] part = new float[n];
        for (int i = 0; i < n; i++) {
          part[i] = (float) flat[off + i];
        }
        a.set(part);
      }
      off += n;
    }
  }
}
