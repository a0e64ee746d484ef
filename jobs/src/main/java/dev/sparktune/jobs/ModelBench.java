package dev.sparktune.jobs;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.sparktune.collective.Collective;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.lora.LoraConfig;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Flops;
import dev.sparktune.model.ModelConfig;
import dev.sparktune.model.ModelInit;
import dev.sparktune.model.Torch;
import dev.sparktune.train.Batch;
import dev.sparktune.train.LossScaler;
import dev.sparktune.train.TrainStage;
import dev.sparktune.train.TrainStep;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Training-step throughput of the trainer's own step ({@link TrainStep}: forward, loss, backward,
 * flat-buffer AdamW on the device) on a randomly initialised Llama shape with LoRA on every
 * linear, per PyTorch thread count: tokens/s, achieved GFLOP/s, the per-phase split and the peak
 * resident memory of the process while stepping (CPU).
 */
@Command(name = "bench-model", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Times the trainer's LoRA training step (forward, loss, backward, AdamW on the device) on a random "
        + "Llama-shaped model (default ~59M parameters) and reports tokens/s, achieved GFLOP/s, the split "
        + "into phases and the process's peak RSS per thread count.",
        "FLOPs counted: forward 2·tokens·(linear params incl. LM head) + 4·B·heads·T²·head_dim per "
            + "layer (QKᵀ and PV); backward with a frozen base = the linear input gradients (1× forward "
            + "linears) + both attention operands (2× forward attention); LoRA terms are ignored (<1%)."})
final class ModelBench implements Callable<Integer> {
  @Option(names = "--threads", split = ",", defaultValue = "1,2", description = "Thread counts (default ${DEFAULT-VALUE}).")
  int[] threads;

  @Option(names = "--device", defaultValue = "cpu", description = "cpu or gpu (GPU 0) (default ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--dtype", defaultValue = "auto",
      description = "auto (float32 on CPU, float16 on GPU), float32, float16 or bfloat16 (default ${DEFAULT-VALUE}).")
  String dtype;

  @Option(names = "--seq", defaultValue = "512", description = "Sequence length (default ${DEFAULT-VALUE}).")
  int seq;

  @Option(names = "--batch", defaultValue = "1", description = "Sequences per step (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--steps", defaultValue = "3", description = "Timed steps per thread count, after 1 warm-up (default ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--gradient-checkpointing", description = "Recompute each layer in backward.")
  boolean checkpointing;

  @Option(names = "--attention", defaultValue = "fused",
      description = "fused (libtorch's scaled_dot_product_attention) or composed (the reference) (default ${DEFAULT-VALUE}).")
  String attention;

  @Option(names = "--hidden", defaultValue = "512") int hidden;
  @Option(names = "--layers", defaultValue = "8") int layers;
  @Option(names = "--heads", defaultValue = "8") int heads;
  @Option(names = "--kv-heads", defaultValue = "8") int kvHeads;
  @Option(names = "--intermediate", defaultValue = "1408") int intermediate;
  @Option(names = "--vocab", defaultValue = "32000") int vocab;
  @Option(names = "--lora-r", defaultValue = "16") int loraR;

  @Override
  public Integer call() throws IOException {
    ModelConfig config = new ModelConfig("llama", vocab, hidden, intermediate, layers, heads, kvHeads,
        hidden / heads, 1e-6, ModelConfig.RopeScaling.plain(10000), false, false, Math.max(2048, seq),
        1, 2, 0);
    Device dev = device.equals("gpu") ? Device.gpu(0) : Device.cpu();
    DataType type = TrainStage.computeType(dtype, dev);
    long linearParams = Flops.linearParameters(config);
    long tokens = (long) batch * seq;
    double stepFlops = Flops.loraStep(config, batch, seq);

    try (NDManager manager = Torch.newManager(dev);
        CausalLm model = ModelInit.random(config, 1, type, manager);
        LoraAdapter adapter = LoraAdapter.create(config,
            new LoraConfig(loraR, 2.0 * loraR, 0.0, List.of("all-linear"), false, null), 2,
            DataType.FLOAT32, manager)) {
      model.setAttention(attention.equals("composed") ? CausalLm.Attention.COMPOSED : CausalLm.Attention.FUSED);
      model.setAdapter(adapter);
      adapter.setTrainable(true);
      TrainStep.Options options = new TrainStep.Options(0.9, 0.999, 1e-8, 0.0, 1.0, checkpointing, 1);
      System.out.printf("model: llama, %,d parameters (%,d in linears), LoRA r=%d on all linears "
          + "(%,d trainable); %s %s, %s attention%s; batch %d × seq %d = %d tokens/step; %.1f GFLOP/step%n",
          model.parameterCount(), linearParams, loraR,
          adapter.parameters().stream().mapToLong(a -> a.getShape().size()).sum(), dev, type, attention,
          checkpointing ? ", gradient checkpointing" : "", batch, seq, tokens, stepFlops / 1e9);
      SplittableRandom random = new SplittableRandom(3);
      long[] ids = new long[(int) tokens];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = random.nextInt(vocab);
      }
      List<int[]> micro = List.of(new int[] {0});
      System.out.printf("%-8s %9s %10s %9s   %-44s %10s%n", "threads", "s/step", "tokens/s", "GFLOP/s",
          "data / forward / backward / optimizer (s)", "peak RSS");
      try (TrainStep step = new TrainStep(model, adapter, Collective.single(), options,
          type == DataType.FLOAT16 ? LossScaler.standard() : null)) {
        for (int t : threads) {
          Torch.setThreads(t);
          resetPeakRss();
          double[] seconds = new double[steps];
          double[][] phases = new double[steps][];
          for (int s = -1; s < steps; s++) {
            long start = System.nanoTime();
            TrainStep.Outcome o = step.run(micro, (mb, m) -> new Batch(m.create(ids, new Shape(batch, seq)), null,
                m.create(ids, new Shape(batch, seq)), null, tokens, seq), tokens, 1e-4, s + 1);
            if (s >= 0) {
              seconds[s] = (System.nanoTime() - start) / 1e9;
              TrainStep.Phases p = o.phases();
              phases[s] = new double[] {p.data(), p.forward(), p.backward(), p.optimizer()};
            }
          }
          double median = median(seconds);
          double[] split = new double[4];
          for (int k = 0; k < 4; k++) {
            int kk = k;
            split[k] = median(Arrays.stream(phases).mapToDouble(p -> p[kk]).toArray());
          }
          System.out.printf("%-8d %9.3f %10.1f %9.1f   %-44s %10s%n", t, median, tokens / median,
              stepFlops / median / 1e9, String.format("%.3f / %.3f / %.3f / %.3f", split[0], split[1],
                  split[2], split[3]), peakRss());
        }
      }
    }
    return Main.OK;
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
          long kb = Long.parseLong(line.replaceAll("\\D", ""));
          return String.format("%.2f GiB", kb / 1024.0 / 1024.0);
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return "n/a";
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
