import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Torch;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a Hugging Face model directory as the train stage does (CausalLm.load, optionally with the
 * base quantized at load) and prints the time, the base's weight memory and the process's memory:
 * peak RSS (VmHWM), and RSS now split into anonymous and file-backed pages (mapped checkpoint pages
 * would show as RssFile).
 *   javac -cp "pipeline/target/classes:jobs/target/lib/*" -d /tmp/loadbench bench/LoadBench.java
 *   java -cp "/tmp/loadbench:pipeline/target/classes:jobs/target/lib/*" LoadBench MODEL_DIR nf4 [float32|float16] [cpu|gpu]
 * Then one forward pass over 2 × 64 random tokens, to show the loaded model computes (finite logits).
 */
public class LoadBench {
  public static void main(String[] a) throws Exception {
    long start = System.nanoTime();
    DataType dtype = a.length > 2 && a[2].equals("float16") ? DataType.FLOAT16 : DataType.FLOAT32;
    Device device = a.length > 3 && a[3].equals("gpu") ? Device.gpu(0) : Device.cpu();
    try (NDManager manager = Torch.newManager(device);
        CausalLm lm = CausalLm.load(Path.of(a[0]), dtype, a[1], java.util.List.of(), manager)) {
      System.out.printf("loaded %s (%s, base %s) in %.1f s: base weights %.1f MiB%n", a[0], dtype, a[1],
          (System.nanoTime() - start) / 1e9, lm.weightBytes() / 1048576.0);
      long[] ids = new java.util.SplittableRandom(1).longs(128, 0, 32000).toArray();
      try (Torch.GradMode off = Torch.gradMode(false);
          NDArray logits = lm.forward(manager.create(ids, new Shape(2, 64)), null, null, false)) {
        NDArray f = logits.toType(DataType.FLOAT32, false);
        System.out.printf("forward 2 x 64 on %s: logits %s, finite %s, mean %.4f, std %.4f%n", device, logits.getShape(),
            f.isInfinite().any().getBoolean() || f.isNaN().any().getBoolean() ? "no" : "yes", f.mean().getFloat(),
            f.sub(f.mean()).square().mean().sqrt().getFloat());
      }
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM") || line.startsWith("VmRSS") || line.startsWith("RssAnon")
            || line.startsWith("RssFile")) {
          System.out.println(line.replaceAll("\\s+", " "));
        }
      }
    }
  }
}
