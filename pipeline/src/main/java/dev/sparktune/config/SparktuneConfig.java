package dev.sparktune.config;

import static dev.sparktune.config.InvalidValue.orDefault;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The whole resolved configuration of a sparktune run: where outputs go, how Spark starts, and one
 * section per stage.
 *
 * @param workDir where every stage writes {@code <work_dir>/<stage>/}; any Hadoop file system URI
 * @param spark how the embedded session starts (ignored by spark-submit for settings it owns)
 * @param ingest the ingest stage
 * @param clean the clean stage (defaults apply when absent)
 * @param cluster the cluster stage (defaults apply when absent)
 * @param tokenize the tokenize stage; absent: the pipeline ends before it
 * @param train the train stage; absent: the pipeline ends after tokenize
 */
public record SparktuneConfig(String workDir, SparkSettings spark, IngestConfig ingest, CleanConfig clean,
    ClusterConfig cluster, TokenizeConfig tokenize, TrainConfig train) implements Serializable {

  public SparktuneConfig {
    workDir = InvalidValue.required(workDir, "work_dir");
    spark = orDefault(spark, new SparkSettings(null, null, null));
    ingest = InvalidValue.required(ingest, "ingest");
    clean = orDefault(clean, new CleanConfig(null, null, null, null));
    if (train != null && tokenize == null) {
      throw new InvalidValue("train", "needs a tokenize section: it trains on the tokenize stage's dataset");
    }
    cluster = orDefault(cluster, new ClusterConfig(null, null, null, null, null, null, null, null, null, null, null,
        null, null, null));
  }

  /**
   * Loads a YAML file, expands {@code ${ENV}} references, applies {@code --set} overrides (in order)
   * and validates everything; fails with a {@link ConfigException} before anything else starts.
   */
  public static SparktuneConfig load(Path file, List<String> overrides) {
    return load(file, overrides, System::getenv);
  }

  /** As {@link #load(Path, List)}, with an explicit environment (for tests). */
  public static SparktuneConfig load(Path file, List<String> overrides, java.util.function.Function<String, String> env) {
    ConfigTree tree = ConfigTree.load(file);
    for (String o : overrides) {
      ConfigOverride.apply(tree, SparktuneConfig.class, o);
    }
    tree.expandEnvironment(env);
    return ConfigBinder.bind(tree, SparktuneConfig.class);
  }

  /**
   * Settings for the embedded Spark session.
   *
   * @param master {@code spark.master} when not launched by spark-submit; default {@code local[*]}
   * @param appName the application name
   * @param conf any further Spark properties, e.g. {@code spark.sql.shuffle.partitions}
   */
  public record SparkSettings(String master, String appName, Map<String, String> conf) implements Serializable {
    public SparkSettings {
      master = orDefault(master, "local[*]");
      appName = orDefault(appName, "sparktune");
      conf = conf == null ? Map.of() : Map.copyOf(conf);
    }
  }
}
