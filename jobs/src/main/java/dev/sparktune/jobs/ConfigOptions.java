package dev.sparktune.jobs;

import dev.sparktune.config.SparktuneConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Options every command that reads the config takes (a picocli mixin). */
final class ConfigOptions {
  @Option(names = {"-c", "--config"}, paramLabel = "FILE", defaultValue = "conf/local.yaml",
      description = "YAML config (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override a config key, e.g. --set ingest.sources[recipes].csv.delimiter=';' or "
          + "--set spark.conf.spark.sql.shuffle.partitions=8. Repeatable.")
  List<String> overrides = new ArrayList<>();

  SparktuneConfig load() {
    return SparktuneConfig.load(config, overrides);
  }
}
