package dev.sparktune.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.lora.LoraAdapter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Safetensors validation, config styles, a float64 finite-difference check, score and generate. */
class ModelCoreTest {
  static NDManager manager;

  @BeforeAll
  static void start() {
    manager = Torch.newManager();
  }

  @AfterAll
  static void stop() {
    manager.close();
  }

  @Test
  void engineLoadsOfflineFromTheMavenJars() throws Exception {
    assertEquals("PyTorch", Torch.engine().getEngineName());
    assertTrue(ai.djl.util.Utils.isOfflineMode(), "DJL must run offline");
    assertTrue(Torch.engine().getVersion().startsWith("2.7.1"), Torch.engine().getVersion());
    // libtorch was unpacked from pytorch-native-cpu's jar into the cache, not downloaded.
    Path cache = ai.djl.util.Utils.getEngineCacheDir("pytorch");
    try (var dirs = Files.list(cache)) {
      assertTrue(dirs.anyMatch(d -> d.getFileName().toString().startsWith("2.7.1-")
          && d.getFileName().toString().contains("cpu")), "libtorch under " + cache);
    }
  }

  // ---- safetensors ---------------------------------------------------------------------------

  static Path rawFile(Path dir, String name, long headerLen, String header, int dataBytes)
      throws IOException {
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(headerLen).put(json);
    Path file = dir.resolve(name);
    Files.write(file, buf.array());
    return file;
  }

  static String message(Path file) {
    return assertThrows(IOException.class, () -> Safetensors.open(file).close()).getMessage();
  }

  @Test
  void malformedSafetensorsAreRejectedWithAClearMessage(@TempDir Path dir) throws Exception {
    String ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    Path tiny = dir.resolve("tiny.safetensors");
    Files.write(tiny, new byte[] {1, 2, 3});
    assertTrue(message(tiny).contains("shorter than the 8-byte header length"), message(tiny));

    Path pastEof = rawFile(dir, "past-eof.safetensors", 10_000, ok, 8);
    String m = message(pastEof);
    assertTrue(m.contains("past-eof.safetensors") && m.contains("runs past the end of the file"), m);

    Path truncated = rawFile(dir, "truncated.safetensors", ok.length(), ok, 4); // 8 bytes promised
    m = message(truncated);
    assertTrue(m.contains("tensor 'a' data ends at byte") && m.contains("truncated"), m);

    String overlapping = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    m = message(rawFile(dir, "overlap.safetensors", overlapping.length(), overlapping, 12));
    assertTrue(m.contains("'a' and 'b' overlap"), m);

    String wrongSize = "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
    m = message(rawFile(dir, "size.safetensors", wrongSize.length(), wrongSize, 8));
    assertTrue(m.contains("has 8 bytes but shape [3] × F32 needs 12"), m);

    m = message(rawFile(dir, "json.safetensors", 5, "{nope", 0));
    assertTrue(m.contains("not valid JSON"), m);

    m = message(rawFile(dir, "negative.safetensors", -3, ok, 8));
    assertTrue(m.contains("header length -3"), m);

    // And a good file reads back what was written, in every float width.
    try (NDScope scope = new NDScope()) {
      Map<String, NDArray> tensors = new LinkedHashMap<>();
      tensors.put("f32", manager.create(new float[] {1.5f, -2f, 3.25f}));
      tensors.put("f64", manager.create(new double[] {0.1, 0.2}));
      tensors.put("f16", manager.create(new float[] {0.5f, 4f}).toType(DataType.FLOAT16, false));
      tensors.put("i64", manager.create(new long[] {7, -9}, new Shape(1, 2)));
      Path good = dir.resolve("good.safetensors");
      Safetensors.write(good, tensors, Map.of("format", "pt"));
      try (Safetensors st = Safetensors.open(good)) {
        assertEquals("pt", st.metadata().get("format"));
        assertArrayEquals(new float[] {1.5f, -2f, 3.25f}, st.load("f32", manager, null).toFloatArray());
        assertArrayEquals(new double[] {0.1, 0.2}, st.load("f64", manager, null).toDoubleArray());
        assertArrayEquals(new float[] {0.5f, 4f}, st.load("f16", manager, null).toFloatArray());
        assertEquals(new Shape(1, 2), st.load("i64", manager, null).getShape());
        IOException missing = assertThrows(IOException.class, () -> st.load("nope", manager, null));
        assertTrue(missing.getMessage().contains("has no tensor 'nope'"));
      }
    }
  }

  @Test
  void bf16IsWidenedToFloat32(@TempDir Path dir) throws Exception {
    // 1.0 = 0x3F80, -2.5 = 0xC020 as bfloat16 (the top half of the float32 bits).
    String header = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(8 + json.length + 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(json.length).put(json).putShort((short) 0x3F80).putShort((short) 0xC020);
    Path file = dir.resolve("bf16.safetensors");
    Files.write(file, buf.array());
    try (Safetensors st = Safetensors.open(file); NDScope scope = new NDScope()) {
      NDArray w = st.load("w", manager, DataType.FLOAT32);
      assertEquals(DataType.FLOAT32, w.getDataType());
      assertArrayEquals(new float[] {1.0f, -2.5f}, w.toFloatArray());
    }
  }

  // ---- config styles -------------------------------------------------------------------------

  @Test
  void transformers4ConfigStyleGivesTheSameModel(@TempDir Path dir) throws Exception {
    Path golden = GoldenModelTest.golden("llama-gqa").resolve("model");
    ObjectMapper json = new ObjectMapper();
    ObjectNode c = (ObjectNode) json.readTree(golden.resolve("config.json").toFile());
    ObjectNode params = (ObjectNode) c.remove("rope_parameters");
    c.put("rope_theta", params.get("rope_theta").asDouble());
    ObjectNode scaling = params.deepCopy();
    scaling.remove("rope_theta");
    c.set("rope_scaling", scaling);
    Path v4 = dir.resolve("v4");
    Files.createDirectories(v4);
    Files.writeString(v4.resolve("config.json"), json.writeValueAsString(c));
    Files.copy(golden.resolve("model.safetensors"), v4.resolve("model.safetensors"));

    try (CausalLm a = CausalLm.load(golden, DataType.FLOAT32, manager);
        CausalLm b = CausalLm.load(v4, DataType.FLOAT32, manager);
        NDScope scope = new NDScope();
        Torch.GradMode off = Torch.gradMode(false)) {
      assertEquals(a.config(), b.config());
      assertEquals("llama3", b.config().rope().type());
      NDArray ids = manager.create(new long[] {1, 50, 60, 70, 80, 90}, new Shape(1, 6));
      assertEquals(0.0, GoldenModelTest.maxAbsDiff(a.forward(ids, null, null, false),
          b.forward(ids, null, null, false)), 0.0);
    }
  }

  @Test
  void unsupportedArchitectureIsNamed(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"hidden_size\": 8}");
    IOException e = assertThrows(IOException.class, () -> ModelConfig.read(dir));
    assertTrue(e.getMessage().contains("model_type 'gpt2' is not supported"), e.getMessage());
  }

  // ---- gradient check ------------------------------------------------------------------------

  static ModelConfig tiny() {
    return new ModelConfig("llama", 40, 16, 24, 2, 4, 2, 4, 1e-6,
        new ModelConfig.RopeScaling("llama3", 10000, 4, 1, 4, 8), false, false, 64, 1, 2, 3);
  }

  @Test
  void loraGradientMatchesFiniteDifferencesInFloat64() throws Exception {
    ModelConfig config = tiny();
    LoraConfig lora = new LoraConfig(2, 4.0, 0.0, List.of("q_proj", "v_proj", "down_proj"), false, null);
    try (CausalLm model = ModelInit.random(config, 11, DataType.FLOAT64, manager);
        LoraAdapter adapter = LoraAdapter.create(config, lora, 5, DataType.FLOAT64, manager);
        NDScope scope = new NDScope()) {
      // A non-zero B (seeded), so gradients reach A too.
      java.util.SplittableRandom random = new java.util.SplittableRandom(99);
      for (LoraAdapter.Pair p : adapter.modules().values()) {
        double[] b = new double[(int) p.b().getShape().size()];
        for (int i = 0; i < b.length; i++) {
          b[i] = (random.nextDouble() - 0.5) * 0.2;
        }
        p.b().addi(manager.create(b, p.b().getShape()));
      }
      model.setAdapter(adapter);
      NDArray ids = manager.create(new long[] {1, 5, 9, 13, 17, 21, 25, 29, 3, 7, 11, 15},
          new Shape(2, 6));
      NDArray mask = manager.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, new Shape(2, 6));
      NDArray labels = manager.create(new long[] {-100, -100, 9, 13, 17, 21, -100, 11, 15, 7, -100, -100},
          new Shape(2, 6));
      adapter.setTrainable(true);
      try (Torch.GradMode on = Torch.gradMode(true)) {
        Torch.backward(CausalLm.loss(model.forward(ids, mask, null, false), labels));
      }
      int checked = 0;
      for (Map.Entry<String, NDArray> e : adapter.peftTensors().entrySet()) {
        NDArray param = e.getValue();
        double[] grad;
        try (NDArray g = param.getGradient()) {
          grad = g.toDoubleArray();
        }
        long cols = param.getShape().get(1);
        for (int flat : new int[] {0, (int) param.getShape().size() / 2, (int) param.getShape().size() - 1}) {
          NDIndex at = new NDIndex(flat / cols, flat % cols);
          double original = param.get(at).getDouble();
          double eps = 1e-6;
          double up;
          double down;
          try (Torch.GradMode off = Torch.gradMode(false)) {
            param.set(at, original + eps);
            up = CausalLm.loss(model.forward(ids, mask, null, false), labels).getDouble();
            param.set(at, original - eps);
            down = CausalLm.loss(model.forward(ids, mask, null, false), labels).getDouble();
            param.set(at, original);
          }
          double numeric = (up - down) / (2 * eps);
          double analytic = grad[flat];
          double tolerance = 1e-7 + 1e-5 * Math.abs(numeric);
          assertEquals(numeric, analytic, tolerance, e.getKey() + "[" + flat + "]");
          checked++;
        }
      }
      assertEquals(2 * 3 * 2 * 3, checked);
    }
  }

  @Test
  void aPackedRowGivesEachExampleItsOwnLogits() throws Exception {
    try (CausalLm model = CausalLm.load(GoldenModelTest.golden("llama-gqa").resolve("model"),
        DataType.FLOAT32, manager);
        NDScope scope = new NDScope();
        Torch.GradMode off = Torch.gradMode(false)) {
      long[] a = {1, 50, 51, 52, 53};
      long[] b = {1, 60, 61, 62};
      long[] packed = {1, 50, 51, 52, 53, 1, 60, 61, 62};
      long[][] positions = {{0, 1, 2, 3, 4, 0, 1, 2, 3}};
      NDArray together = model.forward(manager.create(packed, new Shape(1, 9)), null, positions, null, false);
      NDArray alone = model.forward(manager.create(a, new Shape(1, 5)), null, null, false);
      NDArray second = model.forward(manager.create(b, new Shape(1, 4)), null, null, false);
      assertTrue(GoldenModelTest.maxAbsDiff(together.get(":, :5, :"), alone) < 1e-5);
      assertTrue(GoldenModelTest.maxAbsDiff(together.get(":, 5:, :"), second) < 1e-5,
          "the second packed example must not see the first");
    }
  }

  @Test
  void loraOptionsShapeTheAdapter(@TempDir Path dir) throws Exception {
    ModelConfig config = tiny();
    LoraConfig lora = new LoraConfig(4, 8.0, 0.0, List.of("v_proj", "q_proj"), true, List.of(1));
    assertEquals(8 / Math.sqrt(4), lora.scaling(), 1e-12, "rsLoRA: alpha / sqrt(r)");
    assertEquals(List.of("q_proj", "v_proj"), lora.targetModules(), "PEFT's module order");
    try (LoraAdapter adapter = LoraAdapter.create(config, lora, 1, DataType.FLOAT32, manager)) {
      assertEquals(List.of("model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"),
          List.copyOf(adapter.modules().keySet()), "only layer 1, only q and v");
      assertEquals(new Shape(4, 16), adapter.modules().get("model.layers.1.self_attn.q_proj").a().getShape());
      assertEquals(new Shape(8, 4), adapter.modules().get("model.layers.1.self_attn.v_proj").b().getShape());
      adapter.save(dir, "tiny");
      JsonNode saved = new ObjectMapper().readTree(dir.resolve("adapter_config.json").toFile());
      assertEquals("LORA", saved.get("peft_type").asText());
      assertEquals("CAUSAL_LM", saved.get("task_type").asText());
      assertTrue(saved.get("use_rslora").asBoolean());
      assertEquals(1, saved.get("layers_to_transform").get(0).asInt());
      try (LoraAdapter back = LoraAdapter.load(dir, config, DataType.FLOAT32, manager)) {
        assertEquals(lora, back.config());
      }
    }
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> new LoraConfig(4, 8.0, 0.0, List.of("qproj"), false, null));
    assertTrue(bad.getMessage().contains("unknown module 'qproj'"), bad.getMessage());
  }

  // ---- score and generate --------------------------------------------------------------------

  @Test
  void scoreReproducesTheGoldenLogSoftmax() throws Exception {
    try (CausalLm model = CausalLm.load(GoldenModelTest.golden("llama").resolve("model"),
        DataType.FLOAT32, manager);
        NDScope scope = new NDScope()) {
      Map<String, NDArray> ref = GoldenModelTest.reference("llama", manager);
      long[] ids = ref.get("input_ids").get(0).toLongArray();
      Generation.Scored scored = Generation.score(model, ids);
      double[] want = ref.get("logits").get(0).toType(DataType.FLOAT64, false).logSoftmax(-1)
          .toDoubleArray(); // (T × V) flattened
      int vocab = model.config().vocabSize();
      assertTrue(Double.isNaN(scored.logprobs()[0]));
      double nll = 0;
      for (int i = 1; i < ids.length; i++) {
        double expected = want[(i - 1) * vocab + (int) ids[i]];
        assertEquals(expected, scored.logprobs()[i], 1e-4, "position " + i);
        nll -= expected;
      }
      nll /= ids.length - 1;
      assertEquals(nll, scored.meanNll(), 1e-4);
      assertEquals(Math.exp(nll), scored.perplexity(), 1e-3 * Math.exp(nll));
    }
  }

  @Test
  void greedyGenerationIsDeterministicAndTheCacheChangesNothing() throws Exception {
    try (CausalLm model = CausalLm.load(GoldenModelTest.golden("qwen2").resolve("model"),
        DataType.FLOAT32, manager)) {
      long[] prompt = {1, 40, 41, 42, 43};
      Generation.Sampling greedy = new Generation.Sampling(12, 0, 1, 0);
      long[] first = Generation.generate(model, prompt, greedy, Set.of(), t -> { });
      long[] second = Generation.generate(model, prompt, greedy, Set.of(), t -> { });
      assertEquals(12, first.length);
      assertArrayEquals(first, second);

      // Without a cache: re-run the whole sequence each step and take the argmax.
      long[] seq = Arrays.copyOf(prompt, prompt.length);
      for (int step = 0; step < 12; step++) {
        try (NDManager m = manager.newSubManager(); Torch.GradMode off = Torch.gradMode(false)) {
          NDArray logits = model.forward(m.create(seq, new Shape(1, seq.length)), null, null, false);
          long next = logits.get("0, -1, :").argMax().getLong();
          assertEquals(next, first[step], "step " + step);
          seq = Arrays.copyOf(seq, seq.length + 1);
          seq[seq.length - 1] = next;
        }
      }

      // Sampling is reproducible from its seed, and a stop id ends generation.
      Generation.Sampling sampled = new Generation.Sampling(20, 0.9, 0.9, 42);
      long[] a = Generation.generate(model, prompt, sampled, Set.of(), t -> { });
      assertArrayEquals(a, Generation.generate(model, prompt, sampled, Set.of(), t -> { }));
      long[] stopped = Generation.generate(model, prompt, sampled, Set.of(a[3]), t -> { });
      assertTrue(stopped.length <= 4 && stopped[stopped.length - 1] == a[3]);
    }
  }

  @Test
  void randomModelSavesAndLoadsIdentically(@TempDir Path dir) throws Exception {
    ModelConfig config = tiny();
    try (CausalLm model = ModelInit.random(config, 3, DataType.FLOAT32, manager)) {
      model.save(dir);
      try (CausalLm back = CausalLm.load(dir, DataType.FLOAT32, manager);
          NDScope scope = new NDScope();
          Torch.GradMode off = Torch.gradMode(false)) {
        assertEquals(config, back.config());
        NDArray ids = manager.create(new long[] {1, 2, 3, 4}, new Shape(1, 4));
        assertEquals(0.0, GoldenModelTest.maxAbsDiff(model.forward(ids, null, null, false),
            back.forward(ids, null, null, false)), 0.0);
      }
    }
  }
}
