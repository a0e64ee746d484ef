package dev.sparktune.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading a sharded BF16 checkpoint the way Hugging Face saves one (model.safetensors.index.json and
 * shards): read in chunks, every value arrives exactly, and a base quantized while it is read equals
 * one loaded dense and quantized afterwards, packed byte for byte.
 */
class ShardedLoadTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  /** BF16 bits of {@code v}, rounded to nearest even as torch's cast does. */
  private static short bf16(float v) {
    int bits = Float.floatToRawIntBits(v);
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }

  private static float widen(short b) {
    return Float.intBitsToFloat((b & 0xFFFF) << 16);
  }

  /** Writes {@code tensors} (values already BF16-exact) as one BF16 safetensors file. */
  private static void writeBf16(Path file, Map<String, float[]> values, Map<String, long[]> shapes)
      throws IOException {
    ObjectNode header = JSON.createObjectNode();
    long offset = 0;
    for (Map.Entry<String, float[]> e : values.entrySet()) {
      ObjectNode entry = header.putObject(e.getKey());
      entry.put("dtype", "BF16");
      var shape = entry.putArray("shape");
      for (long d : shapes.get(e.getKey())) {
        shape.add(d);
      }
      entry.putArray("data_offsets").add(offset).add(offset + 2L * e.getValue().length);
      offset += 2L * e.getValue().length;
    }
    byte[] json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).array());
      out.write(json);
      for (float[] v : values.values()) {
        ByteBuffer data = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
          data.putShort(bf16(x));
        }
        out.write(data.array());
      }
    }
  }

  /** A random tiny Llama in three BF16 shards with an index, as save_pretrained(max_shard_size=...) writes it. */
  private Map<String, float[]> writeShardedModel(ModelConfig config) throws IOException {
    SplittableRandom random = new SplittableRandom(7);
    Map<String, float[]> all = new LinkedHashMap<>();
    List<Map<String, float[]>> shards = List.of(new LinkedHashMap<>(), new LinkedHashMap<>(), new LinkedHashMap<>());
    Map<String, long[]> shapes = new LinkedHashMap<>();
    int i = 0;
    for (Map.Entry<String, Shape> e : ModelWeights.expected(config).entrySet()) {
      float[] v = new float[Math.toIntExact(e.getValue().size())];
      for (int k = 0; k < v.length; k++) {
        v[k] = widen(bf16((float) (ModelInit.gaussian(random) * 0.2)));
      }
      all.put(e.getKey(), v);
      shapes.put(e.getKey(), e.getValue().getShape());
      shards.get(i++ * 3 / ModelWeights.expected(config).size()).put(e.getKey(), v);
    }
    ObjectNode index = JSON.createObjectNode();
    ObjectNode map = index.putObject("weight_map");
    for (int s = 0; s < 3; s++) {
      String name = String.format("model-%05d-of-00003.safetensors", s + 1);
      writeBf16(dir.resolve(name), shards.get(s), shapes);
      shards.get(s).keySet().forEach(k -> map.put(k, name));
    }
    Files.writeString(dir.resolve("model.safetensors.index.json"), JSON.writeValueAsString(index));
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\", \"vocab_size\": 96, \"hidden_size\": 64,"
        + " \"intermediate_size\": 160, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
        + " \"num_key_value_heads\": 2, \"rms_norm_eps\": 1e-5, \"max_position_embeddings\": 128,"
        + " \"tie_word_embeddings\": false}");
    return all;
  }

  @Test
  void shardedBf16LoadsExactlyAndQuantizesAsItReads() throws IOException {
    ModelConfig config = new ModelConfig("llama", 96, 64, 160, 2, 4, 2, 16, 1e-5,
        ModelConfig.RopeScaling.plain(10000), false, false, 128, 1, 2, 0);
    Map<String, float[]> values = writeShardedModel(config);
    try (NDManager manager = Torch.newManager()) {
      try (CausalLm dense = CausalLm.load(dir, DataType.FLOAT32, manager)) {
        assertNull(dense.quantizedLinears());
        assertEquals(ModelWeights.expected(config).values().stream().mapToLong(Shape::size).sum() * 4,
            dense.weightBytes());
        Map<String, NDArray> loaded = dense.mergedWeights(manager); // copies, no adapter
        for (Map.Entry<String, float[]> e : values.entrySet()) {
          assertArrayEquals(e.getValue(), loaded.get(e.getKey()).toFloatArray(), e.getKey());
        }
      }
      try (CausalLm after = CausalLm.load(dir, DataType.FLOAT32, manager);
          CausalLm atLoad = CausalLm.load(dir, DataType.FLOAT32, "nf4", List.of(), manager)) {
        after.quantizeBase("nf4");
        assertEquals(after.weightBytes(), atLoad.weightBytes());
        for (String layer : List.of("model.layers.0.", "model.layers.1.")) {
          for (String m : List.of("self_attn.q_proj", "self_attn.k_proj", "mlp.down_proj")) {
            String name = layer + m + ".weight";
            try (NDArray a = after.quantizedLinears().dense(name, DataType.FLOAT32, manager);
                NDArray b = atLoad.quantizedLinears().dense(name, DataType.FLOAT32, manager)) {
              assertArrayEquals(a.toFloatArray(), b.toFloatArray(), name);
              float[] expect = Nf4.dequantize(Nf4.quantizeDouble(values.get(name)));
              assertArrayEquals(expect, b.toFloatArray(), name + " against the Java codec");
            }
          }
        }
      }
      // quantization_skip_modules: down_proj stays in the compute dtype, the rest int8 + a float per row.
      try (CausalLm half = CausalLm.load(dir, DataType.FLOAT16, "int8", List.of("down_proj"), manager)) {
        assertTrue(half.quantizedLinears().contains("model.layers.1.mlp.up_proj.weight"));
        assertFalse(half.quantizedLinears().contains("model.layers.1.mlp.down_proj.weight"));
        long expected = 0;
        for (Map.Entry<String, Shape> e : ModelWeights.expected(config).entrySet()) {
          boolean packed = ModelWeights.quantizable(e.getKey(), List.of("down_proj"));
          expected += packed ? e.getValue().size() + e.getValue().get(0) * 4 : e.getValue().size() * 2;
        }
        assertEquals(expected, half.weightBytes());
      }
    }
  }

  @Test
  void tensorsLargerThanOneChunkArriveWhole() throws IOException {
    // 8.4 M BF16 values: 16.8 MB, more than one 16 MiB read.
    int rows = 4100;
    int cols = 2048;
    float[] v = new float[rows * cols];
    SplittableRandom random = new SplittableRandom(11);
    for (int k = 0; k < v.length; k++) {
      v[k] = widen(bf16((float) ModelInit.gaussian(random)));
    }
    Path file = dir.resolve("big.safetensors");
    writeBf16(file, Map.of("w", v), Map.of("w", new long[] {rows, cols}));
    assertTrue(2L * v.length > Safetensors.CHUNK_BYTES);
    try (NDManager manager = Torch.newManager(); Safetensors st = Safetensors.open(file)) {
      assertArrayEquals(v, st.readFloats("w"));
      try (NDArray f32 = st.load("w", manager, DataType.FLOAT32)) {
        assertEquals(new Shape(rows, cols), f32.getShape());
        assertArrayEquals(v, f32.toFloatArray());
      }
      try (NDArray f16 = st.load("w", manager, DataType.FLOAT16); NDArray back = f16.toType(DataType.FLOAT32, false)) {
        try (NDArray ref = manager.create(v).toType(DataType.FLOAT16, false).toType(DataType.FLOAT32, false)) {
          assertArrayEquals(ref.toFloatArray(), back.toFloatArray());
        }
      }
    }
  }

  @Test
  void halfToFloatIsExactForEveryHalf() {
    short[] all = new short[65536];
    for (int h = 0; h < all.length; h++) {
      all[h] = (short) h;
    }
    ByteBuffer bytes = ByteBuffer.allocateDirect(2 * all.length).order(ByteOrder.nativeOrder());
    bytes.asShortBuffer().put(all);
    try (NDManager manager = Torch.newManager();
        NDArray half = manager.create(bytes, new Shape(all.length), DataType.FLOAT16);
        NDArray wide = half.toType(DataType.FLOAT32, false)) {
      float[] expected = wide.toFloatArray();
      List<String> wrong = new ArrayList<>();
      for (int h = 0; h < all.length; h++) {
        float got = FloatBits.halfToFloat(all[h]);
        if (Float.floatToRawIntBits(got) != Float.floatToRawIntBits(expected[h]) && !Float.isNaN(got)) {
          wrong.add(Integer.toHexString(h));
        }
        assertEquals(Float.isNaN(expected[h]), Float.isNaN(got), Integer.toHexString(h));
      }
      assertTrue(wrong.isEmpty(), "wrong for " + wrong);
    }
  }
}
