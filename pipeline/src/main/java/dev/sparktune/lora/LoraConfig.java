package dev.sparktune.lora;

import java.util.List;
import java.util.Set;

/**
 * LoRA hyper-parameters, named as PEFT's {@code LoraConfig} names them. {@code targetModules} are
 * module names matched as a suffix of the module path (q_proj … down_proj) or the single entry
 * {@code all-linear}; {@code layersToTransform} (null = all) limits the decoder layers.
 */
public record LoraConfig(int r, double alpha, double dropout, List<String> targetModules,
    boolean useRslora, List<Integer> layersToTransform) {

  /** The linear modules of a Llama-family decoder layer, in PEFT's usual order. */
  public static final List<String> LINEAR_MODULES =
      List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

  public LoraConfig {
    if (r <= 0) {
      throw new IllegalArgumentException("lora.r must be > 0, got " + r);
    }
    if (alpha <= 0) {
      throw new IllegalArgumentException("lora.alpha must be > 0, got " + alpha);
    }
    if (dropout < 0 || dropout >= 1) {
      throw new IllegalArgumentException("lora.dropout must be in [0, 1), got " + dropout);
    }
    if (targetModules == null || targetModules.isEmpty()) {
      throw new IllegalArgumentException("lora.target_modules must name at least one module "
          + "(e.g. [q_proj, v_proj] or all-linear)");
    }
    targetModules = List.copyOf(targetModules);
    if (targetModules.contains("all-linear")) {
      targetModules = LINEAR_MODULES;
    }
    for (String m : targetModules) {
      if (!LINEAR_MODULES.contains(m)) {
        throw new IllegalArgumentException("lora.target_modules: unknown module '" + m
            + "' (known: " + String.join(", ", LINEAR_MODULES) + ", all-linear)");
      }
    }
    // Keep PEFT's canonical order whatever order the user wrote, so key order is stable.
    targetModules = LINEAR_MODULES.stream().filter(Set.copyOf(targetModules)::contains).toList();
    if (layersToTransform != null) {
      layersToTransform = List.copyOf(layersToTransform);
    }
  }

  /** The factor on B(A(x)): alpha / r, or alpha / sqrt(r) with rsLoRA. */
  public double scaling() {
    return useRslora ? alpha / Math.sqrt(r) : alpha / r;
  }

  public boolean targets(int layer, String module) {
    return targetModules.contains(module)
        && (layersToTransform == null || layersToTransform.contains(layer));
  }
}
