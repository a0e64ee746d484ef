package dev.sparktune.jobs;

import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Sessions;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/**
 * The options the Spark benches share (a picocli mixin): where their generated inputs and outputs go
 * (kept for reruns: inputs are generated once per size) and the Spark master.
 */
final class BenchOptions {
  @Option(names = "--dir", defaultValue = "work/bench",
      description = "Where generated inputs and outputs go, kept for reruns (default ${DEFAULT-VALUE}).")
  Path dir;

  @Option(names = "--master", defaultValue = "local[*]", description = "Spark master (default ${DEFAULT-VALUE}).")
  String master;

  Path dir() {
    return dir.toAbsolutePath();
  }

  /** A bench's body, given the session. */
  interface Body {
    void run(SparkSession spark) throws Exception;
  }

  /** Runs a bench in a fresh quiet session and prints the machine it ran on. */
  int withSession(Body body) throws Exception {
    SparkSession spark = Sessions.start(new SparktuneConfig.SparkSettings(master, "sparktune-bench",
        Map.of("spark.ui.enabled", "false", "spark.ui.showConsoleProgress", "false",
            "spark.sql.shuffle.partitions", "8")));
    try {
      body.run(spark);
      System.out.println("master " + spark.sparkContext().master() + ", " + Runtime.getRuntime().availableProcessors()
          + " cores, heap " + Runtime.getRuntime().maxMemory() / 1048576 + " MB");
      return Main.OK;
    } finally {
      spark.stop();
    }
  }
}
