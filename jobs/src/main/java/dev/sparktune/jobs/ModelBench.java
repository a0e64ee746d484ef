package dev.sparktune.jobs;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.lora.LoraConfig;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Flops;
import dev.sparktune.model.ModelConfig;
import dev.sparktune.model.ModelInit;
import dev.sparktune.model.Torch;
import dev.sparktune.train.ShardedAdamW;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Training-step throughput (forward, backward, AdamW) of a LoRA step on a randomly initialised Llama shape (frozen base,
 * adapters on every linear), per PyTorch thread count: tokens/s and achieved GFLOP/s.
 */
@Command(name = "bench-model", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Times a LoRA training step (forward, loss, backward, AdamW update) on a random Llama-shaped model "
        + "(default ~59M parameters) and reports tokens/s and achieved GFLOP/s per thread count.",
        "FLOPs counted: forward 2·tokens·(linear params incl. LM head) + 4·B·heads·T²·head_dim per "
            + "layer (QKᵀ and PV); backward with a frozen base = the linear input gradients (1× forward "
            + "linears) + both attention operands (2× forward attention); LoRA terms are ignored (<1%)."})
final class ModelBench implements Callable<Integer> {
  @Option(names = "--threads", split = ",", defaultValue = "1,2", description = "Thread counts (default ${DEFAULT-VALUE}).")
  int[] threads;

  @Option(names = "--seq", defaultValue = "512", description = "Sequence length (default ${DEFAULT-VALUE}).")
  int seq;

  @Option(names = "--batch", defaultValue = "1", description = "Sequences per step (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--steps", defaultValue = "3", description = "Timed steps per thread count, after 1 warm-up (default ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--hidden", defaultValue = "512") int hidden;
  @Option(names = "--layers", defaultValue = "8") int layers;
  @Option(names = "--heads", defaultValue = "8") int heads;
  @Option(names = "--kv-heads", defaultValue = "8") int kvHeads;
  @Option(names = "--intermediate", defaultValue = "1408") int intermediate;
  @Option(names = "--vocab", defaultValue = "32000") int vocab;
  @Option(names = "--lora-r", defaultValue = "16") int loraR;

  @Override
  public Integer call() {
    ModelConfig config = new ModelConfig("llama", vocab, hidden, intermediate, layers, heads, kvHeads,
        hidden / heads, 1e-6, ModelConfig.RopeScaling.plain(10000), false, false, Math.max(2048, seq),
        1, 2, 0);
    long linearParams = Flops.linearParameters(config);
    long tokens = (long) batch * seq;
    double stepFlops = Flops.loraStep(config, batch, seq);

    try (NDManager manager = Torch.newManager();
        CausalLm model = ModelInit.random(config, 1, DataType.FLOAT32, manager);
        LoraAdapter adapter = LoraAdapter.create(config,
            new LoraConfig(loraR, 2.0 * loraR, 0.0, List.of("all-linear"), false, null), 2,
            DataType.FLOAT32, manager)) {
      int trainable = Math.toIntExact(adapter.parameters().stream().mapToLong(a -> a.getShape().size()).sum());
      ShardedAdamW optimizer = new ShardedAdamW(0.9, 0.999, 1e-8, 0.0, 0, trainable);
      model.setAdapter(adapter);
      adapter.setTrainable(true);
      System.out.printf("model: llama, %,d parameters (%,d in linears), LoRA r=%d on all linears "
          + "(%,d trainable); batch %d × seq %d = %d tokens/step; %.1f GFLOP/step%n",
          model.parameterCount(), linearParams, loraR,
          adapter.parameters().stream().mapToLong(a -> a.getShape().size()).sum(), batch, seq, tokens,
          stepFlops / 1e9);
      SplittableRandom random = new SplittableRandom(3);
      long[] ids = new long[(int) tokens];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = random.nextInt(vocab);
      }
      System.out.printf("%-8s %12s %12s %12s%n", "threads", "s/step", "tokens/s", "GFLOP/s");
      for (int t : threads) {
        Torch.setThreads(t);
        double[] seconds = new double[steps];
        for (int s = -1; s < steps; s++) {
          long start = System.nanoTime();
          step(model, adapter, optimizer, manager, ids);
          if (s >= 0) {
            seconds[s] = (System.nanoTime() - start) / 1e9;
          }
        }
        double median = median(seconds);
        System.out.printf("%-8d %12.3f %12.1f %12.1f%n", t, median, tokens / median,
            stepFlops / median / 1e9);
      }
    }
    return Main.OK;
  }

  /** One training step as the trainer takes it: forward, loss, backward, AdamW update, zero grads. */
  private void step(CausalLm model, LoraAdapter adapter, ShardedAdamW optimizer, NDManager manager,
      long[] ids) {
    try (NDManager step = manager.newSubManager()) {
      try (Torch.GradMode on = Torch.gradMode(true)) {
        NDArray input = step.create(ids, new Shape(batch, seq));
        NDArray logits = model.forward(input, null, null, true);
        Torch.backward(CausalLm.loss(logits, input));
      }
      try (Torch.GradMode off = Torch.gradMode(false)) {
        Map<String, NDArray> params = adapter.peftTensors();
        Map<String, NDArray> grads = new LinkedHashMap<>();
        params.forEach((k, p) -> {
          NDArray g = p.getGradient();
          g.attach(step);
          grads.put(k, g);
        });
        double[] flatGrads = ShardedAdamW.flatten(grads);
        grads.values().forEach(g -> g.muli(0)); // PyTorch accumulates into .grad
        double[] flat = ShardedAdamW.flatten(params);
        optimizer.step(flat, flatGrads, 1e-4);
        ShardedAdamW.unflatten(flat, params);
      }
    }
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
