package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One rank killed for real: on a local-cluster (executors are child JVMs of this one) an executor
 * running a rank of the barrier stage gets SIGKILL in the middle of training; Spark relaunches an
 * executor and retries the stage, the ranks resume from the last checkpoint, and the adapter
 * equals a fault-free run's within 1e-6 (lora.dropout 0.1).
 */
class ExecutorKillTest {
  @TempDir Path tmp;

  private String[] args(Path work, String master, String... extra) {
    String opens = GpuPlacementTest.executorJavaOptions();
    List<String> a = new ArrayList<>(List.of("run", "--config", "conf/local.yaml", "--set", "work_dir=" + work,
        "--set", "train.base_model=" + tmp.resolve("model"), "--set", "spark.master=" + master,
        "--set", "cluster.enabled=false", "--set", "train.lora.dropout=0.1", "--set", "train.max_steps=40",
        "--set", "train.save_steps=10", "--set", "train.eval_steps=20", "--set", "train.logging_steps=1",
        "--set", "train.threads=1", "--set", "train.micro_batch_size=2", "--set", "train.num_workers=2",
        "--set", "spark.conf.spark.executor.memory=1g",
        "--set", "spark.conf.spark.executor.extraJavaOptions=" + opens));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  @Test
  void anExecutorKilledMidTrainingIsReplacedAndTheRanksResume() throws Exception {
    GpuPlacementTest.prepareSparkHome();
    Cli.Result init = Cli.run("init-model", "--arch", "llama", "--hidden", "64", "--layers", "2", "--heads", "4",
        "--kv-heads", "2", "--init-std", "0.1", "--tokenizer", "conf/samples/tokenizer/tokenizer.json",
        "--out", tmp.resolve("model").toString());
    assertEquals(0, init.code(), init.err());

    Path clean = tmp.resolve("fault-free");
    Cli.Result reference = Cli.run(args(clean, "local[2]"));
    assertEquals(0, reference.code(), reference.err());

    // The data stages' outputs are copied (up to date there too): only training runs on the cluster.
    Path work = tmp.resolve("killed");
    for (String stage : List.of("ingest", "clean", "tokenize")) {
      copyTree(clean.resolve(stage), work.resolve(stage));
    }
    Path metrics = work.resolve("_train_run/metrics.jsonl");
    AtomicReference<String> killed = new AtomicReference<>();
    Thread killer = new Thread(() -> {
      try {
        while (killed.get() == null) {
          if (Files.exists(metrics) && Files.readAllLines(metrics).size() >= 12) {
            // Step 12 done, checkpoint 10 complete: SIGKILL the first executor JVM found.
            ProcessHandle executor = ProcessHandle.current().descendants()
                .filter(p -> p.info().commandLine().orElse("").contains("CoarseGrainedExecutorBackend"))
                .findFirst().orElseThrow();
            executor.destroyForcibly();
            killed.set("pid " + executor.pid() + " after " + Files.readAllLines(metrics).size() + " steps");
          }
          Thread.sleep(10);
        }
      } catch (Exception e) {
        killed.set("killer failed: " + e);
      }
    });
    killer.setDaemon(true);
    killer.start();
    Cli.Result r = Cli.run(args(work, "local-cluster[2,1,1024]"));
    killed.compareAndSet(null, "never");
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().matches("(?s).*ingest\\s+skipped \\(up to date\\).*tokenize\\s+skipped \\(up to date\\).*train\\s+ran.*"), r.out());
    assertTrue(killed.get().startsWith("pid "), "an executor was killed mid-run: " + killed.get());
    int steps = Integer.parseInt(killed.get().replaceAll(".* after (\\d+) steps", "$1"));
    assertTrue(steps < 40, "killed before the last step: " + killed.get());
    try {
      DistributedTrainTest.assertSame(DistributedTrainTest.adapter(clean), DistributedTrainTest.adapter(work), 1e-6);
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\nkilled " + killed.get() + "\n" + r.out() + "\nfault-free:\n"
          + Files.readString(clean.resolve("train/metrics.jsonl")) + "\nkilled:\n"
          + Files.readString(work.resolve("train/metrics.jsonl")), e);
    }
    assertEquals(40, Files.readAllLines(work.resolve("train/metrics.jsonl")).size(),
        "one metrics line per step, none doubled by the retry");
  }

  private static void copyTree(Path from, Path to) throws java.io.IOException {
    try (var files = Files.walk(from)) {
      for (Path f : files.toList()) {
        Path target = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(target);
        } else {
          Files.copy(f, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

}
