package dev.sparktune.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The train, train.lora and tokenize sections: defaults, resolved values, and errors naming the key. */
class TrainConfigTest {
  @TempDir Path dir;

  private static final String VALID = """
      work_dir: /tmp/work
      ingest:
        sources:
          - {name: a, type: json, path: data/a.json}
      tokenize:
        tokenizer: tok.json
      train:
        base_model: /models/tiny
        lora:
          target_modules: [v_proj, q_proj]
      """;

  private SparktuneConfig load(String... overrides) throws IOException {
    Path f = dir.resolve("test.yaml");
    Files.writeString(f, VALID);
    return SparktuneConfig.load(f, List.of(overrides), k -> null);
  }

  private String error(String... overrides) {
    return assertThrows(ConfigException.class, () -> load(overrides)).getMessage();
  }

  @Test
  void loraDefaultsAndResolvedModules() throws IOException {
    LoraConfig lora = load().train().lora();
    assertEquals(8, lora.r());
    assertEquals(16.0, lora.alpha());
    assertEquals(0.05, lora.dropout());
    assertEquals(List.of("q_proj", "v_proj"), lora.targetModules(), "PEFT's order");
    assertEquals(2.0, lora.scaling());
    assertEquals(LoraConfig.LINEAR_MODULES,
        load("train.lora.target_modules=[all-linear]").train().lora().targetModules());
  }

  @Test
  void badLoraValueNamesItsKey() {
    String r = error("train.lora.r=0");
    assertTrue(r.contains("train.lora.r: must be > 0, got 0"), r);
    String dropout = error("train.lora.dropout=1.5");
    assertTrue(dropout.contains("train.lora.dropout: must be in [0, 1)"), dropout);
    String module = error("train.lora.target_modules=[qproj]");
    assertTrue(module.contains("train.lora.target_modules: unknown module 'qproj' (known: q_proj"), module);
    assertTrue(module.contains("all-linear)"), module);
  }

  @Test
  void badScheduleListsTheSchedules() {
    String msg = error("train.schedule=cosin");
    assertTrue(msg.contains("train.schedule: 'cosin' is not one of cosine, linear, constant, constant_with_warmup"),
        msg);
  }

  @Test
  void badTemplateListsTheBuiltInOnes() {
    String msg = error("tokenize.template=alpacca");
    assertTrue(msg.contains("tokenize.template: 'alpacca' is neither a built-in template (alpaca, chatml, llama3),"
        + " model (the base model's own chat template) nor a custom one with exactly one {output} placeholder"), msg);
    assertEquals(Optional.of(TemplateName.CHATML), TemplateName.of("chatml"));
    assertEquals(Optional.empty(), TemplateName.of("Q: {instruction}\nA: {output}"), "a custom template");
    assertThrows(IllegalArgumentException.class, () -> TemplateName.of("A: {output} {output}"));
  }
}
