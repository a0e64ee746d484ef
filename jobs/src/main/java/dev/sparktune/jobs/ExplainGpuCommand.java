package dev.sparktune.jobs;

import dev.sparktune.Pipeline;
import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.ParquetTables;
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
  @Mixin ConfigOptions configOptions = new ConfigOptions();

  @Option(names = "--stage", paramLabel = "STAGE", description = "Only this stage (default: every stage but train).")
  String stage;

  @Option(names = "--full", description = "Print RAPIDS' whole report, not just the fallbacks.")
  boolean full;

  @Override
  public Integer call() {
    SparktuneConfig config = configOptions.load();
    List<Stage> sqlStages = Pipeline.stages(config).stream().filter(s -> !s.name().equals(TrainStage.NAME)).toList();
    List<String> names = sqlStages.stream().map(Stage::name).toList();
    if (stage != null && !names.contains(stage)) {
      throw new IllegalArgumentException("--stage " + stage + ": not a SQL stage of this config; they are "
          + String.join(", ", names));
    }
    // What the stages would read (source paths, phrase lists, tokenizer), checked before anything starts.
    StageRunner offline = new StageRunner(null, new Workspace(config.workDir(), Paths.get(""),
        StageCommands.hadoopConf(config)), sqlStages);
    if (StageCommands.refused(offline.preflight(new StageRunner.Options(null, null, stage, false)))) {
      return Main.USAGE;
    }
    if (!GpuExplain.available()) {
      throw new IllegalArgumentException("the RAPIDS Accelerator jar is not on the classpath; fetch it, outside any Maven "
          + "project (inside this one the pinned dependency plugin rejects the jar's missing parent POM), with "
          + "`mvn dependency:get -Dartifact=com.nvidia:rapids-4-spark_2.13:26.08.1 -Dtransitive=false` and set "
          + "SPARKTUNE_EXTRA_CLASSPATH=~/.m2/repository/com/nvidia/rapids-4-spark_2.13/26.08.1/"
          + "rapids-4-spark_2.13-26.08.1.jar");
    }
    SparkSession spark = Sessions.start(new SparktuneConfig.SparkSettings("local[*]", "sparktune-explain-gpu",
        cpuConf(config)));
    try {
      Workspace ws = new Workspace(config.workDir(), Paths.get(""), spark.sparkContext().hadoopConfiguration());
      int unexpected = 0;
      for (Stage s : sqlStages) {
        if (stage != null && !stage.equals(s.name())) {
          continue;
        }
        Map<String, Dataset<Row>> inputs = inputs(spark, ws, s);
        if (inputs != null) {
          unexpected += explain(new StageContext(spark, ws), s, inputs);
        }
      }
      return unexpected == 0 ? Main.OK : Main.STAGE_FAILED;
    } finally {
      spark.stop();
    }
  }

  /** A plain CPU session: the profile's plugin in executeOnGPU mode would halt a machine without a GPU. */
  private static Map<String, String> cpuConf(SparktuneConfig config) {
    Map<String, String> cpu = new LinkedHashMap<>();
    config.spark().conf().forEach((k, v) -> {
      if (!k.equals("spark.plugins") && !k.startsWith("spark.rapids.") && !k.contains(".resource.gpu.")
          && !k.startsWith("spark.executorEnv.") && !k.equals("spark.sql.cache.serializer")
          && !k.startsWith("spark.executor.") && !k.equals("spark.task.cpus")) {
        cpu.put(k, v);
      }
    });
    cpu.put(dev.sparktune.clean.CleanStage.GPU_PLAN, "true"); // the plan the GPU would get
    return cpu;
  }

  /** The stage's upstream outputs already in work_dir, or null (after saying so) when one is missing. */
  private static Map<String, Dataset<Row>> inputs(SparkSession spark, Workspace ws, Stage s) {
    Map<String, Dataset<Row>> inputs = new LinkedHashMap<>();
    for (String up : s.upstream()) {
      Path table = ws.table(up, StageRunner.DATA);
      try {
        inputs.put(up, ParquetTables.read(spark, table.toString()));
      } catch (Exception e) {
        System.out.printf("%s: skipped: no %s output at %s (run `sparktune run --to %s` first)%n",
            s.name(), up, table, up);
        return null;
      }
    }
    return inputs;
  }

  /** Explains every table the stage writes; returns the number of unexpected CPU fallbacks. */
  private int explain(StageContext context, Stage s, Map<String, Dataset<Row>> inputs) {
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
    context.spark().catalog().clearCache(); // explain the plans behind cached tables
    int unexpected = 0;
    for (Map.Entry<String, Dataset<Row>> t : tables.entrySet()) {
      unexpected += explainTable(s.name() + "/" + t.getKey(), t.getValue());
    }
    out.release().run();
    return unexpected;
  }

  private int explainTable(String name, Dataset<Row> table) {
    String report = GpuExplain.report(table);
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
    System.out.printf("%s: %d operators on the GPU, %d on the CPU by design, %d unexpected%n",
        name, GpuExplain.onGpu(report), fallbacks.size() - bad, bad);
    byDesign.forEach((why, n) -> System.out.printf("    %d × %s%n", n, why));
    return bad;
  }
}
