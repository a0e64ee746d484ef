package dev.sparktune;

import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Stage;
import dev.sparktune.clean.CleanStage;
import dev.sparktune.cluster.ClusterStage;
import dev.sparktune.ingest.IngestStage;
import dev.sparktune.tokenize.TokenizeStage;
import dev.sparktune.train.TrainStage;
import java.util.List;

/** The stages of a sparktune run, in order, built from the resolved config. */
public final class Pipeline {
  private Pipeline() {}

  public static List<Stage> stages(SparktuneConfig config) {
    return stages(config, false);
  }

  /** @param freshTraining start training over instead of resuming an unfinished run's checkpoints */
  public static List<Stage> stages(SparktuneConfig config, boolean freshTraining) {
    List<Stage> stages = new java.util.ArrayList<>(List.of(new IngestStage(config.ingest()),
        new CleanStage(config.clean())));
    if (config.cluster().enabled()) {
      stages.add(new ClusterStage(config.cluster()));
    }
    if (config.tokenize() != null) {
      stages.add(new TokenizeStage(config.tokenize(),
          config.cluster().enabled() ? ClusterStage.NAME : CleanStage.NAME));
      if (config.train() != null) {
        stages.add(new TrainStage(config.train(), freshTraining, config.tokenize().tokenizer())
            .withSequenceLength(config.tokenize().maxLength()));
      }
    }
    return stages;
  }

  /** Stage names in order, for help texts. */
  public static List<String> stageNames() {
    return List.of(IngestStage.NAME, CleanStage.NAME, ClusterStage.NAME, TokenizeStage.NAME, TrainStage.NAME);
  }
}
