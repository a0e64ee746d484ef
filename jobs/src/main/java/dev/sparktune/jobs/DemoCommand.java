package dev.sparktune.jobs;

import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.StageRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code demo}: the README's quick start in one command. Makes the demo's tiny base model when it is
 * not there yet (the model is generated, never downloaded or committed), then runs every stage of
 * {@code conf/local.yaml} on the shipped samples. ({@code bin/sparktune demo} also builds the project
 * first when the jar is missing.)
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run the demo end to end: make the tiny demo model at train.base_model if it is missing "
        + "(same as `init-model --arch llama --hidden 64 --layers 2 --heads 4 --kv-heads 2 --init-std 0.1 "
        + "--tokenizer <tokenize.tokenizer> --out <train.base_model>`), then `run` on conf/local.yaml.",
        "bin/sparktune builds the project first when it is not built yet."})
final class DemoCommand implements Callable<Integer> {
  @Mixin ConfigOptions configOptions = new ConfigOptions();
  @Mixin RunOptions runOptions = new RunOptions();

  @Override
  public Integer call() throws Exception {
    SparktuneConfig config = configOptions.load();
    if (config.tokenize() == null || config.train() == null) {
      throw new IllegalArgumentException(configOptions.config + " has no tokenize or train section: the demo "
          + "trains on conf/local.yaml or a config like it");
    }
    Path model = Path.of(config.train().baseModel());
    if (!Files.exists(model.resolve("config.json"))) {
      System.out.println("making the demo's tiny base model at " + model);
      CommandLine.populateCommand(new ModelCommands.InitModel(), "--arch", "llama", "--hidden", "64",
          "--layers", "2", "--heads", "4", "--kv-heads", "2", "--init-std", "0.1",
          "--tokenizer", config.tokenize().tokenizer(), "--out", model.toString()).call();
    }
    return StageCommands.runStages(config, new StageRunner.Options(null, null, null, runOptions.force),
        runOptions.fresh, "run");
  }
}
