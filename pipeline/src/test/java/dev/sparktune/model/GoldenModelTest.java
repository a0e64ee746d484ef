package dev.sparktune.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.lora.LoraAdapter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The model, its LoRA adapters and merge against reference numbers computed by transformers 5.18
 * and PEFT 0.21 (test resources golden/, copied from shared/golden): four tiny Llama-family models.
 */
class GoldenModelTest {
  static NDManager manager;

  @BeforeAll
  static void start() {
    manager = Torch.newManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  static Path golden(String arch) throws Exception {
    return Path.of(GoldenModelTest.class.getResource("/golden/" + arch).toURI());
  }

  /** The golden tensors of one architecture, loaded with our own safetensors reader. */
  static Map<String, NDArray> reference(String arch, NDManager m) throws Exception {
    Map<String, NDArray> out = new HashMap<>();
    try (Safetensors st = Safetensors.open(golden(arch).resolve("golden.safetensors"))) {
      for (String name : st.tensors().keySet()) {
        out.put(name, st.load(name, m, null));
      }
    }
    return out;
  }

  static double maxAbsDiff(NDArray a, NDArray b) {
    return a.toType(DataType.FLOAT64, false).sub(b.toType(DataType.FLOAT64, false)).abs().max()
        .getDouble();
  }

  static double relativeError(NDArray got, NDArray want) {
    NDArray g = got.toType(DataType.FLOAT64, false);
    NDArray w = want.toType(DataType.FLOAT64, false);
    return g.sub(w).norm().getDouble() / w.norm().getDouble();
  }

  static double scalar(NDArray a) {
    return a.toType(DataType.FLOAT64, false).getDouble();
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "llama-gqa", "qwen2", "mistral"})
  void baseLogitsAndLossMatchTransformers(String arch) throws Exception {
    try (CausalLm model = CausalLm.load(golden(arch).resolve("model"), DataType.FLOAT32, manager);
        NDScope scope = new NDScope();
        Torch.GradMode off = Torch.gradMode(false)) {
      Map<String, NDArray> ref = reference(arch, manager);
      NDArray logits = model.forward(ref.get("input_ids"), ref.get("attention_mask"), null, false);
      double diff = maxAbsDiff(logits, ref.get("logits"));
      assertTrue(diff < 1e-4, arch + ": base logits differ by " + diff);
      double loss = scalar(CausalLm.loss(logits, ref.get("labels")));
      assertEquals(scalar(ref.get("loss")), loss, 1e-5, arch + ": base loss");
    }
  }

  /** Logits and adapter gradients of one forward/backward with the given attention. */
  private static Map<String, double[]> run(CausalLm model, LoraAdapter adapter, Map<String, NDArray> ref,
      CausalLm.Attention attention, boolean padded) {
    model.setAttention(attention);
    Map<String, double[]> out = new java.util.LinkedHashMap<>();
    try (NDScope scope = new NDScope(); Torch.GradMode on = Torch.gradMode(true)) {
      NDArray logits = model.forward(ref.get("input_ids"), padded ? ref.get("attention_mask") : null, null, true);
      out.put("logits", logits.toType(DataType.FLOAT64, false).toDoubleArray());
      Torch.backward(CausalLm.loss(logits, ref.get("labels")));
      adapter.peftTensors().forEach((k, p) -> {
        out.put(k, p.getGradient().toType(DataType.FLOAT64, false).toDoubleArray());
        p.getGradient().muli(0);
      });
    } finally {
      model.setAttention(CausalLm.Attention.FUSED);
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "llama-gqa", "qwen2", "mistral"})
  void fusedAttentionEqualsTheComposedReference(String arch) throws Exception {
    try (CausalLm model = CausalLm.load(golden(arch).resolve("model"), DataType.FLOAT32, manager);
        LoraAdapter adapter = LoraAdapter.load(golden(arch).resolve("adapter"), model.config(),
            DataType.FLOAT32, manager)) {
      Map<String, NDArray> ref = reference(arch, manager);
      model.setAdapter(adapter);
      adapter.setTrainable(true);
      for (boolean padded : new boolean[] {true, false}) { // the masked kernel and the causal one
        Map<String, double[]> fused = run(model, adapter, ref, CausalLm.Attention.FUSED, padded);
        Map<String, double[]> composed = run(model, adapter, ref, CausalLm.Attention.COMPOSED, padded);
        for (Map.Entry<String, double[]> e : composed.entrySet()) {
          double[] want = e.getValue();
          double[] got = fused.get(e.getKey());
          double scale = 0;
          for (double w : want) {
            scale = Math.max(scale, Math.abs(w));
          }
          for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5 * Math.max(1, scale),
                arch + (padded ? " padded " : " causal ") + e.getKey() + "[" + i + "]");
          }
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "llama-gqa", "qwen2", "mistral"})
  void peftAdapterLogitsLossAndGradientsMatch(String arch) throws Exception {
    try (CausalLm model = CausalLm.load(golden(arch).resolve("model"), DataType.FLOAT32, manager);
        LoraAdapter adapter = LoraAdapter.load(golden(arch).resolve("adapter"), model.config(),
            DataType.FLOAT32, manager);
        NDScope scope = new NDScope()) {
      Map<String, NDArray> ref = reference(arch, manager);
      assertEquals(4, adapter.config().r());
      assertEquals(2.0, adapter.scaling(), 1e-12);
      model.setAdapter(adapter);
      adapter.setTrainable(true);
      NDArray loss;
      try (Torch.GradMode on = Torch.gradMode(true)) {
        NDArray logits = model.forward(ref.get("input_ids"), ref.get("attention_mask"), null, true);
        double diff = maxAbsDiff(logits, ref.get("logits_lora"));
        assertTrue(diff < 1e-4, arch + ": adapter logits differ by " + diff);
        loss = CausalLm.loss(logits, ref.get("labels"));
        Torch.backward(loss);
      }
      assertEquals(scalar(ref.get("loss_lora")), scalar(loss), 1e-5, arch + ": adapter loss");
      int checked = 0;
      for (Map.Entry<String, NDArray> e : adapter.peftTensors().entrySet()) {
        NDArray want = ref.get("grad." + e.getKey());
        try (NDArray grad = e.getValue().getGradient()) {
          double rel = relativeError(grad, want);
          assertTrue(rel < 1e-4, arch + ": gradient of " + e.getKey() + " off by " + rel + " (relative)");
        }
        checked++;
      }
      assertEquals(2 * 7 * model.config().numLayers(), checked);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "llama-gqa", "qwen2", "mistral"})
  void mergedModelMatchesPeftMerge(String arch, @TempDir Path tmp) throws Exception {
    try (CausalLm model = CausalLm.load(golden(arch).resolve("model"), DataType.FLOAT32, manager);
        LoraAdapter adapter = LoraAdapter.load(golden(arch).resolve("adapter"), model.config(),
            DataType.FLOAT32, manager);
        NDScope scope = new NDScope();
        Torch.GradMode off = Torch.gradMode(false)) {
      Map<String, NDArray> ref = reference(arch, manager);
      model.setAdapter(adapter);
      model.save(tmp.resolve("merged")); // merges the adapter into the written weights
      try (CausalLm merged = CausalLm.load(tmp.resolve("merged"), DataType.FLOAT32, manager)) {
        NDArray logits = merged.forward(ref.get("input_ids"), ref.get("attention_mask"), null, false);
        double diff = maxAbsDiff(logits, ref.get("logits_merged"));
        assertTrue(diff < 1e-4, arch + ": merged logits differ by " + diff);
        assertEquals(model.config(), merged.config());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2"})
  void savedAdapterReloadsToTheSameLogitsAndAFreshOneChangesNothing(String arch, @TempDir Path tmp)
      throws Exception {
    try (CausalLm model = CausalLm.load(golden(arch).resolve("model"), DataType.FLOAT32, manager);
        LoraAdapter peft = LoraAdapter.load(golden(arch).resolve("adapter"), model.config(),
            DataType.FLOAT32, manager);
        NDScope scope = new NDScope();
        Torch.GradMode off = Torch.gradMode(false)) {
      Map<String, NDArray> ref = reference(arch, manager);
      NDArray ids = ref.get("input_ids");
      NDArray mask = ref.get("attention_mask");
      model.setAdapter(peft);
      NDArray before = model.forward(ids, mask, null, false);
      peft.save(tmp.resolve("adapter"), "golden/" + arch);
      try (LoraAdapter again = LoraAdapter.load(tmp.resolve("adapter"), model.config(),
          DataType.FLOAT32, manager)) {
        model.setAdapter(again);
        assertEquals(0.0, maxAbsDiff(model.forward(ids, mask, null, false), before), 0.0,
            "a saved and reloaded adapter must give identical logits");
      }
      model.setAdapter(null);
      NDArray base = model.forward(ids, mask, null, false);
      LoraConfig config = new LoraConfig(8, 16.0, 0.0, List.of("all-linear"), false, null);
      try (LoraAdapter fresh = LoraAdapter.create(model.config(), config, 7, DataType.FLOAT32, manager)) {
        model.setAdapter(fresh);
        assertEquals(0.0, maxAbsDiff(model.forward(ids, mask, null, false), base), 0.0,
            "a fresh adapter (B = 0) must not change the output");
        assertTrue(fresh.modules().values().iterator().next().a().abs().sum().getFloat() > 0,
            "A is initialised, not zero");
      }
    }
  }
}
