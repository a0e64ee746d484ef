package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The train stage on a local-cluster (two worker JVMs) whose workers each announce one "gpu" through
 * a discovery script: every task reads the address Spark gave it and, with no CUDA here, trains on
 * the CPU and says so. Plain local mode cannot hand GPUs to tasks, hence local-cluster.
 */
class GpuPlacementTest {
  @TempDir Path work;

  /** local-cluster executors start from SPARK_HOME/jars (surefire sets SPARK_HOME): a link to the copied classpath. */
  static void prepareSparkHome() throws java.io.IOException {
    Path sparkHome = Paths.get(System.getenv("SPARK_HOME"));
    Files.createDirectories(sparkHome);
    Path jars = sparkHome.resolve("jars");
    if (!Files.exists(jars)) {
      Files.createSymbolicLink(jars, Paths.get("jobs/target/lib").toAbsolutePath());
    }
  }

  /** Executor JVMs need Spark's --add-opens (as this JVM has) and the already unpacked libtorch. */
  static String executorJavaOptions() {
    return String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()
        .stream().filter(a -> a.startsWith("--add-opens")).toList())
        + " -DDJL_CACHE_DIR=" + System.getProperty("DJL_CACHE_DIR", "jobs/target/djl-cache");
  }

  @Test
  void eachTaskReadsItsGpuAddressAndFallsBackToTheCpu() throws Exception {
    prepareSparkHome();
    Path script = work.resolve("gpu-discovery.sh");
    Files.writeString(script, "#!/usr/bin/env bash\necho '{\"name\":\"gpu\",\"addresses\":[\"0\"]}'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));

    Cli.Result init = Cli.run("init-model", "--arch", "llama", "--hidden", "32", "--layers", "1", "--heads", "2",
        "--tokenizer", "conf/samples/tokenizer/tokenizer.json", "--out", work.resolve("model").toString());
    assertEquals(0, init.code(), init.err());
    String opens = executorJavaOptions();
    Cli.Result r = Cli.run("run", "--config", "conf/local.yaml", "--set", "work_dir=" + work,
        "--set", "train.base_model=" + work.resolve("model"), "--set", "train.max_steps=2",
        "--set", "train.num_workers=2", "--set", "train.threads=1", "--set", "train.micro_batch_size=2",
        "--set", "spark.master=local-cluster[2,1,1024]",
        "--set", "spark.conf.spark.ui.showConsoleProgress=false",
        "--set", "spark.conf.spark.worker.resource.gpu.amount=1",
        "--set", "spark.conf.spark.worker.resource.gpu.discoveryScript=" + script,
        "--set", "spark.conf.spark.executor.resource.gpu.amount=1",
        "--set", "spark.conf.spark.task.resource.gpu.amount=1",
        "--set", "spark.conf.spark.executor.memory=1g",
        "--set", "spark.conf.spark.executor.extraJavaOptions=" + opens);
    assertEquals(0, r.code(), r.out() + r.err());
    ObjectMapper json = new ObjectMapper();
    for (int rank = 0; rank < 2; rank++) {
      JsonNode info = json.readTree(work.resolve("train/ranks/rank-" + rank + ".json").toFile());
      assertEquals(rank, info.get("rank").asInt());
      assertEquals("cpu (gpu 0 assigned, no CUDA)", info.get("device").asText(), info.toString());
    }
    assertTrue(Files.exists(work.resolve("train/adapter/adapter_model.safetensors")));
  }
}
