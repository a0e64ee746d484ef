package dev.sparktune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW with decoupled weight decay, exactly as torch.optim.AdamW computes it (bias-corrected
 * moments; {@code p ← p·(1 − lr·wd) − lr · m̂ / (√v̂ + eps)}). Its moments live in their own manager,
 * outside any step's scope, and are saved and restored with a checkpoint.
 */
public final class AdamW implements AutoCloseable {
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final NDManager manager;
  private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
  private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
  private long steps;

  public AdamW(double beta1, double beta2, double eps, double weightDecay, NDManager parent) {
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.manager = parent.newSubManager();
  }

  public long steps() {
    return steps;
  }

  /** Applies one update to every parameter with its gradient; call with grad mode off. */
  public void step(Map<String, NDArray> params, Map<String, NDArray> grads, double lr) {
    steps++;
    double bias1 = 1 - Math.pow(beta1, steps);
    double bias2 = 1 - Math.pow(beta2, steps);
    for (Map.Entry<String, NDArray> e : params.entrySet()) {
      String name = e.getKey();
      NDArray p = e.getValue();
      NDArray g = grads.get(name);
      NDArray m = expAvg.computeIfAbsent(name, k -> state(p));
      NDArray v = expAvgSq.computeIfAbsent(name, k -> state(p));
      try (NDScope scope = new NDScope()) {
        m.muli(beta1).addi(g.mul(1 - beta1));
        v.muli(beta2).addi(g.square().mul(1 - beta2));
        if (weightDecay != 0) {
          p.muli(1 - lr * weightDecay);
        }
        NDArray denom = v.div(bias2).sqrt().add(eps);
        p.subi(m.div(denom).mul(lr / bias1));
      }
    }
  }

  private NDArray state(NDArray like) {
    NDArray z = manager.zeros(like.getShape(), like.getDataType());
    NDScope.unregister(z);
    return z;
  }

  /** The moments under {@code <param>.exp_avg} / {@code .exp_avg_sq} keys, for a checkpoint. */
  public Map<String, NDArray> state() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    expAvg.forEach((k, v) -> out.put(k + ".exp_avg", v));
    expAvgSq.forEach((k, v) -> out.put(k + ".exp_avg_sq", v));
    return out;
  }

  /** Restores moments and the step count saved by {@link #state()}. */
  public void restore(Map<String, NDArray> saved, long savedSteps, DataType dtype) {
    saved.forEach((k, v) -> {
      NDArray copy = v.toType(dtype, true);
      copy.attach(manager);
      NDScope.unregister(copy);
      if (k.endsWith(".exp_avg_sq")) {
        expAvgSq.put(k.substring(0, k.length() - ".exp_avg_sq".length()), copy);
      } else if (k.endsWith(".exp_avg")) {
        expAvg.put(k.substring(0, k.length() - ".exp_avg".length()), copy);
      } else {
        throw new IllegalArgumentException("optimizer state has an unknown tensor " + k);
      }
    });
    steps = savedSteps;
  }

  @Override
  public void close() {
    manager.close();
  }
}
