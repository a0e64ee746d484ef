package dev.sparktune.train;

import ai.djl.Device;
import dev.sparktune.model.Torch;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where a training task computes, and how to say it in the log. */
record Placement(Device device, String description) {
  private static final Logger LOG = LoggerFactory.getLogger(TrainStage.class);

  /**
   * The task's device: the first "gpu" address Spark assigned it (through CUDA_VISIBLE_DEVICES when
   * set), else the CPU. With no CUDA build of libtorch the trainer runs on the CPU and says so. The
   * device is always explicit, so tasks sharing an executor never all land on GPU 0.
   */
  static Placement of(BarrierTaskContext ctx) {
    ResourceInformation gpu = ctx.resources().get("gpu").getOrElse(() -> null);
    if (gpu == null || gpu.addresses().length == 0) {
      return new Placement(Device.cpu(), "cpu");
    }
    String address = gpu.addresses()[0];
    String visible = System.getenv("CUDA_VISIBLE_DEVICES");
    if (visible != null && !visible.isBlank()) {
      List<String> ids = List.of(visible.split(","));
      int index = ids.indexOf(address);
      address = index >= 0 ? String.valueOf(index) : address;
    }
    if (Torch.engine().getGpuCount() == 0) {
      LOG.warn("train: Spark gave this task gpu {} but libtorch sees no CUDA device; training on the CPU",
          gpu.addresses()[0]);
      return new Placement(Device.cpu(), "cpu (gpu " + gpu.addresses()[0] + " assigned, no CUDA)");
    }
    int index = Integer.parseInt(address.trim());
    return new Placement(Device.gpu(index), "gpu " + index);
  }
}
