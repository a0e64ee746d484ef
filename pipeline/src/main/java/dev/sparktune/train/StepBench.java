package dev.sparktune.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.sparktune.collective.Collective;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Flops;
import dev.sparktune.model.ModelConfig;
import dev.sparktune.model.ModelInit;
import dev.sparktune.model.Torch;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The training-step benchmark behind {@code bench model} (and the GPU kit's main): the trainer's
 * own {@link TrainStep} on a randomly initialised Llama shape with LoRA on every linear, per thread
 * count: tokens/s, achieved GFLOP/s, the per-phase split and the process's peak RSS.
 *
 * @param dtype auto, float32, float16 or bfloat16 (as {@code train.dtype})
 * @param attention fused or composed
 * @param baseQuantization none, int8 or nf4 (as {@code train.base_quantization})
 */
public record StepBench(String device, String dtype, int batch, int seq, int steps, boolean checkpointing,
    String attention, int hidden, int layers, int heads, int kvHeads, int intermediate, int vocab,
    int loraR, String baseQuantization) {

  public StepBench(String device, String dtype, int batch, int seq, int steps, boolean checkpointing,
      String attention, int hidden, int layers, int heads, int kvHeads, int intermediate, int vocab, int loraR) {
    this(device, dtype, batch, seq, steps, checkpointing, attention, hidden, layers, heads, kvHeads, intermediate,
        vocab, loraR, "none");
  }

  /** Quantizes the base as asked, puts the adapter on, and prints the base's weight memory. */
  private void prepare(CausalLm model, LoraAdapter adapter, PrintStream out) {
    long denseBytes = model.weightBytes();
    model.quantizeBase(baseQuantization);
    model.setAttention(attention.equals("composed") ? CausalLm.Attention.COMPOSED : CausalLm.Attention.FUSED);
    model.setAdapter(adapter);
    out.printf("base weights: %.1f MiB (%s; dense %.1f MiB)%n", model.weightBytes() / 1048576.0, baseQuantization,
        denseBytes / 1048576.0);
    adapter.setTrainable(true);
  }

  /** Runs the benchmark for each thread count and prints a table to {@code out}. */
  public void run(int[] threads, PrintStream out) {
    ModelConfig config = new ModelConfig("llama", vocab, hidden, intermediate, layers, heads, kvHeads,
        hidden / heads, 1e-6, ModelConfig.RopeScaling.plain(10000), false, false, Math.max(2048, seq),
        1, 2, 0);
    Device dev = device.equals("gpu") ? Device.gpu(0) : Device.cpu();
    DataType type = Precision.computeType(dtype, dev);
    long tokens = (long) batch * seq;
    int[] rowLengths = new int[batch];
    java.util.Arrays.fill(rowLengths, seq);
    double stepFlops = Flops.loraStep(config, batch, seq);
    try (NDManager manager = Torch.newManager(dev);
        CausalLm model = ModelInit.randomOnDevice(config, 1, type, manager);
        LoraAdapter adapter = LoraAdapter.create(config,
            new LoraConfig(loraR, 2.0 * loraR, 0.0, List.of("all-linear"), false, null), 2,
            DataType.FLOAT32, manager)) {
      prepare(model, adapter, out);
      out.printf("model: llama, %,d parameters (%,d in linears), LoRA r=%d on all linears (%,d trainable); "
          + "%s %s, %s attention%s; batch %d × seq %d = %d tokens/step; %.1f GFLOP/step%n",
          model.parameterCount(), Flops.linearParameters(config), loraR,
          adapter.parameters().stream().mapToLong(a -> a.getShape().size()).sum(), dev, type, attention,
          checkpointing ? ", gradient checkpointing" : "", batch, seq, tokens, stepFlops / 1e9);
      SplittableRandom random = new SplittableRandom(3);
      long[] ids = new long[(int) tokens];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = random.nextInt(vocab);
      }
      out.printf("%-8s %9s %10s %9s   %-44s %10s%n", "threads", "s/step", "tokens/s", "GFLOP/s",
          "data / forward / backward / optimizer (s)", "peak RSS");
      TrainStep.Options options = new TrainStep.Options(0.9, 0.999, 1e-8, 0.0, 1.0, checkpointing, 1);
      try (TrainStep step = new TrainStep(model, adapter, Collective.single(), options,
          type == DataType.FLOAT16 ? LossScaler.standard() : null)) {
        for (int t : threads) {
          Torch.setThreads(t);
          resetPeakRss();
          double[] seconds = new double[steps];
          double[][] phases = new double[4][steps];
          for (int s = -1; s < steps; s++) {
            long start = System.nanoTime();
            TrainStep.Outcome o = step.run(List.of(new int[] {0}), (mb, m) -> new Batch(
                m.create(ids, new Shape(batch, seq)), m.create(ids, new Shape(batch, seq)), null, tokens, seq,
                java.util.stream.IntStream.range(0, batch).toArray(), rowLengths), tokens, 1e-4, s + 1);
            if (s >= 0) {
              seconds[s] = (System.nanoTime() - start) / 1e9;
              TrainStep.Phases p = o.phases();
              double[] split = {p.data(), p.forward(), p.backward(), p.optimizer()};
              for (int k = 0; k < 4; k++) {
                phases[k][s] = split[k];
              }
            }
          }
          double median = median(seconds);
          out.printf("%-8d %9.3f %10.1f %9.1f   %-44s %10s%n", t, median, tokens / median,
              stepFlops / median / 1e9, String.format("%.3f / %.3f / %.3f / %.3f", median(phases[0]),
                  median(phases[1]), median(phases[2]), median(phases[3])), peakRss());
        }
      }
    }
  }

  /** Resets the kernel's high-water mark of this process's RSS (Linux), so the next read is this run's. */
  private static void resetPeakRss() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    } catch (IOException | RuntimeException e) {
      // not Linux, or not allowed: the peak then covers the whole process
    }
  }

  private static String peakRss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return String.format("%.2f GiB", Long.parseLong(line.replaceAll("\\D", "")) / 1024.0 / 1024.0);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return "n/a";
  }

  /** The median of {@code values} (the benchmarks' summary of repeated timings). */
  public static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
