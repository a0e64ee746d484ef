package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.sparktune.Pipeline;
import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Sessions;
import dev.sparktune.core.Stage;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.model.Safetensors;
import dev.sparktune.model.Torch;
import dev.sparktune.train.StepListener;
import dev.sparktune.train.TrainStage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The train stage as a barrier stage on local[2]: two tasks joined by the TCP ring train the same
 * adapter as one task with the same global batch, and a task that fails mid-run makes Spark retry
 * the stage, which resumes from the last checkpoint.
 */
class DistributedTrainTest {
  @TempDir Path work;

  /** The config overrides every run of this test uses, followed by {@code extra}. */
  private List<String> overrides(String... extra) {
    List<String> overrides = new ArrayList<>(List.of("work_dir=" + work,
        "train.base_model=" + work.resolve("model"), "spark.master=local[2]",
        "spark.conf.spark.ui.showConsoleProgress=false", "train.lora.dropout=0", "train.max_steps=6",
        "train.save_steps=2", "train.eval_steps=3", "train.threads=1", "train.logging_steps=1"));
    overrides.addAll(List.of(extra));
    return overrides;
  }

  /** The command line of {@code command} on conf/local.yaml with {@link #overrides} and {@code extra}. */
  private String[] args(String command, String... extra) {
    List<String> all = new ArrayList<>(List.of(command, "--config", "conf/local.yaml"));
    overrides().forEach(o -> all.addAll(List.of("--set", o)));
    all.addAll(List.of(extra));
    return all.toArray(String[]::new);
  }

  /** The trained adapter under a work directory, every tensor as float64. */
  static Map<String, double[]> adapter(Path work) throws Exception {
    Map<String, double[]> out = new HashMap<>();
    try (Safetensors st = Safetensors.open(work.resolve("train/adapter/adapter_model.safetensors"));
        NDManager m = Torch.newManager()) {
      for (String k : st.tensors().keySet()) {
        out.put(k, st.load(k, m, DataType.FLOAT64).toDoubleArray());
      }
    }
    return out;
  }

  static void assertSame(Map<String, double[]> want, Map<String, double[]> got, double relative) {
    assertEquals(want.keySet(), got.keySet());
    for (String k : want.keySet()) {
      double diff = 0;
      double norm = 0;
      for (int i = 0; i < want.get(k).length; i++) {
        double d = want.get(k)[i] - got.get(k)[i];
        diff += d * d;
        norm += want.get(k)[i] * want.get(k)[i];
      }
      assertTrue(Math.sqrt(diff) <= relative * Math.sqrt(norm) + 1e-12,
          k + " differs by " + Math.sqrt(diff / norm) + " (relative)");
    }
  }

  private void initModel() {
    Cli.Result init = Cli.run("init-model", "--arch", "llama", "--hidden", "64", "--layers", "2", "--heads", "4",
        "--kv-heads", "2", "--init-std", "0.1", "--tokenizer", "conf/samples/tokenizer/tokenizer.json",
        "--out", work.resolve("model").toString());
    assertEquals(0, init.code(), init.err());
  }

  @Test
  void twoTasksEqualOneAndAFailedTaskIsRetriedFromTheCheckpoint() throws Exception {
    initModel();

    // One task, micro-batch 4: global batch 4.
    Cli.Result one = Cli.run(args("run", "--set", "train.micro_batch_size=4", "--set", "train.num_workers=1"));
    assertEquals(0, one.code(), one.err());
    Map<String, double[]> single = adapter(work);

    // Two tasks, micro-batch 2 each: the same global batch of 4.
    Cli.Result two = Cli.run(args("train", "--fresh", "--set", "train.micro_batch_size=2",
        "--set", "train.num_workers=2"));
    assertEquals(0, two.code(), two.err());
    assertTrue(two.out().matches("(?s).*train\\s+ran\\s+20\\s+20.*"), two.out());
    Map<String, double[]> pair = adapter(work);
    assertSame(single, pair, 1e-5);

    // Rank 1 fails after step 3 in the first attempt; Spark retries the stage, which resumes at
    // step 2 (the last checkpoint) and ends where the fault-free run ended.
    // The fault comes in through the stage's test seam (a StepListener), so this run builds the
    // stages itself, as `train --fresh --force` does, with that one listener added. (--force: the
    // config is the same as the run before, so without it the stage is up to date and skipped.)
    StepListener failRank1AfterStep3 = (rank, attempt, step) -> {
      if (attempt == 0 && rank == 1 && step.step() == 3) {
        throw new IllegalStateException("injected failure in rank 1 after step 3");
      }
    };
    SparktuneConfig config = SparktuneConfig.load(Path.of("conf/local.yaml"),
        overrides("train.micro_batch_size=2", "train.num_workers=2"));
    SparkSession spark = Sessions.start(config.spark());
    try {
      List<Stage> stages = new ArrayList<>(Pipeline.stages(config, true));
      assertEquals(TrainStage.NAME, stages.get(stages.size() - 1).name());
      stages.set(stages.size() - 1,
          new TrainStage(config.train(), true, config.tokenize().tokenizer(), failRank1AfterStep3));
      Workspace ws = new Workspace(config.workDir(), Path.of(""), spark.sparkContext().hadoopConfiguration());
      List<StageRunner.Outcome> outcomes = new StageRunner(spark, ws, stages)
          .run(new StageRunner.Options(null, null, TrainStage.NAME, true));
      assertTrue(outcomes.get(0).ran(), outcomes.toString());
    } finally {
      spark.stop();
    }
    assertSame(pair, adapter(work), 1e-6);
    assertFalse(Files.exists(work.resolve("_train_run")), "the run folder is committed into train/");
    assertTrue(Files.isDirectory(work.resolve("train/checkpoints/step-6")));
    assertEquals(6, Files.readAllLines(work.resolve("train/metrics.jsonl")).size(),
        "one metrics line per step, none doubled by the retry");
  }

  @Test
  void moreWorkersThanSlotsFailFast() throws Exception {
    initModel();
    Cli.Result r = Cli.run(args("run", "--set", "train.num_workers=3", "--to", "tokenize"));
    assertEquals(0, r.code(), r.err());
    Cli.Result tooMany = Cli.run(args("train", "--set", "train.num_workers=3"));
    assertEquals(1, tooMany.code());
    assertTrue(tooMany.err().contains("train.num_workers = 3 but the cluster has 2 task slot(s)"), tooMany.err());
  }
}
