package dev.sparktune.jobs;

import dev.sparktune.train.StepBench;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code bench model} command: flags for {@link StepBench}, the trainer's own step timed. */
@Command(name = "model", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Times the trainer's LoRA training step (forward, loss, backward, AdamW on the device) on a random "
        + "Llama-shaped model (default ~59M parameters) and reports tokens/s, achieved GFLOP/s, the split "
        + "into phases and the process's peak RSS per thread count.",
        "FLOPs counted: forward 2·tokens·(linear params incl. LM head) + 4·B·heads·T²·head_dim per "
            + "layer (QKᵀ and PV); backward with a frozen base = the linear input gradients (1× forward "
            + "linears) + both attention operands (2× forward attention); LoRA terms are ignored (<1%%)."})
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

  @Option(names = "--hidden", defaultValue = "512", description = "Hidden size (default ${DEFAULT-VALUE}).") int hidden;
  @Option(names = "--layers", defaultValue = "8", description = "Decoder layers (default ${DEFAULT-VALUE}).") int layers;
  @Option(names = "--heads", defaultValue = "8", description = "Attention heads (default ${DEFAULT-VALUE}).") int heads;
  @Option(names = "--kv-heads", defaultValue = "8", description = "Key/value heads, fewer for GQA (default ${DEFAULT-VALUE}).") int kvHeads;
  @Option(names = "--intermediate", defaultValue = "1408", description = "MLP size (default ${DEFAULT-VALUE}).") int intermediate;
  @Option(names = "--vocab", defaultValue = "32000", description = "Vocabulary (default ${DEFAULT-VALUE}).") int vocab;
  @Option(names = "--base-quantization", defaultValue = "none",
      description = "none, int8 or nf4: the frozen base's linears held quantized (turns on gradient checkpointing).")
  String baseQuantization;

  @Option(names = "--lora-r", defaultValue = "16", description = "LoRA rank on every linear (default ${DEFAULT-VALUE}).") int loraR;

  @Override
  public Integer call() {
    if (!device.equals("cpu") && !device.equals("gpu")) {
      throw new IllegalArgumentException("--device " + device + ": expected cpu or gpu");
    }
    if (!attention.equals("fused") && !attention.equals("composed")) {
      throw new IllegalArgumentException("--attention " + attention + ": expected fused or composed");
    }
    if (!dev.sparktune.config.TrainConfig.BASE_QUANTIZATIONS.contains(baseQuantization)) {
      throw new IllegalArgumentException("--base-quantization " + baseQuantization + ": expected one of "
          + String.join(", ", dev.sparktune.config.TrainConfig.BASE_QUANTIZATIONS));
    }
    boolean recompute = checkpointing || !baseQuantization.equals("none"); // as train.base_quantization requires
    new StepBench(device, dtype, batch, seq, steps, recompute, attention, hidden, layers, heads, kvHeads,
        intermediate, vocab, loraR, baseQuantization).run(threads, System.out);
    return Main.OK;
  }
}
