package dev.sparktune.jobs;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/**
 * {@code aot-cache}: listed here so that {@code --help} shows it; bin/sparktune does the work before
 * any JVM starts (it must choose the JVM's options), so reaching this class means the launcher was
 * not used.
 */
@Command(name = "aot-cache", mixinStandardHelpOptions = true,
    description = {"Java 25+: records a small pipeline run (bench pipeline, 20,000 records) into "
        + "jobs/target/sparktune.aot, which later local runs on that Java load (faster start and warm-up).",
        "Run by bin/sparktune itself: `bin/sparktune aot-cache [--records N]` with JAVA_HOME at a JDK 25+."})
final class AotCacheCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("sparktune: aot-cache is run by bin/sparktune before Java starts: "
        + "JAVA_HOME=<a JDK 25+> bin/sparktune aot-cache [--records N]");
    return Main.USAGE;
  }
}
