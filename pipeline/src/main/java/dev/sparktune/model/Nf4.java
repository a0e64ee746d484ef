package dev.sparktune.model;

/**
 * bitsandbytes' NF4 4-bit format (QLoRA), bit for bit as its reference kernels compute it: blocks of
 * {@link #BLOCK} values of the flattened row-major weight, each scaled by its absolute maximum, every
 * value mapped to one of the 16 NormalFloat levels by the float32 midpoints between them (a value
 * exactly on a midpoint takes the lower level, as bitsandbytes' bucketize and CUDA decision tree do,
 * which is not always the nearest level), two codes per byte, the first in the high nibble; an odd
 * count is padded with code 7 (zero) and an all-zero block is all code 7. Dequantizing is one float
 * multiply, level × absmax.
 *
 * <p>Double quantization ({@code bnb_4bit_use_double_quant}): the block absmax values, less their
 * mean, are quantized again to 8 bits in blocks of {@link #DQ_BLOCK} against bitsandbytes' signed
 * dynamic map (256 float32 constants, copied as bits), by the same midpoint rule. The mean is taken
 * in double precision, so it can differ from torch's float32 {@code mean()} in the last bit (about
 * 4e-9 on a typical offset, far below the 8-bit step); every other step is exact.
 *
 * <p>Storage: 4.5 bits per weight, 4.127 with double quantization.
 */
public final class Nf4 {
  /** Values per scaling block. */
  public static final int BLOCK = 64;
  /** Absmax values per block of the double quantization. */
  public static final int DQ_BLOCK = 256;

  /** The 16 NormalFloat-4 levels (bitsandbytes' get_4bit_type("nf4")), code 0 to 15. */
  static final float[] LEVELS = {
      -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
      -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
      0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
      0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
  };

  /** bitsandbytes' create_dynamic_map(signed=True) as float32 bits: the double quantization's code. */
  private static final int[] DYNAMIC_MAP_BITS = {
      0xbf7e3333, 0xbf7a999a, 0xbf770000, 0xbf736666, 0xbf6fcccd, 0xbf6c3333, 0xbf68999a, 0xbf650000,
      0xbf616666, 0xbf5dcccd, 0xbf5a3333, 0xbf56999a, 0xbf530000, 0xbf4f6666, 0xbf4bcccd, 0xbf483333,
      0xbf44999a, 0xbf410000, 0xbf3d6666, 0xbf39cccd, 0xbf363334, 0xbf32999a, 0xbf2f0000, 0xbf2b6666,
      0xbf27cccd, 0xbf243334, 0xbf20999a, 0xbf1d0000, 0xbf196666, 0xbf15cccd, 0xbf123334, 0xbf0e999a,
      0xbf0b0000, 0xbf076666, 0xbf03cccc, 0xbf003333, 0xbef93332, 0xbef20000, 0xbeeacccc, 0xbee3999a,
      0xbedc6666, 0xbed53333, 0xbece0000, 0xbec6cccc, 0xbebf999a, 0xbeb86666, 0xbeb13333, 0xbeaa0000,
      0xbea2cccc, 0xbe9b999a, 0xbe946666, 0xbe8d3334, 0xbe860000, 0xbe7d9999, 0xbe6f3333, 0xbe60cccd,
      0xbe526666, 0xbe440000, 0xbe35999a, 0xbe273333, 0xbe18cccd, 0xbe0a6666, 0xbdf80000, 0xbddb3334,
      0xbdc9eb85, 0xbdc428f7, 0xbdbe6667, 0xbdb8a3d7, 0xbdb2e148, 0xbdad1eb8, 0xbda75c2a, 0xbda1999a,
      0xbd9bd70a, 0xbd96147b, 0xbd9051eb, 0xbd8a8f5d, 0xbd84cccd, 0xbd7e147b, 0xbd728f5d, 0xbd670a3d,
      0xbd5b851f, 0xbd500000, 0xbd447ae1, 0xbd38f5c3, 0xbd2d70a3, 0xbd21eb85, 0xbd166667, 0xbd0ae148,
      0xbcfeb852, 0xbce7ae15, 0xbcd0a3d7, 0xbcb9999a, 0xbca28f5d, 0xbc8b851f, 0xbc68f5c3, 0xbc3ae148,
      0xbc1f3b64, 0xbc160418, 0xbc0ccccd, 0xbc039581, 0xbbf4bc6a, 0xbbe24dd3, 0xbbcfdf3b, 0xbbbd70a4,
      0xbbab020d, 0xbb989374, 0xbb8624dd, 0xbb676c8a, 0xbb428f5c, 0xbb1db22d, 0xbaf1a9fc, 0xbaa7ef9d,
      0xba7765ff, 0xba59e83e, 0xba3c6a80, 0xba1eecc1, 0xba016f01, 0xb9c7e283, 0xb98ce705, 0xb923d70b,
      0xb8ba1f4b, 0xb88aefb3, 0xb8378034, 0xb7b24206, 0xb70205ff, 0xb65a1a94, 0xb513a3b7, 0x0,
      0x3513a3b7, 0x365a1a94, 0x370205ff, 0x37b24206, 0x38378034, 0x388aefb3, 0x38ba1f4b, 0x3923d70b,
      0x398ce705, 0x39c7e283, 0x3a016f01, 0x3a1eecc1, 0x3a3c6a80, 0x3a59e83e, 0x3a7765ff, 0x3aa7ef9d,
      0x3af1a9fc, 0x3b1db22d, 0x3b428f5c, 0x3b676c8a, 0x3b8624dd, 0x3b989374, 0x3bab020d, 0x3bbd70a4,
      0x3bcfdf3b, 0x3be24dd3, 0x3bf4bc6a, 0x3c039581, 0x3c0ccccd, 0x3c160418, 0x3c1f3b64, 0x3c3ae148,
      0x3c68f5c3, 0x3c8b851f, 0x3ca28f5d, 0x3cb9999a, 0x3cd0a3d7, 0x3ce7ae15, 0x3cfeb852, 0x3d0ae148,
      0x3d166667, 0x3d21eb85, 0x3d2d70a3, 0x3d38f5c3, 0x3d447ae1, 0x3d500000, 0x3d5b851f, 0x3d670a3d,
      0x3d728f5d, 0x3d7e147b, 0x3d84cccd, 0x3d8a8f5d, 0x3d9051eb, 0x3d96147b, 0x3d9bd70a, 0x3da1999a,
      0x3da75c2a, 0x3dad1eb8, 0x3db2e148, 0x3db8a3d7, 0x3dbe6667, 0x3dc428f7, 0x3dc9eb85, 0x3ddb3334,
      0x3df80000, 0x3e0a6666, 0x3e18cccd, 0x3e273333, 0x3e35999a, 0x3e440000, 0x3e526666, 0x3e60cccd,
      0x3e6f3333, 0x3e7d9999, 0x3e860000, 0x3e8d3334, 0x3e946666, 0x3e9b999a, 0x3ea2cccc, 0x3eaa0000,
      0x3eb13333, 0x3eb86666, 0x3ebf999a, 0x3ec6cccc, 0x3ece0000, 0x3ed53333, 0x3edc6666, 0x3ee3999a,
      0x3eeacccc, 0x3ef20000, 0x3ef93332, 0x3f003333, 0x3f03cccc, 0x3f076666, 0x3f0b0000, 0x3f0e999a,
      0x3f123334, 0x3f15cccd, 0x3f196666, 0x3f1d0000, 0x3f20999a, 0x3f243334, 0x3f27cccd, 0x3f2b6666,
      0x3f2f0000, 0x3f32999a, 0x3f363334, 0x3f39cccd, 0x3f3d6666, 0x3f410000, 0x3f44999a, 0x3f483333,
      0x3f4bcccd, 0x3f4f6666, 0x3f530000, 0x3f56999a, 0x3f5a3333, 0x3f5dcccd, 0x3f616666, 0x3f650000,
      0x3f68999a, 0x3f6c3333, 0x3f6fcccd, 0x3f736666, 0x3f770000, 0x3f7a999a, 0x3f7e3333, 0x3f800000,
  };

  static final float[] DYNAMIC_MAP = new float[256];
  private static final float[] MIDPOINTS = midpoints(LEVELS);
  private static final float[] DYNAMIC_MIDPOINTS;

  static {
    for (int i = 0; i < 256; i++) {
      DYNAMIC_MAP[i] = Float.intBitsToFloat(DYNAMIC_MAP_BITS[i]);
    }
    DYNAMIC_MIDPOINTS = midpoints(DYNAMIC_MAP);
  }

  private Nf4() {}

  /** NF4 codes and one absmax per block; {@code length} values. */
  public record Quantized(byte[] packed, float[] absmax, int length) {}

  /**
   * Double-quantized NF4: the 4-bit codes, one 8-bit code per block absmax, and per block of 256
   * absmax values their absmax ({@code absmax2}); {@code offset} is added back after dequantizing.
   */
  public record DoubleQuantized(byte[] packed, byte[] qabsmax, float[] absmax2, float offset, int length) {}

  public static Quantized quantize(float[] values) {
    int blocks = (values.length + BLOCK - 1) / BLOCK;
    float[] absmax = new float[blocks];
    byte[] packed = new byte[(values.length + 1) / 2];
    for (int b = 0; b < blocks; b++) {
      int from = b * BLOCK;
      int to = Math.min(values.length, from + BLOCK);
      float m = 0;
      for (int i = from; i < to; i++) {
        m = Math.max(m, Math.abs(values[i]));
      }
      absmax[b] = m;
      float inv = 1f / Math.max(m, 1e-38f);
      for (int i = from; i < to; i++) {
        int code = code(Math.max(-1f, Math.min(1f, values[i] * inv)), MIDPOINTS);
        packed[i / 2] |= (byte) ((i % 2 == 0 ? code << 4 : code));
      }
    }
    if (values.length % 2 == 1) {
      packed[packed.length - 1] |= 7; // padding: the zero level
    }
    return new Quantized(packed, absmax, values.length);
  }

  public static float[] dequantize(Quantized q) {
    return dequantize(q.packed(), q.absmax(), q.length());
  }

  public static DoubleQuantized quantizeDouble(float[] values) {
    Quantized q = quantize(values);
    double sum = 0;
    for (float a : q.absmax()) {
      sum += a;
    }
    return quantizeDouble(q, (float) (sum / q.absmax().length));
  }

  /** Double quantization of {@code q}'s absmax values around {@code offset}. */
  static DoubleQuantized quantizeDouble(Quantized q, float offset) {
    float[] absmax = q.absmax();
    int blocks = (absmax.length + DQ_BLOCK - 1) / DQ_BLOCK;
    float[] absmax2 = new float[blocks];
    byte[] qabsmax = new byte[absmax.length];
    for (int b = 0; b < blocks; b++) {
      int from = b * DQ_BLOCK;
      int to = Math.min(absmax.length, from + DQ_BLOCK);
      float m = 0;
      for (int i = from; i < to; i++) {
        m = Math.max(m, Math.abs(absmax[i] - offset));
      }
      absmax2[b] = Math.max(m, 1e-38f);
      float inv = 1f / absmax2[b];
      for (int i = from; i < to; i++) {
        qabsmax[i] = (byte) code(Math.max(-1f, Math.min(1f, (absmax[i] - offset) * inv)), DYNAMIC_MIDPOINTS);
      }
    }
    return new DoubleQuantized(q.packed(), qabsmax, absmax2, offset, q.length());
  }

  /** The block absmax values a double-quantized weight stands for: map[code] × absmax2, then + offset. */
  public static float[] absmax(DoubleQuantized q) {
    float[] out = new float[q.qabsmax().length];
    for (int i = 0; i < out.length; i++) {
      float scaled = DYNAMIC_MAP[q.qabsmax()[i] & 0xff] * q.absmax2()[i / DQ_BLOCK];
      out[i] = scaled + q.offset(); // two roundings, as bitsandbytes: no fused multiply-add
    }
    return out;
  }

  public static float[] dequantize(DoubleQuantized q) {
    return dequantize(q.packed(), absmax(q), q.length());
  }

  private static float[] dequantize(byte[] packed, float[] absmax, int length) {
    float[] out = new float[length];
    for (int i = 0; i < length; i++) {
      int b = packed[i / 2] & 0xff;
      out[i] = LEVELS[i % 2 == 0 ? b >>> 4 : b & 0x0f] * absmax[i / BLOCK];
    }
    return out;
  }

  /** How many midpoints {@code s} is strictly above: its code, ties going to the lower one. */
  private static int code(float s, float[] midpoints) {
    int lo = 0;
    int hi = midpoints.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (s > midpoints[mid]) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private static float[] midpoints(float[] sorted) {
    float[] m = new float[sorted.length - 1];
    for (int i = 0; i < m.length; i++) {
      m[i] = (sorted[i] + sorted[i + 1]) / 2f;
    }
    return m;
  }
}
