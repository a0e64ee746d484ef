package dev.sparktune.jobs;

import dev.sparktune.Pipeline;
import dev.sparktune.core.Version;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The sparktune command line, also the main class for {@code spark-submit --class dev.sparktune.jobs.Main}.
 * Exit codes: 0 success, 1 a stage failed, 2 bad usage or config.
 */
@Command(name = "sparktune", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
    description = "Turns raw HTML, CSV, JSON, SQL-dump and JDBC sources into a clean, tokenized instruction-tuning "
        + "dataset and LoRA-fine-tunes a model on it, with Spark.",
    footer = {"", "Run `sparktune <command> --help` for a command's options.",
        "Outputs go to <work_dir>/<stage>/ with a _manifest.json each; `run` skips stages whose config and "
            + "inputs are unchanged.",
        "Exit codes: 0 success, 1 a stage failed, 2 bad usage or config."},
    subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {
  static final int OK = 0;
  static final int STAGE_FAILED = 1;
  static final int USAGE = 2;

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return USAGE;
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs the CLI and returns the exit code (tests call this). */
  public static int execute(String... args) {
    return commandLine().execute(args);
  }

  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.addSubcommand("run", new StageCommands.RunCommand());
    for (String stage : Pipeline.stageNames()) {
      CommandLine sub = new CommandLine(new StageCommands.StageCommand(stage)).setCommandName(stage);
      sub.getCommandSpec().usageMessage().description(StageCommands.describe(stage),
          "Skipped when up to date; same as `run --only " + stage + "`.");
      cl.addSubcommand(stage, sub);
    }
    cl.addSubcommand("status", new StageCommands.StatusCommand());
    cl.addSubcommand("report", new StageCommands.ReportCommand());
    cl.addSubcommand("init-model", new ModelCommands.InitModel());
    cl.addSubcommand("merge", new ModelCommands.Merge());
    cl.addSubcommand("score", new ModelCommands.Score());
    cl.addSubcommand("generate", new ModelCommands.Generate());
    cl.addSubcommand("explain-gpu", new ExplainGpuCommand());
    cl.addSubcommand("plan", new PlanCommand());
    cl.addSubcommand("bench", BenchCommand.commandLine());
    cl.addSubcommand("demo", new DemoCommand());
    cl.addSubcommand("aot-cache", new AotCacheCommand());
    DeprecatedSpellings.register(cl);
    cl.setExecutionExceptionHandler(new ErrorHandler());
    return cl;
  }

  /** Prints the sparktune and Spark versions. */
  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"sparktune " + Version.get() + " (Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION() + ")"};
    }
  }
}
