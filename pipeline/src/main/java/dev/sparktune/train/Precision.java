package dev.sparktune.train;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.sparktune.model.Torch;

/** Which dtype training computes in, from {@code train.dtype} and the task's device (no Spark here). */
public final class Precision {
  private Precision() {}

  /**
   * The dtype of the frozen base and the activations: {@code auto} is float32 on the CPU and
   * float16 on a GPU; bfloat16 only where the engine can make bf16 tensors (probed once), otherwise
   * one clear error before any weight is loaded.
   */
  public static DataType computeType(String dtype, Device device) {
    switch (dtype) {
      case "float32":
        return DataType.FLOAT32;
      case "float16":
        return DataType.FLOAT16;
      case "bfloat16": {
        String problem = Torch.bf16Problem(device);
        if (problem != null) {
          throw new IllegalArgumentException("train.dtype bfloat16: " + problem
              + "; use train.dtype float16 (GPU) or float32");
        }
        return DataType.BFLOAT16;
      }
      default:
        return device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
    }
  }

  /** The dtype of the LoRA masters and AdamW's state for a base model in {@code compute}. */
  static DataType masterType(DataType compute) {
    return DataType.FLOAT64.equals(compute) ? compute : DataType.FLOAT32;
  }
}
