package dev.sparktune.jobs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The benches' old names ({@code bench-model}, ...), kept working as hidden commands that say the
 * new spelling ({@code bench model}) and run it with the same arguments.
 */
final class DeprecatedSpellings {
  private DeprecatedSpellings() {}

  static final List<String> BENCHES = List.of("ingest", "clean", "cluster", "tokenize", "model", "distributed");

  static void register(CommandLine root) {
    for (String bench : BENCHES) {
      CommandLine alias = new CommandLine(new Alias(root, bench)).setCommandName("bench-" + bench);
      alias.getCommandSpec().usageMessage().hidden(true);
      alias.getCommandSpec().parser().unmatchedOptionsArePositionalParams(true);
      root.addSubcommand("bench-" + bench, alias);
    }
  }

  @Command
  static final class Alias implements Callable<Integer> {
    private final CommandLine root;
    private final String bench;
    @Spec CommandSpec spec;
    @Parameters(arity = "0..*") List<String> args = new ArrayList<>();

    Alias(CommandLine root, String bench) {
      this.root = root;
      this.bench = bench;
    }

    @Override
    public Integer call() {
      spec.commandLine().getErr().println("sparktune: `bench-" + bench + "` is deprecated; use `bench " + bench + "`");
      List<String> all = new ArrayList<>(List.of("bench", bench));
      all.addAll(args);
      return root.execute(all.toArray(String[]::new));
    }
  }
}
