package dev.sparktune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.sparktune.model.TorchOps;

/**
 * AdamW on one rank's shard of the flat trainable parameters, on the training device (ZeRO-1/2
 * style: after a reduce-scatter each rank owns 1/N of the summed gradient and keeps 1/N of the
 * moments), with torch.optim.AdamW's formula: decoupled weight decay, bias-corrected moments,
 * {@code p ← p·(1 − lr·wd) − lr · m̂ / (√v̂ + eps)}. Moments are device buffers in the masters'
 * dtype (float32; float64 in exactness tests); an update is one native call and nothing goes
 * through Java arrays.
 */
public final class DeviceAdamW implements AutoCloseable {
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final int from;
  private final int to;
  private final NDManager manager;
  private final NDArray expAvg; // (to - from), the masters' dtype
  private final NDArray expAvgSq; // (to - from)
  private long steps;

  /** Owns elements [from, to) of the flat parameter vector; its buffers live in {@code parent}'s device. */
  public DeviceAdamW(double beta1, double beta2, double eps, double weightDecay, int from, int to,
      DataType dtype, NDManager parent) {
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.from = from;
    this.to = to;
    this.manager = parent.newSubManager();
    this.expAvg = manager.zeros(new Shape(to - from), dtype);
    this.expAvgSq = manager.zeros(new Shape(to - from), dtype);
  }

  public long steps() {
    return steps;
  }

  public int from() {
    return from;
  }

  public int to() {
    return to;
  }

  /** Updates the shard {@code params} (to − from elements) in place from its summed, clipped gradient. */
  public void step(NDArray params, NDArray grads, double lr) {
    steps++;
    TorchOps.adamw(params, grads, expAvg, expAvgSq, lr, beta1, beta2, eps, weightDecay, steps);
  }

  /** This shard's moments, written into full-length host buffers at its own offsets (for a gather). */
  public void exportInto(double[] fullExpAvg, double[] fullExpAvgSq) {
    double[] m = expAvg.toType(DataType.FLOAT64, false).toDoubleArray();
    double[] v = expAvgSq.toType(DataType.FLOAT64, false).toDoubleArray();
    System.arraycopy(m, 0, fullExpAvg, from, m.length);
    System.arraycopy(v, 0, fullExpAvgSq, from, v.length);
  }

  /** Restores this shard from full-length moments saved by a checkpoint. */
  public void restore(double[] fullExpAvg, double[] fullExpAvgSq, long savedSteps) {
    try (NDManager tmp = manager.newSubManager()) {
      TorchOps.copyInto(expAvg, tmp.create(java.util.Arrays.copyOfRange(fullExpAvg, from, to)));
      TorchOps.copyInto(expAvgSq, tmp.create(java.util.Arrays.copyOfRange(fullExpAvgSq, from, to)));
    }
    steps = savedSteps;
  }

  @Override
  public void close() {
    manager.close();
  }
}
