package dev.sparktune;

import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Stage;
import dev.sparktune.clean.CleanStage;
import dev.sparktune.ingest.IngestStage;
import java.util.List;

/** The stages of a sparktune run, in order, built from the resolved config. */
public final class Pipeline {
  private Pipeline() {}

  public static List<Stage> stages(SparktuneConfig config) {
    return List.of(new IngestStage(config.ingest()), new CleanStage(config.clean()));
  }

  /** One line on what a stage does, for help texts. */
  public static String describe(String stage) {
    return switch (stage) {
      case IngestStage.NAME -> "Read every configured source (CSV, JSON) into the canonical record table; "
          + "unreadable input goes to the rejects table with its reason.";
      case CleanStage.NAME -> "Normalize text, drop or strip refusal boilerplate (audited, counted per phrase), "
          + "apply quality rules and remove exact and near duplicates; every drop is kept with its reason.";
      default -> throw new IllegalArgumentException("unknown stage " + stage);
    };
  }

  /** Stage names in order, for help texts. */
  public static List<String> stageNames() {
    return List.of(IngestStage.NAME, CleanStage.NAME);
  }
}
