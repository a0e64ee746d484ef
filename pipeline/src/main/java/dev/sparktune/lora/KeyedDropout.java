package dev.sparktune.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import dev.sparktune.model.TorchOps;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Dropout whose masks depend on what is computed, not on where: the mask of one example row in one
 * module is drawn from a generator seeded by (run seed, optimizer step, example index, module path),
 * so one rank or N, a resumed run, a recomputed (checkpointed) layer and a rerun draw the same masks.
 *
 * <p>libtorch has one generator per device per process, so each draw seeds it and draws under one
 * lock: two training tasks in one executor (or rank threads in a test) cannot interleave. A row's
 * mask covers only its real tokens ({@code lengths}); padding keeps everything, which changes nothing
 * (pads carry no labels and, right-padded under a causal mask, no real token sees them), and keeps
 * the mask of a row independent of how long the other rows of its micro-batch are.
 */
public final class KeyedDropout {
  private KeyedDropout() {}

  private static final Object GENERATOR = new Object();

  /** The key of one example row of one optimizer step. */
  public static long rowKey(long seed, long step, long example) {
    long k = new SplittableRandom(seed).nextLong();
    k = new SplittableRandom(k ^ step * 0x9E3779B97F4A7C15L).nextLong();
    return new SplittableRandom(k ^ example * 0xC2B2AE3D27D4EB4FL).nextLong();
  }

  /** The seed of one row in one module: the row's key mixed with the module path. */
  static long seed(long rowKey, String module) {
    long h = 1125899906842597L; // a 64-bit string hash, fixed across JVMs and platforms
    for (byte b : module.getBytes(StandardCharsets.UTF_8)) {
      h = 31 * h + b;
    }
    return new SplittableRandom(rowKey ^ new SplittableRandom(h).nextLong()).nextLong();
  }

  /**
   * {@code x} with dropout {@code p} applied (kept values scaled by 1/(1-p), as torch's dropout).
   * x: (B, T, in); {@code rowKeys}, {@code lengths}: one per row. The mask is built without
   * gradient; the product is differentiable in x.
   */
  public static NDArray apply(NDArray x, double p, long[] rowKeys, int[] lengths, String module) {
    Shape shape = x.getShape();
    int rows = Math.toIntExact(shape.get(0));
    int length = Math.toIntExact(shape.get(1));
    long width = shape.get(shape.dimension() - 1);
    if (shape.dimension() != 3 || rowKeys.length != rows || lengths.length != rows) {
      throw new IllegalArgumentException("keyed dropout needs (B, T, in) with one key and length per row; got "
          + shape + ", " + rowKeys.length + " keys, " + lengths.length + " lengths");
    }
    NDManager m = x.getManager();
    NDArray[] masks = new NDArray[rows];
    for (int r = 0; r < rows; r++) {
      int real = Math.min(lengths[r], length);
      NDArray uniform;
      synchronized (GENERATOR) {
        JniUtils.setSeed(seed(rowKeys[r], module));
        uniform = m.randomUniform(0f, 1f, new Shape(real, width), DataType.FLOAT32, x.getDevice()); // (real, in)
      }
      NDArray keep = uniform.gte(p).toType(DataType.FLOAT32, false).muli(1.0 / (1.0 - p));
      masks[r] = real == length ? keep
          : NDArrays.concat(new NDList(keep, m.ones(new Shape(length - real, width), DataType.FLOAT32,
              x.getDevice()))); // (T, in)
    }
    NDArray mask = NDArrays.stack(new NDList(masks)); // (B, T, in)
    return x.mul(TorchOps.cast(mask, x.getDataType()));
  }
}
