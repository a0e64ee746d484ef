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

  private static volatile String bf16Problem; // null: not probed; "": bf16 works

  /**
   * Why this engine cannot compute in bfloat16, or null when it can. DJL's JNI as published on Maven
   * Central has no bf16 case in its dtype mapping and aborts the whole process on the first bf16
   * tensor, so the probe runs once in a child JVM with this one's classpath and environment.
   */
  public static synchronized String bf16Problem(ai.djl.Device device) {
    if (bf16Problem != null) {
      return bf16Problem.isEmpty() ? null : bf16Problem;
    }
    String result;
    try {
      java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("sparktune-bf16-probe");
      java.nio.file.Path src = dir.resolve("Bf16Probe.java");
      java.nio.file.Files.writeString(src, "public class Bf16Probe { public static void main(String[] a) {"
          + " try (var m = dev.sparktune.model.Torch.newManager(ai.djl.Device.fromName(a[0]))) {"
          + " var x = m.ones(new ai.djl.ndarray.types.Shape(4), ai.djl.ndarray.types.DataType.BFLOAT16);"
          + " System.out.println(\"bf16 sum \" + x.mul(x).toType(ai.djl.ndarray.types.DataType.FLOAT32, false)"
          + ".sum().getFloat()); } } }");
      String javaBin = java.nio.file.Paths.get(System.getProperty("java.home"), "bin", "java").toString();
      Process p = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), src.toString(),
          device.toString()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      boolean done = p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS);
      java.nio.file.Files.deleteIfExists(src);
      java.nio.file.Files.deleteIfExists(dir);
      if (done && p.exitValue() == 0 && out.contains("bf16 sum 4.0")) {
        result = "";
      } else if (out.contains("error: ") && out.contains("compil")) {
        result = "the bf16 probe could not be compiled by this JVM (" + javaBin + " lacks jdk.compiler)";
      } else {
        result = "this DJL PyTorch JNI cannot make a bfloat16 tensor (the probe exited with "
            + (done ? p.exitValue() : "a time-out") + "; the JNI on Maven Central has no bf16 case in "
            + "its dtype mapping and aborts the process)";
      }
    } catch (java.io.IOException | InterruptedException e) {
      result = "the bf16 probe could not run: " + e.getMessage();
    }
    bf16Problem = result;
    return result.isEmpty() ? null : result;
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
