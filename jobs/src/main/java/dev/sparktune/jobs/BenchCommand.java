package dev.sparktune.jobs;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bench <what>}: the benchmarks, one subcommand each (results and how to read them: docs/benchmarks.md). */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Benchmarks on generated inputs; see docs/benchmarks.md for results and how to read them.",
        "The Spark benches (pipeline, ingest, clean, cluster, tokenize, peer) share --dir and --master."})
final class BenchCommand implements Callable<Integer> {
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new BenchCommand());
    cl.addSubcommand("pipeline", new PipelineBench());
    cl.addSubcommand("ingest", new DataBenchCommands.Ingest());
    cl.addSubcommand("clean", new DataBenchCommands.Clean());
    cl.addSubcommand("cluster", new DataBenchCommands.Cluster());
    cl.addSubcommand("tokenize", new DataBenchCommands.Tokenize());
    cl.addSubcommand("peer", new PeerBench());
    cl.addSubcommand("model", new ModelBench());
    cl.addSubcommand("distributed", new DistributedBench());
    return cl;
  }

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return Main.USAGE;
  }
}
