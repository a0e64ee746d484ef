package dev.sparktune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktune.collective.Collective;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.config.TrainConfig;
import dev.sparktune.core.KillPoints;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Safetensors;
import dev.sparktune.model.Torch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Stream;
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
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What one logged step reports (also a metrics.jsonl line). */
  public record StepMetrics(int step, int totalSteps, double epoch, double loss, double lr,
      double gradNorm, double tokensPerSecond, double gflops, Double evalLoss, TrainStep.Phases phases,
      Double lossScale, boolean skipped) {
    String toJson() {
      ObjectNode n = JSON.createObjectNode();
      n.put("step", step);
      n.put("epoch", epoch);
      n.put("loss", loss);
      n.put("lr", lr);
      n.put("grad_norm", gradNorm);
      n.put("tokens_per_s", tokensPerSecond);
      n.put("gflops", gflops);
      if (evalLoss != null) {
        n.put("eval_loss", evalLoss);
        n.put("eval_ppl", Math.exp(evalLoss));
      }
      if (phases != null) {
        ObjectNode t = n.putObject("time_s");
        t.put("data", phases.data());
        t.put("forward", phases.forward());
        t.put("backward", phases.backward());
        t.put("optimizer", phases.optimizer());
        t.put("collective", phases.collective());
      }
      if (lossScale != null) {
        n.put("loss_scale", lossScale);
      }
      if (skipped) {
        n.put("skipped", true);
      }
      return n.toString();
    }
  }

  /** How a run ended. */
  public record Result(int steps, int resumedFrom, Double evalLoss, Double bestEvalLoss, Path adapter) {}

  private final TrainConfig config;
  private final CausalLm model;
  private final List<TrainData.Example> train;
  private final List<TrainData.Example> validation;
  private final Path out;
  private final int padId;
  private final Collective collective;

  /** A single-process trainer. */
  public Trainer(TrainConfig config, CausalLm model, List<TrainData.Example> train,
      List<TrainData.Example> validation, Path out) {
    this(config, model, train, validation, out, Collective.single());
  }

  /**
   * @param model the base model (the trainer puts its adapter on it)
   * @param out the output directory, on storage every rank sees; checkpoints in it are resumed from
   * @param collective this rank's link to the others: each step's global batch is micro_batch_size
   *     × grad_accum_steps × ranks examples, split between the ranks; rank 0 writes all files
   */
  public Trainer(TrainConfig config, CausalLm model, List<TrainData.Example> train,
      List<TrainData.Example> validation, Path out, Collective collective) {
    if (train.isEmpty()) {
      throw new IllegalArgumentException("the train split is empty: nothing to train on");
    }
    this.config = config;
    this.model = model;
    this.train = train;
    this.validation = validation;
    this.out = out;
    this.padId = Math.max(0, model.config().padTokenId());
    this.collective = collective;
  }

  /** Examples per optimizer step over all ranks. */
  int globalBatch() {
    return config.microBatchSize() * config.gradAccumSteps() * collective.size();
  }

  int stepsPerEpoch() {
    return (train.size() + globalBatch() - 1) / globalBatch();
  }

  public int totalSteps() {
    return config.maxSteps() != null ? config.maxSteps() : config.epochs() * stepsPerEpoch();
  }

  Schedule schedule() {
    int total = totalSteps();
    int warmup = config.warmupSteps() > 0 ? config.warmupSteps()
        : (int) Math.ceil(config.warmupRatio() * total);
    return new Schedule(config.schedule(), config.learningRate(), warmup, total, config.minLrRatio());
  }

  /** The example order of one epoch: a seeded shuffle, optionally grouped by length. */
  int[] epochOrder(int epoch) {
    int n = train.size();
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    SplittableRandom random = new SplittableRandom(config.seed() * 1_000_003L + epoch);
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    if (config.groupByLength()) {
      // Sort windows of 50 micro-batches by length (longest first), as transformers' sampler does.
      int window = 50 * config.microBatchSize();
      for (int s = 0; s < n; s += window) {
        int e = Math.min(n, s + window);
        Integer[] part = new Integer[e - s];
        for (int i = s; i < e; i++) {
          part[i - s] = order[i];
        }
        java.util.Arrays.sort(part, Comparator.comparingInt((Integer i) -> -train.get(i).length()));
        for (int i = s; i < e; i++) {
          order[i] = part[i - s];
        }
      }
    }
    return order;
  }

  /** All train example indices of optimizer step {@code step}, over every rank. */
  int[] stepExamples(int step) {
    int[] order = epochOrder(step / stepsPerEpoch());
    int from = (step % stepsPerEpoch()) * globalBatch();
    return java.util.Arrays.copyOfRange(order, from, Math.min(order.length, from + globalBatch()));
  }

  /** This rank's micro-batches of step {@code step}: its contiguous part of the step's examples. */
  List<int[]> microBatches(int[] stepExamples) {
    int n = stepExamples.length;
    int from = (int) ((long) n * collective.rank() / collective.size());
    int to = (int) ((long) n * (collective.rank() + 1) / collective.size());
    List<int[]> batches = new ArrayList<>();
    for (int i = from; i < to; i += config.microBatchSize()) {
      batches.add(java.util.Arrays.copyOfRange(stepExamples, i, Math.min(to, i + config.microBatchSize())));
    }
    return batches;
  }

  /** Trains (resuming from the latest checkpoint unless {@code fresh}); see the class comment. */
  public Result run(boolean fresh, Consumer<StepMetrics> afterStep) throws IOException {
    return run(fresh ? -1 : resumeStep(out), afterStep);
  }

  /** The step of the latest complete checkpoint under a run's output directory (0 when none). */
  public static int resumeStep(Path out) throws IOException {
    Path latest = latestCheckpoint(out.resolve("checkpoints"));
    return latest == null ? 0 : Integer.parseInt(latest.getFileName().toString().substring(5));
  }

  /**
   * Trains from the checkpoint of step {@code from} (0: none; -1: start over, deleting earlier
   * checkpoints). Ranks of one job must pass the same {@code from}.
   */
  public Result run(int from, Consumer<StepMetrics> afterStep) throws IOException {
    boolean lead = collective.rank() == 0;
    Path checkpoints = out.resolve("checkpoints");
    Path metrics = out.resolve("metrics.jsonl");
    if (lead) {
      Files.createDirectories(out);
      if (from < 0) {
        deleteTree(checkpoints);
        deleteTree(out.resolve("best"));
        Files.deleteIfExists(metrics);
      }
    }
    LoraConfig loraConfig = config.lora();
    DataType dtype = model.dtype();
    DataType master = DataType.FLOAT64.equals(dtype) ? dtype : DataType.FLOAT32; // LoRA masters, AdamW
    NDManager manager = model.manager().newSubManager();
    Path latest = from > 0 ? checkpoints.resolve("step-" + from) : null;
    int startStep = 0;
    Double best = null;
    LoraAdapter adapter;
    JsonNode resumedState = null;
    if (latest != null) {
      resumedState = JSON.readTree(latest.resolve("trainer_state.json").toFile());
      startStep = resumedState.get("step").asInt();
      best = resumedState.hasNonNull("best_eval_loss") ? resumedState.get("best_eval_loss").asDouble() : null;
      adapter = LoraAdapter.load(latest.resolve("adapter"), model.config(), master, manager);
      if (!adapter.config().equals(loraConfig)) {
        throw new IOException("checkpoint " + latest + " was made with LoRA " + adapter.config()
            + " but the config now says " + loraConfig + "; rerun with --fresh");
      }
      if (lead) {
        truncateMetrics(metrics, startStep);
      }
      LOG.info("train: rank {} resuming from {} (step {} of {})", collective.rank(), latest, startStep,
          totalSteps());
    } else {
      adapter = LoraAdapter.create(model.config(), loraConfig, config.seed(), master, manager);
    }
    adapter.setTrainable(true);
    model.setAdapter(adapter);
    LossScaler scaler = dtype == DataType.FLOAT16 ? LossScaler.standard() : null;
    TrainStep trainStep = new TrainStep(model, adapter, collective, new TrainStep.Options(config.adamBeta1(),
        config.adamBeta2(), config.adamEps(), config.weightDecay(), config.maxGradNorm(),
        config.gradientCheckpointing(), config.seed()), scaler);
    DeviceAdamW optimizer = trainStep.optimizer();
    if (resumedState != null) {
      try (Safetensors st = Safetensors.open(latest.resolve("optimizer.safetensors"));
          NDManager m = manager.newSubManager()) {
        optimizer.restore(st.load("exp_avg", m, DataType.FLOAT64).toDoubleArray(),
            st.load("exp_avg_sq", m, DataType.FLOAT64).toDoubleArray(),
            resumedState.get("optimizer_steps").asLong());
      }
      if (scaler != null && resumedState.has("loss_scale")) {
        scaler.restore(resumedState.get("loss_scale").asDouble(), resumedState.path("loss_scale_good_steps").asInt());
      }
    }
    Schedule schedule = schedule();
    int total = totalSteps();
    Double lastEval = null;
    long started = System.nanoTime();
    try (trainStep) {
      for (int step = startStep; step < total; step++) {
        long stepStart = System.nanoTime();
        double lr = schedule.lr(step);
        int[] examples = stepExamples(step);
        long labelTokens = 0;
        for (int i : examples) {
          labelTokens += labelCount(train.get(i)); // every rank knows the whole step's label count
        }
        TrainStep.Outcome o = trainStep.run(microBatches(examples), (mb, m) -> Batch.of(train, mb, padId, m),
            labelTokens, lr, step);
        double loss = o.lossSum() / Math.max(1, labelTokens);
        double gradNorm = o.gradNorm();
        int done = step + 1;
        double seconds = (System.nanoTime() - stepStart) / 1e9;
        boolean last = done == total;
        Double eval = null;
        if (!validation.isEmpty() && (last || (config.evalSteps() > 0 && done % config.evalSteps() == 0))) {
          eval = evaluate();
          lastEval = eval;
          if (best == null || eval < best) {
            best = eval;
            if (lead) {
              adapter.save(out.resolve("best.tmp"), config.baseModel());
              deleteTree(out.resolve("best"));
              Files.move(out.resolve("best.tmp"), out.resolve("best"), StandardCopyOption.ATOMIC_MOVE);
            }
          }
        }
        StepMetrics sm = new StepMetrics(done, total, (double) done / stepsPerEpoch(), loss, lr,
            gradNorm, o.realTokens() / seconds, o.flops() / seconds / 1e9, eval, o.phases(),
            scaler == null ? null : o.lossScale(), o.skipped());
        if (lead && (last || done % config.loggingSteps() == 0 || eval != null)) {
          Files.writeString(metrics, sm.toJson() + "\n", StandardCharsets.UTF_8,
              StandardOpenOption.CREATE, StandardOpenOption.APPEND);
          double elapsed = (System.nanoTime() - started) / 1e9;
          double eta = elapsed / (done - startStep) * (total - done);
          LOG.info(String.format("train: step %d/%d loss %.4f lr %.3g grad_norm %.3f %.0f tokens/s "
              + "%.1f GFLOP/s%s ETA %s", done, total, loss, lr, gradNorm, sm.tokensPerSecond(),
              sm.gflops(), eval == null ? "" : String.format(" eval_loss %.4f", eval), duration(eta)));
        }
        if (last || (config.saveSteps() > 0 && done % config.saveSteps() == 0)) {
          checkpoint(checkpoints, done, adapter, optimizer, scaler, trainStep.size(), best);
        }
        afterStep.accept(sm);
        if (lead) {
          KillPoints.reach("train:step-" + done);
        }
      }
      Path finalDir = out.resolve("adapter");
      if (lead) {
        adapter.save(out.resolve("adapter.tmp"), config.baseModel());
        deleteTree(finalDir);
        Files.move(out.resolve("adapter.tmp"), finalDir, StandardCopyOption.ATOMIC_MOVE);
      }
      return new Result(total, startStep, lastEval, best, finalDir);
    } finally {
      model.setAdapter(null);
      manager.close();
    }
  }

  /** Mean token loss over the validation split (grad off), each rank taking its part. */
  public double evaluate() {
    double[] sums = new double[2];
    int n = validation.size();
    int from = (int) ((long) n * collective.rank() / collective.size());
    int to = (int) ((long) n * (collective.rank() + 1) / collective.size());
    try (NDManager m = model.manager().newSubManager(); Torch.GradMode off = Torch.gradMode(false)) {
      for (int start = from; start < to; start += config.microBatchSize()) {
        int[] idx = java.util.stream.IntStream.range(start, Math.min(to, start + config.microBatchSize())).toArray();
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

  static long labelCount(TrainData.Example e) {
    long n = 0;
    for (int t = 1; t < e.labels().length; t++) {
      if (e.labels()[t] != -100) {
        n++;
      }
    }
    return n;
  }

  /** Every rank contributes its optimizer shard; rank 0 writes the checkpoint atomically. */
  private void checkpoint(Path checkpoints, int step, LoraAdapter adapter, DeviceAdamW optimizer,
      LossScaler scaler, int length, Double best) throws IOException {
    double[] expAvg = new double[length];
    double[] expAvgSq = new double[length];
    optimizer.exportInto(expAvg, expAvgSq);
    collective.allGather(expAvg);
    collective.allGather(expAvgSq);
    if (collective.rank() != 0) {
      return;
    }
    Path dir = checkpoints.resolve("step-" + step);
    Path tmp = checkpoints.resolve("step-" + step + ".tmp");
    deleteTree(tmp);
    Files.createDirectories(tmp);
    adapter.save(tmp.resolve("adapter"), config.baseModel());
    KillPoints.reach("train:checkpoint-" + step);
    try (NDManager m = model.manager().newSubManager()) {
      Map<String, NDArray> state = new LinkedHashMap<>();
      state.put("exp_avg", m.create(expAvg));
      state.put("exp_avg_sq", m.create(expAvgSq));
      Safetensors.write(tmp.resolve("optimizer.safetensors"), state, Map.of("format", "sparktune",
          "layout", "flat, in adapter_model.safetensors key order"));
    }
    ObjectNode state = JSON.createObjectNode();
    state.put("step", step);
    state.put("total_steps", totalSteps());
    state.put("optimizer_steps", optimizer.steps());
    if (scaler != null) {
      state.put("loss_scale", scaler.scale());
      state.put("loss_scale_good_steps", scaler.goodSteps());
    }
    state.put("ranks", collective.size());
    if (best != null) {
      state.put("best_eval_loss", best);
    }
    state.set("config", JSON.valueToTree(config));
    Files.writeString(tmp.resolve("trainer_state.json"), state.toPrettyString());
    deleteTree(dir);
    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE); // complete or absent, never half-written
    List<Path> all = completeCheckpoints(checkpoints);
    for (int i = 0; i < all.size() - config.saveTotalLimit(); i++) {
      deleteTree(all.get(i));
    }
  }

  static List<Path> completeCheckpoints(Path checkpoints) throws IOException {
    if (!Files.isDirectory(checkpoints)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(checkpoints)) {
      return s.filter(p -> p.getFileName().toString().matches("step-\\d+"))
          .filter(p -> Files.exists(p.resolve("trainer_state.json")))
          .sorted(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().substring(5))))
          .toList();
    }
  }

  static Path latestCheckpoint(Path checkpoints) throws IOException {
    List<Path> all = completeCheckpoints(checkpoints);
    return all.isEmpty() ? null : all.get(all.size() - 1);
  }

  /** Drops metrics lines of steps after {@code step} (they are redone after a resume). */
  private static void truncateMetrics(Path metrics, int step) throws IOException {
    if (!Files.exists(metrics)) {
      return;
    }
    List<String> keep = new ArrayList<>();
    for (String line : Files.readAllLines(metrics)) {
      if (!line.isBlank() && JSON.readTree(line).get("step").asInt() <= step) {
        keep.add(line);
      }
    }
    Files.write(metrics, keep);
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> {
        try {
          Files.delete(f);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }

  private static String duration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format("%dh%02dm", s / 3600, s % 3600 / 60)
        : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
  }
}
