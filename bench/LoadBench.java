import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
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
 *   java -cp "/tmp/loadbench:pipeline/target/classes:jobs/target/lib/*" LoadBench MODEL_DIR nf4 [float32|float16]
 */
public class LoadBench {
  public static void main(String[] a) throws Exception {
    long start = System.nanoTime();
    DataType dtype = a.length > 2 && a[2].equals("float16") ? DataType.FLOAT16 : DataType.FLOAT32;
    try (NDManager manager = Torch.newManager();
        CausalLm lm = CausalLm.load(Path.of(a[0]), dtype, a[1], java.util.List.of(), manager)) {
      System.out.printf("loaded %s (%s, base %s) in %.1f s: base weights %.1f MiB%n", a[0], dtype, a[1],
          (System.nanoTime() - start) / 1e9, lm.weightBytes() / 1048576.0);
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM") || line.startsWith("VmRSS") || line.startsWith("RssAnon")
            || line.startsWith("RssFile")) {
          System.out.println(line.replaceAll("\\s+", " "));
        }
      }
    }
  }
}
