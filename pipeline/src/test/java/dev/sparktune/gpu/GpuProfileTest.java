package dev.sparktune.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.config.SparktuneConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** conf/gpu-cluster.yaml is consistent, and its GPU discovery script prints what Spark expects. */
class GpuProfileTest {
  static final Path CONF = Paths.get("../conf");

  @Test
  void resourceSettingsAreConsistent() {
    SparktuneConfig config = SparktuneConfig.load(CONF.resolve("gpu-cluster.yaml"), List.of(), k -> null);
    Map<String, String> spark = config.spark().conf();
    assertTrue(spark.get("spark.plugins").contains("com.nvidia.spark.SQLPlugin"));
    assertEquals("true", spark.get("spark.rapids.sql.enabled"));
    assertEquals("com.nvidia.spark.ParquetCachedBatchSerializer", spark.get("spark.sql.cache.serializer"),
        "the stages cache tables: without this serializer every cache scan falls back to the CPU");
    double executorGpus = Double.parseDouble(spark.get("spark.executor.resource.gpu.amount"));
    double taskGpus = Double.parseDouble(spark.get("spark.task.resource.gpu.amount"));
    assertTrue(executorGpus >= 1 && executorGpus == Math.rint(executorGpus), "whole GPUs per executor");
    assertEquals(1.0, taskGpus, 0.0, "a training task needs a whole GPU");
    int cores = Integer.parseInt(spark.get("spark.executor.cores"));
    int taskCpus = Integer.parseInt(spark.get("spark.task.cpus"));
    assertTrue(cores / taskCpus <= executorGpus / taskGpus,
        "no more concurrent tasks per executor than its GPUs can serve");
    assertEquals("false", spark.get("spark.dynamicAllocation.enabled"), "barrier stages need it off");
    int executors = Integer.parseInt(spark.get("spark.executor.instances"));
    int slots = (int) (executors * Math.min(cores / taskCpus, executorGpus / taskGpus));
    assertTrue(config.train().numWorkers() <= slots, "train.num_workers " + config.train().numWorkers()
        + " must fit the " + slots + " GPU task slots");
    assertTrue(spark.containsKey("spark.barrier.sync.timeout"));
    assertEquals(config.train().threads(), taskCpus, "train.threads = the cores a training task gets");

    Path script = CONF.getParent().resolve(spark.get("spark.executor.resource.gpu.discoveryScript"));
    assertTrue(Files.isRegularFile(script), script + " exists");
    assertTrue(Files.isExecutable(script), script + " is executable");
  }

  static JsonNode discover(Path pathDir) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(CONF.resolve("getGpusResources.sh").toAbsolutePath().toString());
    pb.environment().put("PATH", pathDir + ":/usr/bin:/bin");
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor());
    return new ObjectMapper().readTree(out);
  }

  @Test
  void discoveryScriptPrintsResourceJsonWithAndWithoutNvidiaSmi(@TempDir Path tmp) throws Exception {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    JsonNode none = discover(empty);
    assertEquals("gpu", none.get("name").asText());
    assertEquals(0, none.get("addresses").size(), "no nvidia-smi: no GPUs, still valid JSON");

    Path stub = Files.createDirectories(tmp.resolve("stub"));
    Path smi = stub.resolve("nvidia-smi");
    Files.writeString(smi, "#!/bin/sh\nprintf '0\\n1\\n2\\n'\n");
    Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
    JsonNode three = discover(stub);
    assertEquals("gpu", three.get("name").asText());
    assertEquals(List.of("0", "1", "2"), List.of(three.get("addresses").get(0).asText(),
        three.get("addresses").get(1).asText(), three.get("addresses").get(2).asText()));
  }
}
