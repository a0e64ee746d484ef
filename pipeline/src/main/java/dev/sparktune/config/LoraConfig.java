package dev.sparktune.config;

import static dev.sparktune.config.InvalidValue.orDefault;

import java.io.Serializable;
import java.util.List;
import java.util.Set;

/**
 * LoRA settings (the {@code train.lora} section), named as PEFT's {@code LoraConfig} names them; the
 * adapter code uses this record as it is. {@code targetModules} are module names matched as a
 * suffix of the module path (q_proj … down_proj), or the single entry {@code all-linear}; the
 * record holds them resolved, in PEFT's canonical order.
 *
 * @param r rank (default 8)
 * @param alpha scaling numerator (default 16)
 * @param dropout on the adapter's input (default 0.05)
 * @param targetModules module names or [all-linear] (default [q_proj, v_proj])
 * @param useRslora scaling alpha/sqrt(r) instead of alpha/r (default false)
 * @param layersToTransform only these decoder layers (default: all)
 */
public record LoraConfig(Integer r, Double alpha, Double dropout, List<String> targetModules,
    Boolean useRslora, List<Integer> layersToTransform) implements Serializable {

  /** The linear modules of a Llama-family decoder layer, in PEFT's usual order. */
  public static final List<String> LINEAR_MODULES =
      List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

  public LoraConfig {
    r = orDefault(r, 8);
    alpha = orDefault(alpha, 16.0);
    dropout = orDefault(dropout, 0.05);
    useRslora = orDefault(useRslora, Boolean.FALSE);
    if (r <= 0) {
      throw new InvalidValue("r", "must be > 0, got " + r);
    }
    if (alpha <= 0) {
      throw new InvalidValue("alpha", "must be > 0, got " + alpha);
    }
    if (dropout < 0 || dropout >= 1) {
      throw new InvalidValue("dropout", "must be in [0, 1), got " + dropout);
    }
    targetModules = resolve(orDefault(targetModules, List.of("q_proj", "v_proj")));
    if (layersToTransform != null) {
      layersToTransform = List.copyOf(layersToTransform);
    }
  }

  private static List<String> resolve(List<String> modules) {
    if (modules.isEmpty()) {
      throw new InvalidValue("target_modules", "must name at least one module "
          + "(e.g. [q_proj, v_proj] or all-linear)");
    }
    if (modules.contains("all-linear")) {
      return LINEAR_MODULES;
    }
    for (String m : modules) {
      if (!LINEAR_MODULES.contains(m)) {
        throw new InvalidValue("target_modules", "unknown module '" + m
            + "' (known: " + String.join(", ", LINEAR_MODULES) + ", all-linear)");
      }
    }
    // Keep PEFT's canonical order whatever order the user wrote, so key order is stable.
    return LINEAR_MODULES.stream().filter(Set.copyOf(modules)::contains).toList();
  }

  /** The factor on B(A(x)): alpha / r, or alpha / sqrt(r) with rsLoRA. */
  public double scaling() {
    return useRslora ? alpha / Math.sqrt(r) : alpha / r;
  }

  /** Whether module {@code module} (q_proj …) of decoder layer {@code layer} gets an adapter. */
  public boolean targets(int layer, String module) {
    return targetModules.contains(module)
        && (layersToTransform == null || layersToTransform.contains(layer));
  }
}
