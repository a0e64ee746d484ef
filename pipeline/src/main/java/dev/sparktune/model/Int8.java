package dev.sparktune.model;

/**
 * Symmetric int8 per output channel, as bitsandbytes' LLM.int8() quantizes weights
 * ({@code int8_vectorwise_quant}, threshold 0): per row of a {@code [out, in]} weight,
 * {@code q = rint(x * (127 / absmax))} (half to even), dequantized as
 * {@code (q * absmax) * float(1/127)}; the error is at most absmax / 254 per row. An all-zero row
 * stays zero (bitsandbytes would divide by zero there).
 */
public final class Int8 {
  /** float32(1/127), the constant bitsandbytes multiplies by. */
  static final float INV_127 = 7.874015718698502e-3f;

  private Int8() {}

  /** Codes (row-major, {@code rows × cols}) and one absmax per row. */
  public record Quantized(byte[] codes, float[] absmax, int rows, int cols) {}

  public static Quantized quantize(float[] weight, int rows, int cols) {
    if (weight.length != rows * cols) {
      throw new IllegalArgumentException(weight.length + " values are not " + rows + " × " + cols);
    }
    byte[] codes = new byte[weight.length];
    float[] absmax = new float[rows];
    for (int r = 0; r < rows; r++) {
      int from = r * cols;
      float m = 0;
      for (int i = from; i < from + cols; i++) {
        m = Math.max(m, Math.abs(weight[i]));
      }
      absmax[r] = m;
      if (m == 0) {
        continue;
      }
      float scale = 127f / m;
      for (int i = from; i < from + cols; i++) {
        codes[i] = (byte) Math.rint(weight[i] * scale);
      }
    }
    return new Quantized(codes, absmax, rows, cols);
  }

  public static float[] dequantize(Quantized q) {
    float[] out = new float[q.codes().length];
    for (int r = 0; r < q.rows(); r++) {
      float m = q.absmax()[r];
      for (int i = r * q.cols(); i < (r + 1) * q.cols(); i++) {
        out[i] = (q.codes()[i] * m) * INV_127;
      }
    }
    return out;
  }
}
