package dev.sparktune.jobs;

import dev.sparktune.config.ConfigException;
import dev.sparktune.core.RunLock;
import dev.sparktune.core.StageFailedException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * What the console shows when a command throws. Expected errors (bad usage or config, a held lock,
 * an unreadable file, a failed stage) are one line naming the file or key, and the exit code says
 * which kind; their stack trace goes only to the run's log file ({@link RunLog}) when one is open.
 * Anything else is a bug: its trace goes to the log file, or to the console when there is none.
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
  @Override
  public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    PrintWriter err = cmd.getErr();
    Throwable cause = e instanceof UncheckedIOException u ? u.getCause() : e;
    if (cause instanceof ConfigException || cause instanceof IllegalArgumentException
        || cause instanceof RunLock.HeldException) {
      err.println("sparktune: error: " + cause.getMessage());
      return Main.USAGE;
    }
    if (cause instanceof IOException) {
      // Unreadable model, adapter, tokenizer or input files: the message names the file and the problem.
      err.println("sparktune: error: " + cause.getMessage());
      RunLog.trace("error", cause);
      return Main.STAGE_FAILED;
    }
    if (cause instanceof StageFailedException) {
      err.println("sparktune: stage failed: " + cause.getMessage());
      RunLog.trace("stage failed", cause);
      return Main.STAGE_FAILED;
    }
    err.println("sparktune: failed: " + e);
    Path log = RunLog.current();
    if (log != null) {
      RunLog.trace("failed", e);
      err.println("sparktune: the stack trace is in " + log);
    } else {
      e.printStackTrace(err);
    }
    return Main.STAGE_FAILED;
  }
}
