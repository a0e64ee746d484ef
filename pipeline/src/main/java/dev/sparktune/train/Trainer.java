package dev.sparktune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.sparktune.collective.Collective;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The LoRA training loop on one process: AdamW on the adapter only, a learning-rate schedule,
 * gradient accumulation that equals one big batch (the loss is normalised by the label tokens of
 * all micro-batches of a step), global-norm clipping, periodic eval, atomic checkpoints with exact
 * resume, and a metrics line per logged step. Writes, under its output directory: {@code adapter/}
 * (final), {@code best/} (lowest eval loss), {@code checkpoints/step-N/}, {@code metrics.jsonl}.
 */
public final class Trainer {
  private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

  /** How a run ended. */
  public record Result(int steps, int resumedFrom, Double evalLoss, Double bestEvalLoss, Path adapter) {}

  /** Where a run starts: its adapter, its step function, and the step and best eval loss so far. */
  private record Start(LoraAdapter adapter, TrainStep trainStep, LossScaler scaler, int step, Double best) {}

  private final TrainOptions options;
  private final CausalLm model;
  private final List<TrainData.Example> train;
  private final List<TrainData.Example> validation;
  private final Path out;
  private final int padId;
  private final Collective collective;
  private final boolean lead;
  private final BatchPlan plan;
  private final Checkpoints checkpoints;
  private final MetricsLog metrics;

  /** A single-process trainer. */
  public Trainer(TrainOptions options, CausalLm model, List<TrainData.Example> train,
      List<TrainData.Example> validation, Path out) {
    this(options, model, train, validation, out, Collective.single());
  }

  /**
   * @param model the base model (the trainer puts its adapter on it)
   * @param out the output directory, on storage every rank sees; checkpoints in it are resumed from
   * @param collective this rank's link to the others: each step's global batch is micro_batch_size
   *     × grad_accum_steps × ranks examples, split between the ranks; rank 0 writes all files
   */
  public Trainer(TrainOptions options, CausalLm model, List<TrainData.Example> train,
      List<TrainData.Example> validation, Path out, Collective collective) {
    if (train.isEmpty()) {
      throw new IllegalArgumentException("the train split is empty: nothing to train on");
    }
    this.options = options;
    this.model = model;
    this.train = train;
    this.validation = validation;
    this.out = out;
    this.padId = Math.max(0, model.config().padTokenId());
    this.collective = collective;
    this.lead = collective.rank() == 0;
    this.plan = new BatchPlan(train, options, collective.rank(), collective.size());
    this.checkpoints = new Checkpoints(out, collective, options.baseModel(), options.saveTotalLimit(),
        options.resolvedConfig());
    this.metrics = new MetricsLog(out);
  }

  public int totalSteps() {
    return plan.totalSteps();
  }

  Schedule schedule() {
    int total = totalSteps();
    int warmup = options.warmupSteps() > 0 ? options.warmupSteps()
        : (int) Math.ceil(options.warmupRatio() * total);
    return new Schedule(options.schedule(), options.learningRate(), warmup, total, options.minLrRatio());
  }

  /** Trains (resuming from the latest checkpoint unless {@code fresh}); see the class comment. */
  public Result run(boolean fresh, Consumer<StepMetrics> afterStep) throws IOException {
    return run(fresh ? -1 : resumeStep(out), afterStep);
  }

  /** The step of the latest complete checkpoint under a run's output directory (0 when none). */
  public static int resumeStep(Path out) throws IOException {
    return Checkpoints.resumeStep(out);
  }

  /**
   * Trains from the checkpoint of step {@code from} (0: none; -1: start over, deleting earlier
   * checkpoints). Ranks of one job must pass the same {@code from}.
   */
  public Result run(int from, Consumer<StepMetrics> afterStep) throws IOException {
    NDManager manager = model.manager().newSubManager();
    try {
      Start start = start(from, manager);
      Schedule schedule = schedule();
      int total = totalSteps();
      Double best = start.best();
      Double lastEval = null;
      long started = System.nanoTime();
      try (TrainStep trainStep = start.trainStep()) {
        for (int step = start.step(); step < total; step++) {
          long stepStart = System.nanoTime();
          double lr = schedule.lr(step);
          int[] examples = plan.stepExamples(step);
          long labelTokens = plan.labelTokens(examples);
          TrainStep.Outcome o = trainStep.run(plan.microBatches(examples),
              (mb, m) -> Batch.of(train, mb, padId, m), labelTokens, lr, step);
          double seconds = (System.nanoTime() - stepStart) / 1e9;
          int done = step + 1;
          boolean last = done == total;
          Double eval = null;
          if (!validation.isEmpty() && (last || (options.evalSteps() > 0 && done % options.evalSteps() == 0))) {
            eval = evaluate();
            lastEval = eval;
            if (best == null || eval < best) {
              best = eval;
              checkpoints.saveAdapter(start.adapter(), "best");
            }
          }
          StepMetrics sm = new StepMetrics(done, total, (double) done / plan.stepsPerEpoch(),
              o.lossSum() / Math.max(1, labelTokens), lr, o.gradNorm(), o.realTokens() / seconds,
              o.flops() / seconds / 1e9, eval, o.phases(), start.scaler() == null ? null : o.lossScale(),
              o.skipped());
          if (lead && (last || done % options.loggingSteps() == 0 || eval != null)) {
            metrics.append(sm);
            logStep(sm, (System.nanoTime() - started) / 1e9 / (done - start.step()) * (total - done));
          }
          if (last || (options.saveSteps() > 0 && done % options.saveSteps() == 0)) {
            checkpoints.save(done, total, start.adapter(), trainStep.optimizer(), trainStep.size(),
                start.scaler(), best, model.manager());
          }
          afterStep.accept(sm);
        }
        checkpoints.saveAdapter(start.adapter(), "adapter");
        return new Result(total, start.step(), lastEval, best, out.resolve("adapter"));
      }
    } finally {
      model.setAdapter(null);
      manager.close();
    }
  }

  /**
   * Clears an earlier run ({@code from} -1) or loads checkpoint {@code from} (when above 0), puts
   * the adapter (fresh or resumed) on the model, and builds the step function.
   */
  private Start start(int from, NDManager manager) throws IOException {
    if (lead) {
      Files.createDirectories(out);
      if (from < 0) {
        checkpoints.clear();
        metrics.delete();
      }
    }
    DataType dtype = model.dtype();
    DataType master = Precision.masterType(dtype);
    Checkpoints.Saved saved = null;
    LoraAdapter adapter;
    if (from > 0) {
      saved = checkpoints.load(from, options.lora(), model.config(), master, manager);
      adapter = saved.adapter();
      if (lead) {
        metrics.truncateAfter(saved.step());
      }
      LOG.info("train: rank {} resuming from {} (step {} of {})", collective.rank(),
          out.resolve("checkpoints").resolve("step-" + from), saved.step(), totalSteps());
    } else {
      adapter = LoraAdapter.create(model.config(), options.lora(), options.seed(), master, manager);
    }
    adapter.setTrainable(true);
    model.setAdapter(adapter);
    LossScaler scaler = dtype == DataType.FLOAT16 ? LossScaler.standard() : null;
    TrainStep trainStep = new TrainStep(model, adapter, collective, options.step(), scaler);
    if (saved != null) {
      saved.restore(trainStep.optimizer(), scaler);
    }
    return new Start(adapter, trainStep, scaler, saved == null ? 0 : saved.step(),
        saved == null ? null : saved.bestEvalLoss());
  }

  /** Mean token loss over the validation split (grad off), each rank taking its part. */
  public double evaluate() {
    double[] sums = new double[2];
    int n = validation.size();
    int from = (int) ((long) n * collective.rank() / collective.size());
    int to = (int) ((long) n * (collective.rank() + 1) / collective.size());
    try (NDManager m = model.manager().newSubManager(); Torch.GradMode off = Torch.gradMode(false)) {
      for (int start = from; start < to; start += options.microBatchSize()) {
        int[] idx = IntStream.range(start, Math.min(to, start + options.microBatchSize())).toArray();
        try (NDManager step = m.newSubManager()) {
          Batch batch = Batch.of(validation, idx, padId, step);
          NDArray logits = model.forward(batch.ids(), null, batch.positions(), null, false);
          CausalLm.TokenLoss tl = CausalLm.tokenLoss(logits, batch.labels());
          sums[0] += tl.sum().toType(DataType.FLOAT64, false).getDouble();
          sums[1] += tl.count();
        }
      }
    }
    collective.allReduceSum(sums);
    return sums[1] == 0 ? Double.NaN : sums[0] / sums[1];
  }

  private static void logStep(StepMetrics m, double etaSeconds) {
    LOG.info(String.format("train: step %d/%d loss %.4f lr %.3g grad_norm %.3f %.0f tokens/s "
        + "%.1f GFLOP/s%s ETA %s", m.step(), m.totalSteps(), m.loss(), m.lr(), m.gradNorm(), m.tokensPerSecond(),
        m.gflops(), m.evalLoss() == null ? "" : String.format(" eval_loss %.4f", m.evalLoss()), duration(etaSeconds)));
  }

  private static String duration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format("%dh%02dm", s / 3600, s % 3600 / 60)
        : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
  }
}
