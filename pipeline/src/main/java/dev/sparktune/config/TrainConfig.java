package dev.sparktune.config;

import static dev.sparktune.config.InvalidValue.orDefault;

import java.io.Serializable;
import java.util.List;

/**
 * Config of the train stage: the base model, the LoRA adapter, batching, AdamW, the learning-rate
 * schedule, evaluation, checkpoints and logging.
 *
 * @param baseModel Hugging Face model directory (config.json + safetensors) on storage the task reads
 * @param lora LoRA settings (see {@link LoraConfig})
 * @param microBatchSize sequences per forward/backward (default 4); padded to the longest one
 * @param gradAccumSteps micro-batches per optimizer step (default 1); the loss is the mean over all
 *     label tokens of all of them, so accumulation equals one big batch
 * @param epochs passes over the train split (default 1); ignored when max_steps is set
 * @param maxSteps optimizer steps (default: from epochs)
 * @param learningRate peak learning rate (default 2e-4)
 * @param weightDecay AdamW decoupled weight decay on the LoRA weights (default 0)
 * @param adamBeta1 default 0.9
 * @param adamBeta2 default 0.999
 * @param adamEps default 1e-8
 * @param schedule cosine (default), linear, constant or constant_with_warmup
 * @param warmupSteps warmup optimizer steps (default 0; or warmup_ratio of the total)
 * @param warmupRatio share of the total steps used for warmup when warmup_steps is 0
 * @param minLrRatio the schedule ends at this share of the peak (default 0)
 * @param maxGradNorm clip the global gradient norm to this (default 1.0; 0 = no clipping)
 * @param evalSteps evaluate every this many steps (default 0: only at the end)
 * @param saveSteps checkpoint every this many steps (default 0: only at the end)
 * @param saveTotalLimit keep this many latest checkpoints (default 2; best/ is kept apart)
 * @param loggingSteps a metrics line and a log line every this many steps (default 1)
 * @param seed LoRA init, data order and dropout (default 42)
 * @param dtype {@code auto} (float32 on CPU, float16 on a GPU), {@code float32}, {@code float16}
 *     (half-precision base and activations, float32 LoRA masters and AdamW state, dynamic loss
 *     scaling) or {@code bfloat16} (only where the engine can make bf16 tensors: probed first)
 * @param groupByLength sort micro-batches by length within a window (default false: it hurt quality)
 * @param threads PyTorch threads per task (default 0: every core the task has)
 * @param collectiveTimeoutSeconds how long a rank waits for a peer in the all-reduce before failing
 *     (default 300)
 * @param numWorkers training tasks, one per GPU (CPU: one per group of threads), run as one Spark
 *     barrier stage joined by a ring all-reduce (default 1)
 * @param gradientCheckpointing recompute each decoder layer's activations in backward instead of
 *     keeping them (default false, true with a quantized base): less memory, about one more forward
 *     pass of time
 * @param baseQuantization how the frozen base's decoder linear weights are held: {@code none}
 *     (default), {@code int8} (per output channel) or {@code nf4} (QLoRA's NormalFloat-4 with
 *     double-quantized block scales, as bitsandbytes does); dequantized per layer in forward.
 *     Needs gradient checkpointing: without it autograd keeps every layer's dequantized weights
 * @param gpuMemoryGb memory of one executor GPU in GiB: when set, training runs on GPUs and the
 *     train stage refuses, before it starts, a memory plan ({@code bin/sparktune plan}) that does not fit
 * @param quantizationSkipModules decoder linears a quantized base keeps in the compute dtype (of
 *     q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj; default none, as QLoRA).
 *     Embeddings, norms and the LM head are never quantized.
 */
public record TrainConfig(String baseModel, LoraConfig lora, Integer microBatchSize, Integer gradAccumSteps,
    Integer epochs, Integer maxSteps, Double learningRate, Double weightDecay, Double adamBeta1,
    Double adamBeta2, Double adamEps, String schedule, Integer warmupSteps, Double warmupRatio,
    Double minLrRatio, Double maxGradNorm, Integer evalSteps, Integer saveSteps, Integer saveTotalLimit,
    Integer loggingSteps, Long seed, String dtype, Boolean groupByLength, Integer threads,
    Integer collectiveTimeoutSeconds, Integer numWorkers, Boolean gradientCheckpointing, String baseQuantization,
    Double gpuMemoryGb, List<String> quantizationSkipModules) implements Serializable {

  /** The values {@code base_quantization} takes. */
  public static final List<String> BASE_QUANTIZATIONS = List.of("none", "int8", "nf4");

  /** The values {@code dtype} takes. */
  public static final List<String> DTYPES = List.of("auto", "float32", "float16", "bfloat16");

  public TrainConfig {
    baseModel = InvalidValue.required(baseModel, "base_model");
    lora = orDefault(lora, new LoraConfig(null, null, null, null, null, null));
    microBatchSize = orDefault(microBatchSize, 4);
    gradAccumSteps = orDefault(gradAccumSteps, 1);
    epochs = orDefault(epochs, 1);
    learningRate = orDefault(learningRate, 2e-4);
    weightDecay = orDefault(weightDecay, 0.0);
    adamBeta1 = orDefault(adamBeta1, 0.9);
    adamBeta2 = orDefault(adamBeta2, 0.999);
    adamEps = orDefault(adamEps, 1e-8);
    schedule = orDefault(schedule, "cosine");
    warmupSteps = orDefault(warmupSteps, 0);
    warmupRatio = orDefault(warmupRatio, 0.0);
    minLrRatio = orDefault(minLrRatio, 0.0);
    maxGradNorm = orDefault(maxGradNorm, 1.0);
    evalSteps = orDefault(evalSteps, 0);
    saveSteps = orDefault(saveSteps, 0);
    saveTotalLimit = orDefault(saveTotalLimit, 2);
    loggingSteps = orDefault(loggingSteps, 1);
    seed = orDefault(seed, 42L);
    dtype = orDefault(dtype, "auto");
    groupByLength = orDefault(groupByLength, Boolean.FALSE);
    threads = orDefault(threads, 0);
    numWorkers = orDefault(numWorkers, 1);
    baseQuantization = orDefault(baseQuantization, "none");
    if (!BASE_QUANTIZATIONS.contains(baseQuantization)) {
      throw new InvalidValue("base_quantization", "must be one of " + String.join(", ", BASE_QUANTIZATIONS));
    }
    quantizationSkipModules = List.copyOf(orDefault(quantizationSkipModules, List.of()));
    for (String m : quantizationSkipModules) {
      if (!LoraConfig.LINEAR_MODULES.contains(m)) {
        throw new InvalidValue("quantization_skip_modules", "'" + m + "' is not a decoder linear (one of "
            + String.join(", ", LoraConfig.LINEAR_MODULES) + "; embeddings, norms and the LM head are never quantized)");
      }
    }
    if (gpuMemoryGb != null && gpuMemoryGb <= 0) {
      throw new InvalidValue("gpu_memory_gb", "must be > 0");
    }
    gradientCheckpointing = orDefault(gradientCheckpointing, !baseQuantization.equals("none"));
    if (!baseQuantization.equals("none") && !gradientCheckpointing) {
      throw new InvalidValue("gradient_checkpointing", "must be true with base_quantization " + baseQuantization
          + ": without it autograd keeps every layer's dequantized weights until backward, more memory than a"
          + " dense base");
    }
    collectiveTimeoutSeconds = orDefault(collectiveTimeoutSeconds, 300);
    if (collectiveTimeoutSeconds < 1) {
      throw new InvalidValue("collective_timeout_seconds", "must be ≥ 1");
    }
    if (numWorkers < 1) {
      throw new InvalidValue("num_workers", "must be ≥ 1");
    }
    try {
      LrSchedule.of(schedule);
    } catch (IllegalArgumentException e) {
      throw new InvalidValue("schedule", e.getMessage());
    }
    if (!DTYPES.contains(dtype)) {
      throw new InvalidValue("dtype", "must be one of " + String.join(", ", DTYPES));
    }
    if (microBatchSize < 1 || gradAccumSteps < 1 || epochs < 1 || (maxSteps != null && maxSteps < 1)) {
      throw new InvalidValue(null, "micro_batch_size, grad_accum_steps, epochs and max_steps must be ≥ 1");
    }
    if (learningRate <= 0 || weightDecay < 0 || adamEps <= 0 || maxGradNorm < 0) {
      throw new InvalidValue(null, "learning_rate and adam_eps must be > 0; weight_decay and "
          + "max_grad_norm ≥ 0");
    }
    if (adamBeta1 < 0 || adamBeta1 >= 1 || adamBeta2 < 0 || adamBeta2 >= 1) {
      throw new InvalidValue(null, "adam_beta1 and adam_beta2 must be in [0, 1)");
    }
    if (warmupSteps < 0 || warmupRatio < 0 || warmupRatio >= 1 || minLrRatio < 0 || minLrRatio > 1) {
      throw new InvalidValue(null, "warmup_steps ≥ 0, warmup_ratio in [0, 1), min_lr_ratio in [0, 1]");
    }
    if (evalSteps < 0 || saveSteps < 0 || saveTotalLimit < 1 || loggingSteps < 1 || threads < 0) {
      throw new InvalidValue(null, "eval_steps, save_steps, threads ≥ 0; save_total_limit, "
          + "logging_steps ≥ 1");
    }
  }
}
