package dev.sparktune.jobs;

import dev.sparktune.core.Manifest;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bench ingest|clean|cluster|tokenize}: one data stage's throughput on generated records. */
final class DataBenchCommands {
  private DataBenchCommands() {}

  static void printStage(String stage, Manifest m) {
    System.out.printf("%s: %d records in %.1f s = %.0f records/s; %d out, dropped %s%n", stage, m.counts().in(),
        m.durationSeconds(), m.counts().in() / m.durationSeconds(), m.counts().out(), m.counts().droppedByReason());
  }

  @Command(name = "ingest", mixinStandardHelpOptions = true,
      description = "Generate about --mb MB each of CSV, JSON lines, HTML pages and a MySQL dump under --dir "
          + "(kept for reruns) and report ingest records/s and MB/s per source type.")
  static final class Ingest implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions();

    @Option(names = "--mb", defaultValue = "100", description = "Input size per source type (default ${DEFAULT-VALUE}).")
    int mb;

    @Override
    public Integer call() throws Exception {
      return bench.withSession(spark -> {
        List<IngestBench.Result> results = IngestBench.run(spark, bench.dir(), mb);
        System.out.printf("%-6s %10s %8s %9s %12s %8s%n", "type", "records", "MB", "seconds", "records/s", "MB/s");
        for (IngestBench.Result r : results) {
          double mbs = r.bytes() / 1048576.0;
          System.out.printf("%-6s %10d %8.1f %9.1f %12.0f %8.2f%n", r.type(), r.records(), mbs, r.seconds(),
              r.records() / r.seconds(), mbs / r.seconds());
        }
      });
    }
  }

  @Command(name = "clean", mixinStandardHelpOptions = true,
      description = "Clean-stage throughput on --records synthetic instruction records (5%% refusal "
          + "boilerplate, 5%% exact and 5%% near duplicates), with every quality rule and both dedups on.")
  static final class Clean implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions();

    @Option(names = "--records", defaultValue = "100000", description = "Records (default ${DEFAULT-VALUE}).")
    int records;

    @Option(names = "--clean-config", paramLabel = "YAML",
        description = "The clean section to use instead of the bench's (all rules, both dedups), as inline YAML.")
    String cleanYaml;

    @Override
    public Integer call() throws Exception {
      return bench.withSession(spark -> printStage("clean", CleanBench.run(spark, bench.dir(), records,
          cleanYaml != null ? cleanYaml : CleanBench.DEFAULT_CONFIG)));
    }
  }

  @Command(name = "cluster", mixinStandardHelpOptions = true,
      description = "Cluster-stage throughput (features + k-means + selection) on --records synthetic "
          + "instruction records.")
  static final class Cluster implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions();

    @Option(names = "--records", defaultValue = "100000", description = "Records (default ${DEFAULT-VALUE}).")
    int records;

    @Option(names = "--cluster-config", paramLabel = "YAML", defaultValue = "{k: '100', max_per_cluster: 2000}",
        description = "The cluster section, as inline YAML (default ${DEFAULT-VALUE}).")
    String clusterYaml;

    @Override
    public Integer call() throws Exception {
      return bench.withSession(spark -> printStage("cluster",
          CleanBench.runCluster(spark, bench.dir(), records, clusterYaml)));
    }
  }

  @Command(name = "tokenize", mixinStandardHelpOptions = true,
      description = "Tokenize-stage tokens/s on --records synthetic records vs. DJL's raw batch-encode "
          + "rate on the same texts.")
  static final class Tokenize implements Callable<Integer> {
    @Mixin BenchOptions bench = new BenchOptions();

    @Option(names = "--records", defaultValue = "100000", description = "Records (default ${DEFAULT-VALUE}).")
    int records;

    @Option(names = "--tokenizer", defaultValue = "conf/samples/tokenizer/tokenizer.json",
        description = "tokenizer.json (default ${DEFAULT-VALUE}).")
    Path tokenizer;

    @Option(names = "--chat", description = "Generated ShareGPT conversations (--records of them) rendered with the "
        + "chat template beside --tokenizer (template: model); compare with bench/chat_peer.py.")
    boolean chat;

    @Override
    public Integer call() throws Exception {
      if (!java.nio.file.Files.isRegularFile(tokenizer)) {
        throw new IllegalArgumentException("--tokenizer " + tokenizer + " is not a file");
      }
      String path = tokenizer.toAbsolutePath().toString();
      return bench.withSession(spark -> System.out.println(chat ? ChatBench.run(spark, bench.dir(), records, path)
          : CleanBench.runTokenize(spark, bench.dir(), records, path)));
    }
  }
}
