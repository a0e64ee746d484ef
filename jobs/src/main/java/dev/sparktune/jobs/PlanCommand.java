package dev.sparktune.jobs;

import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.config.TrainConfig;
import dev.sparktune.model.ModelConfig;
import dev.sparktune.train.MemoryPlan;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** plan: the training memory per device, from config.json and the train settings, without loading weights. */
@Command(name = "plan", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Prints the memory one training task needs (frozen base weights, LoRA + AdamW, activations, "
        + "logits, workspace, runtime) from the base model's config.json and the train settings, without loading "
        + "any weights, and whether it fits the executors' GPUs (train.gpu_memory_gb). The train stage runs the "
        + "same check before it starts and refuses a plan that does not fit.",
        "Exit code 1 when the plan does not fit."})
final class PlanCommand implements Callable<Integer> {
  @Mixin ConfigOptions configOptions = new ConfigOptions();

  @Option(names = "--device", description = "cpu or gpu (default: gpu when train.gpu_memory_gb or "
      + "spark.executor.resource.gpu.amount is set).")
  String device;

  @Override
  public Integer call() throws IOException {
    SparktuneConfig config = configOptions.load();
    TrainConfig train = config.train();
    if (train == null) {
      throw new IllegalArgumentException("the config has no train section");
    }
    Path dir = Path.of(train.baseModel());
    ModelConfig model;
    try {
      model = ModelConfig.read(dir);
    } catch (IOException e) {
      throw new IllegalArgumentException("train.base_model " + dir + ": " + e.getMessage());
    }
    String amount = config.spark() == null ? null : config.spark().conf().get("spark.executor.resource.gpu.amount");
    boolean gpu = device != null ? device.equals("gpu")
        : train.gpuMemoryGb() != null || amount != null && Double.parseDouble(amount) > 0;
    int seq = config.tokenize() == null ? 2048 : config.tokenize().maxLength();
    MemoryPlan.Setting s = MemoryPlan.setting(train, seq, gpu);
    MemoryPlan plan = MemoryPlan.of(model, train.lora(), s);
    System.out.printf(Locale.ROOT, "%s (%s, %d layers, hidden %d, vocab %d) on %s, %d bytes per value, base %s%s;%n"
        + "micro-batch %d × %d tokens, LoRA r=%d on %s, %d training task(s):%n", dir, model.modelType(),
        model.numLayers(), model.hiddenSize(), model.vocabSize(), gpu ? "a GPU" : "a CPU", s.bytesPerValue(),
        s.quantization() + (s.keepDense().isEmpty() || s.quantization().equals("none") ? ""
            : " (" + String.join(",", s.keepDense()) + " dense)"), s.checkpointing() ? ", gradient checkpointing" : "",
        s.batch(), s.seq(), train.lora().r(),
        String.join(",", train.lora().targetModules()), s.ranks());
    System.out.print(plan.table());
    if (gpu && train.gpuMemoryGb() != null) {
      boolean fits = plan.fits(train.gpuMemoryGb());
      System.out.printf(Locale.ROOT, "%s train.gpu_memory_gb %.1f GiB%n", fits ? "fits" : "DOES NOT FIT",
          train.gpuMemoryGb());
      return fits ? Main.OK : Main.STAGE_FAILED;
    }
    if (gpu) {
      System.out.println("set train.gpu_memory_gb to the executors' GPU memory to check the fit");
    } else if (!s.checkpointing()) {
      System.out.println("note: on a CPU without gradient checkpointing glibc keeps freed forward buffers; the"
          + " peak RSS measured on a 1.1B shape was 31 % above this plan (docs/benchmarks.md)");
    }
    return Main.OK;
  }
}
