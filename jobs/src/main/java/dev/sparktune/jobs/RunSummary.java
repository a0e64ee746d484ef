package dev.sparktune.jobs;

import dev.sparktune.cluster.ClusterStage;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.ParquetTables;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.train.MetricsLog;
import dev.sparktune.train.TrainStage;
import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

/** What `run` and the stage commands print after the stages: counts, clusters, training results. */
final class RunSummary {
  private RunSummary() {}

  static void print(SparkSession spark, Workspace ws, List<StageRunner.Outcome> outcomes) {
    printOutcomes(outcomes);
    if (outcomes.stream().anyMatch(o -> o.stage().equals(ClusterStage.NAME))) {
      printClusters(spark, ws);
    }
    if (outcomes.stream().anyMatch(o -> o.stage().equals(TrainStage.NAME))) {
      printTraining(spark, ws);
    }
    System.out.println("Outputs are under " + ws.root());
  }

  /** The stage table: action, records in/out/rejected/dropped, seconds. */
  static void printOutcomes(List<StageRunner.Outcome> outcomes) {
    System.out.printf("%-10s %-22s %10s %10s %10s %10s %9s%n", "stage", "action", "in", "out", "rejected",
        "dropped", "seconds");
    for (StageRunner.Outcome o : outcomes) {
      Manifest m = o.manifest();
      String action = o.ran() ? "ran" : "skipped (up to date)";
      if (m == null) {
        System.out.printf("%-10s %-22s%n", o.stage(), action);
        continue;
      }
      Manifest.Counts c = m.counts();
      System.out.printf("%-10s %-22s %10d %10d %10d %10d %9s%n", o.stage(), action, c.in(), c.out(),
          c.rejected(), c.dropped(), o.ran() ? String.format("%.1f", m.durationSeconds()) : "-");
    }
  }

  /** After a run that includes the cluster stage, the clusters table: what the selection did. */
  static void printClusters(SparkSession spark, Workspace ws) {
    String path = ws.table(ClusterStage.NAME, ClusterStage.CLUSTERS).toString();
    List<Row> rows = ParquetTables.read(spark, path).orderBy("cluster_id").limit(20).collectAsList();
    System.out.println("clusters (" + path + "):");
    System.out.printf("  %7s %7s %6s  %s%n", "cluster", "before", "after", "top terms");
    for (Row r : rows) {
      List<String> terms = r.getList(r.fieldIndex("top_terms"));
      System.out.printf("  %7d %7d %6d  %s%n", r.<Integer>getAs("cluster_id"), r.<Long>getAs("size_before"),
          r.<Long>getAs("size_after"), String.join(", ", terms.subList(0, Math.min(6, terms.size()))));
    }
  }

  /**
   * After a run that includes the train stage: the last metrics (read from the train stage's
   * {@code metrics} Parquet table) and where the adapter is.
   */
  static void printTraining(SparkSession spark, Workspace ws) {
    Path dir = ws.stageDir(TrainStage.NAME);
    List<Row> last = ParquetTables.read(spark, ws.table(TrainStage.NAME, TrainStage.METRICS).toString())
        .orderBy(functions.col("step").desc()).limit(1).collectAsList();
    if (!last.isEmpty()) {
      Row r = last.get(0);
      Object eval = r.get(r.fieldIndex("eval_loss"));
      System.out.printf("train: %d steps, final loss %.4f%s%n", r.<Integer>getAs("step"), r.<Double>getAs("loss"),
          eval == null ? "" : String.format(", eval loss %.4f (perplexity %.2f)", (Double) eval,
              Math.exp((Double) eval)));
    }
    System.out.println("adapter (PEFT): " + new Path(dir, "adapter"));
    System.out.println("best adapter:   " + new Path(dir, "best"));
    System.out.println("metrics:        " + new Path(dir, MetricsLog.FILE));
  }
}
