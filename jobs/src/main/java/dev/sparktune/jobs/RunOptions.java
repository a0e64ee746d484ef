package dev.sparktune.jobs;

import picocli.CommandLine.Option;

/** Options of the commands that run stages (a picocli mixin). */
final class RunOptions {
  @Option(names = "--force", description = "Rerun even when the output is up to date.")
  boolean force;

  @Option(names = "--fresh", description = "Train from scratch, ignoring the checkpoints of an unfinished "
      + "training run (by default the train stage resumes from its latest checkpoint).")
  boolean fresh;
}
