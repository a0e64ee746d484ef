package dev.sparktune.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * NF4 and int8 against bitsandbytes: its own outputs (bitsandbytes 0.50.2.dev0, pure-torch backend,
 * {@code bench/quant_reference.py}) on random, tie, tiny, zero, bf16 and golden-model weights; and an
 * independent NF4 reference written here from the published levels.
 */
class QuantizationTest {
  private static final Path REFERENCE = Path.of("src/test/resources/quant/bnb_reference.safetensors");

  /** The published NF4 levels (bitsandbytes functional.py get_4bit_type("nf4")), as decimal strings. */
  private static final String[] PUBLISHED = {"-1.0", "-0.6961928009986877", "-0.5250730514526367",
      "-0.39491748809814453", "-0.28444138169288635", "-0.18477343022823334", "-0.09105003625154495", "0.0",
      "0.07958029955625534", "0.16093020141124725", "0.24611230194568634", "0.33791524171829224",
      "0.44070982933044434", "0.5626170039176941", "0.7229568362236023", "1.0"};

  /** bitsandbytes' rule, written plainly: the code is how many float32 midpoints the scaled value is above. */
  static byte[] referencePacked(float[] x) {
    float[] levels = new float[16];
    for (int i = 0; i < 16; i++) {
      levels[i] = Float.parseFloat(PUBLISHED[i]);
    }
    int[] codes = new int[x.length + (x.length % 2)];
    java.util.Arrays.fill(codes, 7);
    for (int start = 0; start < x.length; start += 64) {
      int end = Math.min(x.length, start + 64);
      float absmax = 0;
      for (int i = start; i < end; i++) {
        absmax = Math.max(absmax, Math.abs(x[i]));
      }
      float scale = 1f / Math.max(absmax, 1e-38f);
      for (int i = start; i < end; i++) {
        float s = Math.max(-1f, Math.min(1f, x[i] * scale));
        int code = 0;
        for (int k = 0; k < 15; k++) {
          code += s > (levels[k] + levels[k + 1]) / 2f ? 1 : 0;
        }
        codes[i] = code;
      }
    }
    byte[] packed = new byte[codes.length / 2];
    for (int i = 0; i < packed.length; i++) {
      packed[i] = (byte) (codes[2 * i] << 4 | codes[2 * i + 1]);
    }
    return packed;
  }

  /** Round to bfloat16 (nearest, ties to even) and back, as torch's {@code .to(torch.bfloat16)}. */
  static float[] bf16(float[] x) {
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      int bits = Float.floatToRawIntBits(x[i]);
      int rounded = (bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000;
      out[i] = Float.intBitsToFloat(rounded);
    }
    return out;
  }

  private static List<String> cases(Safetensors st) {
    TreeSet<String> names = new TreeSet<>();
    for (String k : st.tensors().keySet()) {
      if (k.endsWith(".input")) {
        names.add(k.substring(0, k.length() - ".input".length()));
      }
    }
    return new ArrayList<>(names);
  }

  private static float[] floats(Safetensors st, String name, NDManager m) throws IOException {
    return st.load(name, m, DataType.FLOAT32).toFloatArray();
  }

  private static byte[] bytes(Safetensors st, String name, NDManager m) throws IOException {
    NDArray a = st.load(name, m, null);
    return a.toByteArray();
  }

  @Test
  void nf4EqualsBitsandbytesBitForBit() throws IOException {
    try (NDManager m = NDManager.newBaseManager(); Safetensors st = Safetensors.open(REFERENCE)) {
      List<String> cases = cases(st);
      assertTrue(cases.size() >= 10, cases.toString());
      for (String c : cases) {
        float[] x = floats(st, c + ".input", m);
        Nf4.Quantized q = Nf4.quantize(x);
        assertArrayEquals(bytes(st, c + ".nf4.packed", m), q.packed(), c + " packed codes");
        assertArrayEquals(floats(st, c + ".nf4.absmax", m), q.absmax(), c + " block absmax");
        assertArrayEquals(referencePacked(x), q.packed(), c + " the published-levels reference");
        boolean bf16 = c.contains("bf16"); // bitsandbytes returns the input's dtype: bf16(level × absmax)
        if (st.contains(c + ".nf4.dequant")) {
          assertArrayEquals(floats(st, c + ".nf4.dequant", m), bf16 ? bf16(Nf4.dequantize(q)) : Nf4.dequantize(q),
              c + " dequantized");
        }
        // Double quantization, given bitsandbytes' offset (torch's float32 mean; ours is within an ulp).
        float offset = floats(st, c + ".nf4dq.offset", m)[0];
        Nf4.DoubleQuantized dq = Nf4.quantizeDouble(q, offset);
        assertArrayEquals(bytes(st, c + ".nf4dq.qabsmax", m), dq.qabsmax(), c + " 8-bit absmax codes");
        assertArrayEquals(floats(st, c + ".nf4dq.absmax2", m), dq.absmax2(), c + " absmax of the absmax");
        assertArrayEquals(floats(st, c + ".nf4dq.absmax_deq", m), Nf4.absmax(dq), c + " absmax restored");
        if (st.contains(c + ".nf4dq.dequant")) {
          assertArrayEquals(floats(st, c + ".nf4dq.dequant", m), bf16 ? bf16(Nf4.dequantize(dq)) : Nf4.dequantize(dq),
              c + " dequantized (DQ)");
        }
        float ours = Nf4.quantizeDouble(x).offset();
        assertTrue(Math.abs(ours - offset) <= Math.ulp(offset), c + ": offset " + ours + " vs " + offset);
      }
    }
  }

  @Test
  void nf4EqualsThePublishedLevelsReferenceOnRandomAndGoldenWeights() throws IOException {
    Random r = new Random(3);
    for (int n : new int[] {1, 63, 64, 65, 127, 1000, 4096}) {
      float[] x = new float[n];
      for (int i = 0; i < n; i++) {
        x[i] = (float) (r.nextGaussian() * 0.02);
      }
      assertArrayEquals(referencePacked(x), Nf4.quantize(x).packed(), "random n=" + n);
    }
    // Values exactly on the midpoints (absmax 1): bitsandbytes gives the lower level, not always the nearest.
    float[] ties = new float[64];
    ties[0] = 1f;
    for (int k = 0; k < 15; k++) {
      ties[k + 1] = (Nf4.LEVELS[k] + Nf4.LEVELS[k + 1]) / 2f;
    }
    assertArrayEquals(referencePacked(ties), Nf4.quantize(ties).packed(), "ties");
    int checked = 0;
    for (String arch : List.of("llama", "llama-gqa", "mistral", "qwen2")) {
      Path model = Path.of("src/test/resources/golden", arch, "model", "model.safetensors");
      try (NDManager m = NDManager.newBaseManager(); Safetensors st = Safetensors.open(model)) {
        for (String name : st.tensors().keySet()) {
          if (name.endsWith("proj.weight")) {
            float[] w = floats(st, name, m);
            Nf4.Quantized q = Nf4.quantize(w);
            assertArrayEquals(referencePacked(w), q.packed(), arch + " " + name);
            float[] back = Nf4.dequantize(q);
            for (int i = 0; i < w.length; i++) { // at most half the widest gap between levels, (1 - 0.696) / 2
              assertTrue(Math.abs(back[i] - w[i]) <= q.absmax()[i / 64] * 0.1520f, arch + " " + name + " [" + i + "]");
            }
            checked++;
          }
        }
      }
    }
    assertTrue(checked >= 28, "golden linear weights checked: " + checked);
  }

  @Test
  void int8EqualsBitsandbytesAndStaysWithinAbsmaxOver127() throws IOException {
    try (NDManager m = NDManager.newBaseManager(); Safetensors st = Safetensors.open(REFERENCE)) {
      for (String c : cases(st)) {
        if (!st.contains(c + ".int8.CB") || c.startsWith("tiny") || c.startsWith("zeros")) {
          continue; // bitsandbytes divides by a zero (or subnormal) absmax there; see the zero-row check below
        }
        long[] shape = st.tensors().get(c + ".input").shape();
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        float[] x = floats(st, c + ".input", m);
        Int8.Quantized q = Int8.quantize(x, rows, cols);
        assertArrayEquals(bytes(st, c + ".int8.CB", m), q.codes(), c + " codes");
        assertArrayEquals(floats(st, c + ".int8.SCB", m), q.absmax(), c + " row absmax");
        if (st.contains(c + ".int8.dequant")) {
          assertArrayEquals(floats(st, c + ".int8.dequant", m), Int8.dequantize(q), c + " dequantized");
        }
        float[] back = Int8.dequantize(q);
        for (int i = 0; i < x.length; i++) {
          assertTrue(Math.abs(back[i] - x[i]) <= q.absmax()[i / cols] / 127f, c + " [" + i + "]");
        }
      }
    }
    float[] zeroRow = new float[8];
    zeroRow[5] = 0.5f;
    Int8.Quantized q = Int8.quantize(zeroRow, 2, 4);
    assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0.5f, 0, 0}, Int8.dequantize(q), "an all-zero row stays zero");
    assertEquals(0f, q.absmax()[0]);
  }
}
