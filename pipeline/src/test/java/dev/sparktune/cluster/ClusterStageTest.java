package dev.sparktune.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import dev.sparktune.clean.CleanStage;
import dev.sparktune.config.CleanConfig;
import dev.sparktune.config.ClusterConfig;
import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.config.IngestConfig;
import dev.sparktune.config.SourceConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import dev.sparktune.ingest.IngestStage;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** k-means on a small corpus of three known topics (cooking, astronomy, billing), 8 paraphrased questions each. */
class ClusterStageTest {
  private static final String INPUT = Path.of("src/test/resources/cluster/topics.jsonl").toAbsolutePath().toString();
  @TempDir Path dir;

  static String topicOf(String instruction) {
    String s = instruction.toLowerCase();
    if (s.contains("pasta") || s.contains("spaghetti")) {
      return "cooking";
    }
    if (s.contains("planet") || s.contains("telescope")) {
      return "astronomy";
    }
    return "billing";
  }

  Manifest run(Path work, String clusterYaml) {
    SparkSession spark = TestSpark.get();
    SourceConfig source = new SourceConfig("topics", SourceConfig.SourceType.JSON, INPUT, null, null, null, null,
        null, null, null, null);
    CleanConfig clean = ConfigBinder.bind(ConfigTree.parse("{refusals: {mode: off}, dedup: {exact: false, near: false}}",
        "test"), CleanConfig.class);
    ClusterConfig cluster = ConfigBinder.bind(ConfigTree.parse(clusterYaml, "test"), ClusterConfig.class);
    Workspace ws = new Workspace(work.toString(), dir, spark.sparkContext().hadoopConfiguration());
    return new StageRunner(spark, ws, List.of(new IngestStage(new IngestConfig(List.of(source), null)),
        new CleanStage(clean), new ClusterStage(cluster))).run(new StageRunner.Options(null, null, null, true))
        .get(2).manifest();
  }

  Dataset<Row> table(Path work, String name) {
    return TestSpark.get().read().parquet(work.resolve("cluster").resolve(name).toString());
  }

  @Test
  void clustersSeparateTheTopics() {
    Path work = dir.resolve("plain");
    Manifest m = run(work, "{k: '3', seed: 7}");
    Map<String, Set<Integer>> clustersByTopic = new HashMap<>();
    for (Row r : table(work, "data").collectAsList()) {
      clustersByTopic.computeIfAbsent(topicOf(r.getAs("instruction")), t -> new HashSet<>()).add(r.getAs("cluster_id"));
      assertTrue(((Double) r.getAs("centroid_distance")) >= 0);
    }
    assertEquals(3, clustersByTopic.size());
    Set<Integer> seen = new HashSet<>();
    for (Map.Entry<String, Set<Integer>> e : clustersByTopic.entrySet()) {
      assertEquals(1, e.getValue().size(), "topic " + e.getKey() + " is split over clusters " + e.getValue() + ": "
          + table(work, "data").select("cluster_id", "instruction").orderBy("cluster_id").collectAsList());
      assertTrue(seen.addAll(e.getValue()), "two topics share a cluster: " + clustersByTopic);
    }
    assertEquals(24, m.counts().in());
    assertEquals(24, m.counts().out());
    List<Row> clusters = table(work, "clusters").collectAsList();
    assertEquals(3, clusters.size());
    for (Row c : clusters) {
      assertEquals(8L, (long) c.getAs("size_before"));
      assertEquals(3, c.getList(c.fieldIndex("example_ids")).size());
      List<String> top = c.getList(c.fieldIndex("top_terms"));
      assertTrue(top.contains("pasta") || top.contains("planet") || top.contains("invoice"), "top terms " + top);
    }
  }

  @Test
  void minilmFeaturesSeparateTheTopicsToo() {
    Path work = dir.resolve("minilm");
    Manifest m = run(work, "{k: '3', seed: 7, features: minilm, restarts: 5}");
    Map<String, Set<Integer>> clustersByTopic = new HashMap<>();
    for (Row r : table(work, "data").collectAsList()) {
      clustersByTopic.computeIfAbsent(topicOf(r.getAs("instruction")), t -> new HashSet<>()).add(r.getAs("cluster_id"));
    }
    assertEquals(3, clustersByTopic.size());
    for (Map.Entry<String, Set<Integer>> e : clustersByTopic.entrySet()) {
      assertEquals(1, e.getValue().size(), "topic " + e.getKey() + " split: " + clustersByTopic);
    }
    assertEquals(24, m.counts().out());
  }

  @Test
  void quotaAndSemanticDedup() {
    Path work = dir.resolve("select");
    Manifest m = run(work, "{k: '3', seed: 7, max_per_cluster: 5, keep: nearest, semantic_dedup_eps: 0.2}");
    assertEquals(m.counts().in(), m.counts().out() + m.counts().dropped());
    Dataset<Row> dropped = table(work, "dropped");
    Row dup = dropped.filter("reason = 'semantic_duplicate'").first();
    assertTrue(((String) dup.getAs("instruction")).contains("boil dried spaghetti pasta"), dup.toString());
    String keptTwin = table(work, "data").filter("instruction LIKE 'How long % boil dried spaghetti pasta?'")
        .first().getAs("id");
    assertTrue(((String) dup.getAs("detail")).startsWith("duplicate of " + keptTwin + " (cosine "), dup.toString());
    assertEquals(1, dropped.filter("reason = 'semantic_duplicate'").count());
    for (Row c : table(work, "clusters").collectAsList()) {
      assertTrue((long) c.getAs("size_after") <= 5, c.toString());
    }
    assertEquals(15, m.counts().out(), "3 clusters x 5");
    assertEquals(8, m.counts().droppedByReason().get("cluster_quota"));
  }

  @Test
  void sameSeedSameResult() {
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    run(a, "{k: '3', seed: 11, max_per_cluster: 4}");
    run(b, "{k: '3', seed: 11, max_per_cluster: 4}");
    assertEquals(table(a, "data").orderBy("id").collectAsList().toString(),
        table(b, "data").orderBy("id").collectAsList().toString());
  }
}
