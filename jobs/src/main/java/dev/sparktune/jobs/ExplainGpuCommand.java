package dev.sparktune.jobs;

import dev.sparktune.Pipeline;
import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Sessions;
import dev.sparktune.core.Stage;
import dev.sparktune.core.StageContext;
import dev.sparktune.core.StageOutput;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.gpu.GpuExplain;
import dev.sparktune.train.TrainStage;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** explain-gpu: which operators of each SQL stage the RAPIDS Accelerator would run on a GPU. */
@Command(name = "explain-gpu", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Shows, per stage, which operators the RAPIDS Accelerator would run on a GPU and which "
        + "stay on the CPU (with the reason), without a GPU: a plain CPU session asks RAPIDS' explain-only "
        + "API. The stage's inputs are the upstream outputs already in work_dir (run those stages first).",
        "Needs the RAPIDS jar on the classpath: SPARKTUNE_EXTRA_CLASSPATH=.../rapids-4-spark_2.13-26.08.1.jar.",
        "Exit code 1 when an operator would fall back to the CPU that sparktune does not expect to."})
final class ExplainGpuCommand implements Callable<Integer> {
  @Mixin Main.ConfigOptions configOptions = new Main.ConfigOptions();

  @Option(names = "--stage", paramLabel = "STAGE", description = "Only this stage (default: every SQL stage).")
  String stage;

  @Option(names = "--full", description = "Print RAPIDS' whole report, not just the fallbacks.")
  boolean full;

  @Override
  public Integer call() {
    if (!GpuExplain.available()) {
      throw new IllegalArgumentException("the RAPIDS Accelerator jar is not on the classpath; fetch it, outside any Maven "
          + "project (inside this one the pinned dependency plugin rejects the jar's missing parent POM), with "
          + "`mvn dependency:get -Dartifact=com.nvidia:rapids-4-spark_2.13:26.08.1 -Dtransitive=false` and set "
          + "SPARKTUNE_EXTRA_CLASSPATH=~/.m2/repository/com/nvidia/rapids-4-spark_2.13/26.08.1/"
          + "rapids-4-spark_2.13-26.08.1.jar");
    }
    SparktuneConfig config = configOptions.load();
    // A plain CPU session: the profile's plugin in executeOnGPU mode would halt a machine without a GPU.
    Map<String, String> cpu = new LinkedHashMap<>();
    config.spark().conf().forEach((k, v) -> {
      if (!k.equals("spark.plugins") && !k.startsWith("spark.rapids.") && !k.contains(".resource.gpu.")
          && !k.startsWith("spark.executorEnv.") && !k.equals("spark.sql.cache.serializer")
          && !k.startsWith("spark.executor.") && !k.equals("spark.task.cpus")) {
        cpu.put(k, v);
      }
    });
    cpu.put(dev.sparktune.clean.CleanStage.GPU_PLAN, "true"); // the plan the GPU would get
    SparkSession spark = Sessions.start(new SparktuneConfig.SparkSettings("local[*]", "sparktune-explain-gpu", cpu));
    int unexpected = 0;
    try {
      Workspace ws = new Workspace(config.workDir(), Paths.get(""), spark.sparkContext().hadoopConfiguration());
      StageContext context = new StageContext(spark, ws);
      for (Stage s : Pipeline.stages(config)) {
        if (s.name().equals(TrainStage.NAME) || (stage != null && !stage.equals(s.name()))) {
          continue;
        }
        Map<String, Dataset<Row>> inputs = new LinkedHashMap<>();
        boolean ready = true;
        for (String up : s.upstream()) {
          Path table = ws.table(up, StageRunner.DATA);
          try {
            inputs.put(up, spark.read().parquet(table.toString()));
          } catch (Exception e) {
            System.out.printf("%s: skipped: no %s output at %s (run `sparktune run --to %s` first)%n",
                s.name(), up, table, up);
            ready = false;
          }
        }
        if (!ready) {
          continue;
        }
        StageOutput out = s.apply(context, inputs);
        Map<String, Dataset<Row>> tables = new LinkedHashMap<>();
        tables.put("data", out.data());
        if (out.rejected() != null) {
          tables.put("rejects", out.rejected());
        }
        if (out.dropped() != null) {
          tables.put("dropped", out.dropped());
        }
        tables.putAll(out.extras());
        spark.catalog().clearCache(); // explain the plans behind cached tables
        for (Map.Entry<String, Dataset<Row>> t : tables.entrySet()) {
          String report = GpuExplain.report(t.getValue());
          if (full) {
            System.out.println(report);
          }
          List<GpuExplain.Fallback> fallbacks = GpuExplain.fallbacks(report);
          Map<String, Integer> byDesign = new TreeMap<>();
          int bad = 0;
          for (GpuExplain.Fallback f : fallbacks) {
            if (f.expected() != null) {
              byDesign.merge(f.exec() + ": " + f.expected(), 1, Integer::sum);
            } else {
              bad++;
              System.out.printf("  UNEXPECTED %s (causes %s)%n    %s%n", f.exec(), f.causes(), f.line());
            }
          }
          System.out.printf("%s/%s: %d operators on the GPU, %d on the CPU by design, %d unexpected%n",
              s.name(), t.getKey(), GpuExplain.onGpu(report), fallbacks.size() - bad, bad);
          byDesign.forEach((why, n) -> System.out.printf("    %d × %s%n", n, why));
          unexpected += bad;
        }
        out.release().run();
      }
    } finally {
      spark.stop();
    }
    return unexpected == 0 ? Main.OK : Main.STAGE_FAILED;
  }
}
