package dev.sparktune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.sparktune.collective.Collective;
import dev.sparktune.lora.KeyedDropout;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Flops;
import dev.sparktune.model.Torch;
import dev.sparktune.model.TorchOps;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * One optimizer step of LoRA training on one rank: forward and backward of each micro-batch
 * (optionally recomputing each decoder layer in backward, and with float16 loss scaling), the
 * gradients gathered into one flat buffer on the device, summed over ranks, clipped by the
 * global norm and applied by {@link DeviceAdamW} to this rank's shard. With one rank nothing
 * leaves the device but a few scalars; with more, the flat gradient crosses to the host once for
 * the ring and the updated parameters once back. Times each phase.
 */
public final class TrainStep implements AutoCloseable {
  /** Optimizer and memory settings of the step. */
  public record Options(double beta1, double beta2, double eps, double weightDecay, double maxGradNorm,
      boolean gradientCheckpointing, long seed) {}

  /** Seconds spent per phase of one step (GPU work is counted where the host waits for it). */
  public record Phases(double data, double forward, double backward, double optimizer, double collective) {}

  /**
   * What one step did, summed over ranks.
   *
   * @param lossSum summed token loss (natural log) over the step's label tokens
   * @param skipped true when the loss scaler found inf/NaN gradients and the update was skipped
   */
  public record Outcome(double lossSum, double realTokens, double flops, double gradNorm, boolean skipped,
      double lossScale, Phases phases) {}

  private final CausalLm model;
  private final List<NDArray> params; // A, B per module, in adapter_model.safetensors order
  private final List<String> names; // their PEFT keys
  private final Collective collective;
  private final Options options;
  private final LossScaler scaler; // null: float32
  private final NDManager manager;
  private final NDArray flat; // (N) the parameters, masters' dtype, on the device
  private final DeviceAdamW optimizer;
  private final int length;

  /**
   * @param adapter the trainable adapter, already on {@code model}, float32 masters
   * @param scaler float16 loss scaling, or null for none
   */
  public TrainStep(CausalLm model, LoraAdapter adapter, Collective collective, Options options,
      LossScaler scaler) {
    this.model = model;
    this.collective = collective;
    this.options = options;
    this.scaler = scaler;
    this.manager = model.manager().newSubManager();
    java.util.Map<String, NDArray> tensors = adapter.peftTensors();
    this.params = new ArrayList<>(tensors.values());
    this.names = new ArrayList<>(tensors.keySet());
    NDArray[] pieces = new NDArray[params.size()];
    try (Torch.GradMode off = Torch.gradMode(false)) {
      for (int i = 0; i < pieces.length; i++) {
        pieces[i] = params.get(i).flatten();
      }
      NDArray f = NDArrays.concat(new NDList(pieces));
      f.attach(manager);
      this.flat = f;
    }
    this.length = Math.toIntExact(flat.getShape().size());
    this.optimizer = new DeviceAdamW(options.beta1(), options.beta2(), options.eps(), options.weightDecay(),
        collective.shardStart(collective.rank(), length), collective.shardEnd(collective.rank(), length),
        flat.getDataType(), manager);
  }

  /** Trainable parameter count (the flat buffer's length). */
  public int size() {
    return length;
  }

  public DeviceAdamW optimizer() {
    return optimizer;
  }

  /**
   * Runs one step over this rank's micro-batches.
   *
   * @param microBatches this rank's example indices per micro-batch
   * @param batches builds a micro-batch's tensors in the given (short-lived) manager
   * @param labelTokens label tokens of the whole step over every rank: the loss is their mean
   * @param step the optimizer step (with the seed and each example's index, keys its dropout masks)
   */
  public Outcome run(List<int[]> microBatches, BiFunction<int[], NDManager, Batch> batches,
      long labelTokens, double lr, int step) {
    long[] nanos = new long[5];
    double scale = scaler == null ? 1.0 : scaler.scale();
    double[] totals = accumulate(microBatches, batches, labelTokens, scale, step, nanos);
    return apply(totals, labelTokens, lr, step, scale, nanos);
  }

  /**
   * Forward and backward of this rank's micro-batches: the gradients of {@code scale} × the step's
   * mean token loss accumulate in the adapter's parameters. Returns the loss sum, the real tokens
   * and the FLOPs; adds data, forward and backward time to {@code nanos}[0..2].
   */
  double[] accumulate(List<int[]> microBatches, BiFunction<int[], NDManager, Batch> batches,
      long labelTokens, double scale, int step, long[] nanos) {
    double[] totals = new double[3]; // loss sum, real tokens, FLOPs
    int layers = model.config().numLayers();
    for (int k = 0; k < microBatches.size(); k++) {
      int[] mb = microBatches.get(k);
      try (NDManager m = manager.newSubManager(); Torch.GradMode on = Torch.gradMode(true)) {
        long t0 = System.nanoTime();
        Batch batch = batches.apply(mb, m);
        long t1 = System.nanoTime();
        nanos[0] += t1 - t0;
        // Right padding needs no mask: real tokens never see later positions, and pads carry no labels.
        long[] keys = new long[batch.examples().length];
        for (int r = 0; r < keys.length; r++) {
          keys[r] = KeyedDropout.rowKey(options.seed(), step, batch.examples()[r]);
        }
        CausalLm.Pass pass = model.begin(batch.ids(), null, batch.positions(), null, true)
            .keyed(keys, batch.lengths());
        List<NDArray> inputs = new ArrayList<>();
        NDArray h;
        try (Torch.GradMode mode = Torch.gradMode(!options.gradientCheckpointing())) {
          h = model.embed(batch.ids());
          for (int i = 0; i < layers; i++) {
            inputs.add(h);
            h = model.layer(i, h, pass); // (B, T, H)
          }
        }
        if (options.gradientCheckpointing()) {
          h.setRequiresGradient(true); // the recomputation below starts from its gradient
        }
        NDArray logits = model.head(h);
        CausalLm.TokenLoss tl = CausalLm.tokenLoss(logits, batch.labels());
        logits.close(); // log-softmax keeps what backward needs
        totals[0] += tl.sum().toType(DataType.FLOAT64, false).getDouble(); // waits for the forward
        totals[1] += batch.realTokens();
        totals[2] += Flops.loraStep(model.config(), mb.length, batch.length());
        long t2 = System.nanoTime();
        nanos[1] += t2 - t1;
        // One big batch's mean; the factor is a tensor libtorch owns, as backward reads it (TorchOps.scalar).
        Torch.backward(tl.sum().mul(TorchOps.scalar(m, scale / Math.max(1, labelTokens))));
        if (options.gradientCheckpointing()) {
          // Each layer again, from its saved input, with the same (keyed) dropout masks; its output's
          // gradient flows back into the adapter and on to the layer's input.
          NDArray grad = h.getGradient();
          for (int i = layers - 1; i >= 0; i--) {
            NDArray x = inputs.get(i);
            x.setRequiresGradient(true);
            NDArray out = model.layer(i, x, pass);
            JniUtils.backward((PtNDArray) out, (PtNDArray) grad, false, false);
            out.close();
            grad = x.getGradient();
          }
        }
        nanos[2] += System.nanoTime() - t2;
      }
    }
    return totals;
  }

  /**
   * Everything after backward: the flat gradient (summed over ranks), its norm, the loss scaler's
   * verdict, clipping and the AdamW update; adds optimizer and collective time to {@code nanos}[3..4].
   */
  private Outcome apply(double[] totals, long labelTokens, double lr, int step, double scale, long[] nanos) {
    try (NDManager m = manager.newSubManager(); Torch.GradMode off = Torch.gradMode(false)) {
      long t3 = System.nanoTime();
      NDArray grads = TorchOps.flatGradients(params, m); // (N), summed over micro-batches
      int from = optimizer.from();
      int to = optimizer.to();
      NDArray shard = grads;
      long collectiveNanos = 0;
      if (collective.size() > 1) {
        long c0 = System.nanoTime();
        double[] host = grads.toType(DataType.FLOAT64, false).toDoubleArray();
        collective.reduceScatterSum(host); // this rank's shard now holds the summed gradient
        shard = m.create(java.util.Arrays.copyOfRange(host, from, to)).toType(flat.getDataType(), false)
            .toDevice(flat.getDevice(), false);
        collectiveNanos += System.nanoTime() - c0;
      }
      if (scale != 1.0) {
        shard.muli(1.0 / scale);
      }
      double[] reduced = {shard.square().sum().toType(DataType.FLOAT64, false).getDouble(),
          totals[0], totals[1], totals[2]};
      long c1 = System.nanoTime();
      collective.allReduceSum(reduced);
      collectiveNanos += System.nanoTime() - c1;
      double gradNorm = Math.sqrt(reduced[0]);
      double loss = reduced[1] / Math.max(1, labelTokens);
      boolean finite = Double.isFinite(gradNorm) && Double.isFinite(loss);
      boolean skipped = scaler != null && scaler.update(finite);
      if (!finite && scaler == null) {
        throw new ArithmeticException("step " + (step + 1) + ": " + (Double.isFinite(loss)
            ? "the gradient is not finite" : "the loss is not finite (" + loss + ")")
            + nonFinite(shard.toType(DataType.FLOAT64, false).toDoubleArray(), from) + "; lower learning_rate or check the data");
      }
      if (!skipped) {
        if (options.maxGradNorm() > 0) {
          double coef = Math.min(1.0, options.maxGradNorm() / (gradNorm + 1e-6));
          if (coef < 1.0) {
            shard.muli(coef);
          }
        }
        optimizer.step(collective.size() > 1 ? flat.get("{}:{}", from, to) : flat, shard, lr);
        if (collective.size() > 1) {
          long c2 = System.nanoTime();
          double[] all = flat.toType(DataType.FLOAT64, false).toDoubleArray();
          collective.allGather(all); // every rank gets every updated shard
          TorchOps.copyInto(flat, m.create(all));
          collectiveNanos += System.nanoTime() - c2;
        }
        TorchOps.unflatten(flat, params);
      }
      nanos[3] += System.nanoTime() - t3 - collectiveNanos;
      nanos[4] += collectiveNanos;
      Phases phases = new Phases(nanos[0] / 1e9, nanos[1] / 1e9, nanos[2] / 1e9, nanos[3] / 1e9,
          nanos[4] / 1e9);
      return new Outcome(reduced[1], reduced[2], reduced[3], gradNorm, skipped, scale, phases);
    }
  }

  /** Where a non-finite gradient sits in this rank's shard, by parameter name. */
  private String nonFinite(double[] shard, int from) {
    int offset = 0;
    for (int p = 0; p < params.size(); p++) {
      int n = Math.toIntExact(params.get(p).getShape().size());
      for (int i = Math.max(offset, from); i < Math.min(offset + n, from + shard.length); i++) {
        if (!Double.isFinite(shard[i - from])) {
          return " (first non-finite gradient: " + names.get(p) + ")";
        }
      }
      offset += n;
    }
    return "";
  }

  @Override
  public void close() {
    optimizer.close();
    manager.close();
  }
}
