package dev.sparktune.jobs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.FileAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.layout.PatternLayout;

/**
 * The run's log file, {@code <work_dir>/_logs/<command>-<time>-<pid>.log}: everything sparktune logs at
 * INFO and the libraries at WARN, with full stack traces, while the console keeps one line per
 * event. Local work directories only (on a cluster the driver's log is the log file).
 */
final class RunLog {
  private RunLog() {}

  /** Writes only to the log file (not additive): stack traces the console must not show. */
  private static final String TRACE_LOGGER = "dev.sparktune.jobs.trace";

  private static volatile Path current;

  /** The current run's log file, or null when none is open. */
  static Path current() {
    return current;
  }

  /**
   * Opens the log file under {@code workDir} (a local directory) for {@code command} ({@code run} or a
   * stage name); returns it, or null when it cannot.
   */
  static Path open(Path workDir, String command) {
    try {
      if (!(LogManager.getContext(false) instanceof LoggerContext ctx)) {
        return null; // another logging backend: its own configuration decides
      }
      Path dir = workDir.resolve("_logs");
      Files.createDirectories(dir);
      String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
      Path file = dir.resolve(command + "-" + stamp + "-" + ProcessHandle.current().pid() + ".log");
      Configuration cfg = ctx.getConfiguration();
      PatternLayout layout = PatternLayout.newBuilder().withConfiguration(cfg)
          .withPattern("%d{ISO8601} %-5p [%t] %c: %m%n%ex").build();
      FileAppender appender = FileAppender.newBuilder().setName("sparktune-run-log").withFileName(file.toString())
          .setLayout(layout).setConfiguration(cfg).build();
      appender.start();
      cfg.addAppender(appender);
      cfg.getRootLogger().addAppender(appender, Level.ALL, null);
      LoggerConfig trace = LoggerConfig.newBuilder().withLoggerName(TRACE_LOGGER).withLevel(Level.ALL)
          .withAdditivity(false).withConfig(cfg).build();
      trace.addAppender(appender, Level.ALL, null);
      cfg.removeLogger(TRACE_LOGGER); // a previous run in this JVM (tests) pointed it at its own file
      cfg.addLogger(TRACE_LOGGER, trace);
      ctx.updateLoggers();
      current = file;
      return file;
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
  }

  /** Writes {@code what} and the stack trace of {@code e} to the log file alone; nothing when none is open. */
  static void trace(String what, Throwable e) {
    if (current != null) {
      LogManager.getLogger(TRACE_LOGGER).error(what, e);
    }
  }
}
