package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

/**
 * The keys and values of the positions a model has already seen, per layer, so generation runs
 * one new token at a time. Owns its tensors (in its own manager), apart from the model's weights.
 */
public final class KvCache implements AutoCloseable {
  private final NDManager manager;
  private final NDArray[] keys; // per layer (B, nkv, S, hd)
  private final NDArray[] values; // per layer (B, nkv, S, hd)
  private int length;

  public KvCache(ModelConfig config, NDManager parent) {
    this.manager = parent.newSubManager();
    this.keys = new NDArray[config.numLayers()];
    this.values = new NDArray[config.numLayers()];
  }

  /** Positions cached so far. */
  public int length() {
    return length;
  }

  /** Appends k, v (B, nkv, T, hd) for one layer and returns the full (B, nkv, S, hd) pair. */
  NDArray[] append(int layer, NDArray k, NDArray v) {
    NDArray fullK = keys[layer] == null ? k.duplicate() : keys[layer].concat(k, 2);
    NDArray fullV = values[layer] == null ? v.duplicate() : values[layer].concat(v, 2);
    fullK.attach(manager);
    fullV.attach(manager);
    NDScope.unregister(fullK, fullV); // outlives the step's scope
    if (keys[layer] != null) {
      keys[layer].close();
      values[layer].close();
    }
    keys[layer] = fullK;
    values[layer] = fullV;
    return new NDArray[] {fullK, fullV};
  }

  void advance(int tokens) {
    length += tokens;
  }

  @Override
  public void close() {
    manager.close();
  }
}
