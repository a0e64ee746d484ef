package dev.sparktune.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The one door to DJL's PyTorch engine: it is started offline (native libraries from the Maven jars,
 * no download, no tracking probe), and autograd is driven per thread through PyTorch's own grad
 * mode rather than DJL's {@code GradientCollector}, which allows only one open collector per JVM
 * (two training tasks in one executor would collide).
 */
public final class Torch {
  private Torch() {}

  private static volatile Engine engine;

  /** The PyTorch engine, started offline on first use. */
  public static Engine engine() {
    Engine e = engine;
    if (e == null) {
      synchronized (Torch.class) {
        if (engine == null) {
          setIfAbsent("ai.djl.offline", "true");
          setIfAbsent("OPT_OUT_TRACKING", "true");
          engine = Engine.getEngine("PyTorch");
        }
        e = engine;
      }
    }
    return e;
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null && System.getenv(key) == null) {
      System.setProperty(key, value);
    }
  }

  /** A new root manager on the engine's default device (CPU here, the task's GPU on an executor). */
  public static NDManager newManager() {
    return engine().newBaseManager();
  }

  /** A new root manager on {@code device} (a training task's assigned GPU, or the CPU). */
  public static NDManager newManager(ai.djl.Device device) {
    return engine().newBaseManager(device);
  }

  /** Sets PyTorch's intra-op thread count (one per core the task owns). */
  public static void setThreads(int threads) {
    engine();
    JniUtils.setNumThreads(threads);
  }

  /** Turns grad mode on or off for this thread until the returned handle is closed. */
  public static GradMode gradMode(boolean enabled) {
    engine();
    boolean previous = JniUtils.isGradMode();
    JniUtils.setGradMode(enabled);
    return () -> JniUtils.setGradMode(previous);
  }

  /** Restores the thread's previous grad mode. */
  public interface GradMode extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Back-propagates a scalar; gradients accumulate into every array that requires them (PyTorch
   * semantics: zero them between steps yourself).
   */
  public static void backward(NDArray scalar) {
    try (NDArray seed = scalar.onesLike()) {
      JniUtils.backward((PtNDArray) scalar, (PtNDArray) seed, false, false);
    }
  }
}
