package dev.sparktune.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.config.LoraConfig;
import dev.sparktune.model.ModelConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The memory plan on the public config.json of TinyLlama-1.1B-Chat-v1.0 and Llama-2-7b-hf, against
 * the byte counts of an independent Python implementation of the same terms (made while the
 * activation term was checked against libtorch's saved tensors; see docs/benchmarks.md).
 */
class MemoryPlanTest {
  private static final LoraConfig R16_ALL = new LoraConfig(16, 32.0, 0.05, List.of("all-linear"), false, null);

  private static MemoryPlan plan(String model, int batch, int seq, int bytes, String quantization, boolean gc,
      boolean gpu) throws Exception {
    ModelConfig config = ModelConfig.read(Path.of("src/test/resources/plan", model));
    return MemoryPlan.of(config, R16_ALL, new MemoryPlan.Setting(batch, seq, bytes, quantization, gc, 1, gpu));
  }

  private static void assertPlan(MemoryPlan p, long weights, long lora, long activations, long logits, long workspace,
      long runtime) {
    assertEquals(weights, p.weights(), "weights");
    assertEquals(lora, p.lora(), "LoRA + AdamW");
    assertEquals(activations, p.activations(), "activations");
    assertEquals(logits, p.logits(), "logits");
    assertEquals(workspace, p.workspace(), "workspace");
    assertEquals(runtime, p.runtime(), "runtime");
  }

  @Test
  void tinyLlamaAndLlama2AsThePythonPlanComputesThem() throws Exception {
    assertPlan(plan("tinyllama-1.1b", 1, 512, 4, "none", false, false),
        4400193536L, 302776320L, 3166142464L, 196608000L, 0, 966367641L);
    assertPlan(plan("tinyllama-1.1b", 1, 512, 4, "nf4", true, false),
        1024474728L, 302776320L, 543752192L, 196608000L, 92274688L, 966367641L);
    assertPlan(plan("tinyllama-1.1b", 4, 2048, 2, "int8", true, true),
        1232789504L, 302776320L, 3164078080L, 3670016000L, 69206016L, 1073741824L);
    assertPlan(plan("llama-2-7b", 1, 512, 4, "nf4", true, false),
        4390413184L, 959447040L, 1651048448L, 196608000L, 360710144L, 966367641L);
    assertPlan(plan("llama-2-7b", 4, 2048, 2, "none", true, true),
        13476831232L, 959447040L, 7001866240L, 3670016000L, 0, 1073741824L);
    assertPlan(plan("llama-2-7b", 1, 512, 4, "int8", false, false),
        7531085824L, 959447040L, 35360374784L, 196608000L, 360710144L, 966367641L);
    // Without dropout a target's input is kept once, o_proj's (the attention output) included.
    ModelConfig tiny = ModelConfig.read(Path.of("src/test/resources/plan", "tinyllama-1.1b"));
    assertPlan(MemoryPlan.of(tiny, new LoraConfig(16, 32.0, 0.0, List.of("all-linear"), false, null),
        new MemoryPlan.Setting(2, 1024, 4, "none", false, 1, true)),
        4400193536L, 302776320L, 8130527232L, 1048576000L, 0, 1073741824L);
    // quantization_skip_modules: down_proj stays float32, so it is neither packed nor dequantized.
    ModelConfig llama2 = ModelConfig.read(Path.of("src/test/resources/plan", "llama-2-7b"));
    assertPlan(MemoryPlan.of(llama2, R16_ALL, new MemoryPlan.Setting(1, 512, 4, "nf4", true, 1, false,
        List.of("down_proj"))), 9417458432L, 959447040L, 1470693376L, 196608000L, 360710144L, 966367641L);
  }

  @Test
  void quantizingShrinksTheBaseAndCheckpointingTheActivations() throws Exception {
    MemoryPlan dense = plan("llama-2-7b", 1, 512, 4, "none", true, false);
    MemoryPlan nf4 = plan("llama-2-7b", 1, 512, 4, "nf4", true, false);
    assertTrue(nf4.weights() * 6 < dense.weights(), "nf4 linears take about an eighth of float32");
    assertTrue(plan("llama-2-7b", 1, 512, 4, "nf4", false, false).activations() > 20 * nf4.activations(),
        "without checkpointing every layer's dequantized weights stay for backward");
    assertTrue(nf4.table().contains("total"), nf4.table());
  }
}
