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
        stages.add(new TrainStage(config.train(), freshTraining, config.tokenize().tokenizer()));
      }
    }
    return stages;
  }

  /** One line on what a stage does, for help texts. */
  public static String describe(String stage) {
    return switch (stage) {
      case IngestStage.NAME -> "Read every configured source (CSV, JSON) into the canonical record table; "
          + "unreadable input goes to the rejects table with its reason.";
      case CleanStage.NAME -> "Normalize text, drop or strip refusal boilerplate (audited, counted per phrase), "
          + "apply quality rules and remove exact and near duplicates; every drop is kept with its reason.";
      case ClusterStage.NAME -> "Cluster records with k-means on TF-IDF features, drop semantic duplicates within a "
          + "cluster and cap each cluster's size for diversity; writes a table of the clusters.";
      case TokenizeStage.NAME -> "Render records with the prompt template, tokenize with the base model's "
          + "tokenizer.json, mask the prompt, split train/validation by id hash, and write a Hugging Face dataset.";
      case TrainStage.NAME -> "Fine-tune a LoRA adapter on the tokenized train split (one Spark task; AdamW, "
          + "schedule, eval, checkpoints it resumes from) and write it in PEFT format with metrics.";
      default -> throw new IllegalArgumentException("unknown stage " + stage);
    };
  }

  /** Stage names in order, for help texts. */
  public static List<String> stageNames() {
    return List.of(IngestStage.NAME, CleanStage.NAME, ClusterStage.NAME, TokenizeStage.NAME, TrainStage.NAME);
  }
}
