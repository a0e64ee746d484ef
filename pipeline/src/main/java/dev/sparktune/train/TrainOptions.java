package dev.sparktune.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.config.TrainConfig;

/**
 * What the training loop needs, as plain values: built once from the train config by the stage
 * (or a bench or test), so the {@link Trainer} and the classes below it never see the config.
 *
 * @param step the optimizer and step options (AdamW, clipping, checkpointing, dropout seed)
 * @param maxSteps optimizer steps; null: {@code epochs} passes over the train split
 * @param evalSteps evaluate every this many steps (0: only at the end)
 * @param saveSteps checkpoint every this many steps (0: only at the end)
 * @param baseModel the base model as configured, written into each adapter's adapter_config.json
 * @param resolvedConfig the resolved train config, stored in each checkpoint's trainer_state.json
 */
public record TrainOptions(int microBatchSize, int gradAccumSteps, Integer maxSteps, int epochs, long seed,
    boolean groupByLength, LoraConfig lora, TrainStep.Options step, String schedule, double learningRate,
    int warmupSteps, double warmupRatio, double minLrRatio, int evalSteps, int loggingSteps, int saveSteps,
    int saveTotalLimit, String baseModel, JsonNode resolvedConfig) {

  /** The options a train config asks for. */
  public static TrainOptions of(TrainConfig c) {
    TrainStep.Options step = new TrainStep.Options(c.adamBeta1(), c.adamBeta2(), c.adamEps(), c.weightDecay(),
        c.maxGradNorm(), c.gradientCheckpointing(), c.seed());
    return new TrainOptions(c.microBatchSize(), c.gradAccumSteps(), c.maxSteps(), c.epochs(), c.seed(),
        c.groupByLength(), c.lora(), step, c.schedule(), c.learningRate(), c.warmupSteps(),
        c.warmupRatio(), c.minLrRatio(), c.evalSteps(), c.loggingSteps(), c.saveSteps(), c.saveTotalLimit(),
        c.baseModel(), new ObjectMapper().valueToTree(c));
  }
}
