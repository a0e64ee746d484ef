package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embeddings in Hugging Face's rotate-half layout: inverse frequencies per
 * {@code rope_type} (default, linear, llama3, dynamic), computed in float32 as transformers does,
 * and the cos/sin tables for a range of positions.
 */
final class Rope {
  private Rope() {}

  /** theta^(-2i/d) for i in [0, d/2), in float32 like transformers' default rope. */
  static float[] defaultInvFreq(double theta, int dim) {
    float[] inv = new float[dim / 2];
    for (int i = 0; i < inv.length; i++) {
      float exponent = (float) (2 * i) / dim;
      inv[i] = (float) (1.0 / (float) Math.pow(theta, exponent));
    }
    return inv;
  }

  /** The inverse frequencies for a model and a total sequence length (dynamic NTK needs it). */
  static float[] invFreq(ModelConfig c, int seqLen) {
    ModelConfig.RopeScaling r = c.rope();
    int dim = c.headDim();
    switch (r.type()) {
      case "linear": {
        float[] inv = defaultInvFreq(r.theta(), dim);
        for (int i = 0; i < inv.length; i++) {
          inv[i] = (float) (inv[i] / r.factor());
        }
        return inv;
      }
      case "dynamic": {
        int maxPos = r.originalMaxPositions() > 0 ? r.originalMaxPositions() : c.maxPositionEmbeddings();
        if (seqLen <= maxPos) {
          return defaultInvFreq(r.theta(), dim);
        }
        double base = r.theta() * Math.pow(r.factor() * seqLen / maxPos - (r.factor() - 1),
            (double) dim / (dim - 2));
        return defaultInvFreq(base, dim);
      }
      case "llama3": {
        float[] inv = defaultInvFreq(r.theta(), dim);
        double oldContext = r.originalMaxPositions();
        double lowWavelen = oldContext / r.lowFreqFactor();
        double highWavelen = oldContext / r.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
          double wavelen = 2 * Math.PI / inv[i];
          float scaled = wavelen > lowWavelen ? (float) (inv[i] / r.factor()) : inv[i];
          boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
          if (medium) {
            double smooth = (oldContext / wavelen - r.lowFreqFactor())
                / (r.highFreqFactor() - r.lowFreqFactor());
            scaled = (float) ((1 - smooth) * scaled / r.factor() + smooth * scaled);
          }
          inv[i] = scaled;
        }
        return inv;
      }
      default:
        return defaultInvFreq(r.theta(), dim);
    }
  }

  /**
   * cos and sin tables for positions [start, start + length): each (length, headDim), the angle
   * table concatenated with itself as in transformers' {@code cat((freqs, freqs), -1)}.
   */
  static NDArray[] tables(ModelConfig c, int start, int length, DataType dtype, NDManager manager) {
    long[] positions = new long[length];
    for (int t = 0; t < length; t++) {
      positions[t] = start + t;
    }
    return tables(c, positions, start + length, new Shape(length, c.headDim()), dtype, manager);
  }

  /**
   * cos and sin tables for explicit positions (packed rows restart at 0 per example): each
   * (B, 1, T, headDim), broadcasting over heads.
   */
  static NDArray[] tables(ModelConfig c, long[][] positions, DataType dtype, NDManager manager) {
    int batch = positions.length;
    int length = positions[0].length;
    long[] flat = new long[batch * length];
    long maxPos = 0;
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < length; t++) {
        flat[b * length + t] = positions[b][t];
        maxPos = Math.max(maxPos, positions[b][t]);
      }
    }
    return tables(c, flat, (int) maxPos + 1, new Shape(batch, 1, length, c.headDim()), dtype, manager);
  }

  /** The tables for a flat list of positions, shaped {@code shape} (its last dimension headDim). */
  private static NDArray[] tables(ModelConfig c, long[] positions, int seqLen, Shape shape, DataType dtype,
      NDManager manager) {
    float[] inv = invFreq(c, seqLen);
    int dim = c.headDim();
    int half = dim / 2;
    float[] cos = new float[positions.length * dim];
    float[] sin = new float[positions.length * dim];
    for (int p = 0; p < positions.length; p++) {
      float pos = positions[p];
      int base = p * dim;
      for (int i = 0; i < half; i++) {
        float angle = pos * inv[i]; // float32 product, as torch's float matmul of (d/2,1)x(1,T)
        float cv = (float) Math.cos(angle);
        float sv = (float) Math.sin(angle);
        cos[base + i] = cv;
        cos[base + i + half] = cv;
        sin[base + i] = sv;
        sin[base + i + half] = sv;
      }
    }
    NDArray cosArr = manager.create(cos, shape);
    NDArray sinArr = manager.create(sin, shape);
    if (dtype != DataType.FLOAT32) {
      cosArr = cosArr.toType(dtype, false);
      sinArr = sinArr.toType(dtype, false);
    }
    return new NDArray[] {cosArr, sinArr};
  }

  /** x * cos + rotate_half(x) * sin. x: (B, nh, T, hd); cos, sin: (T, hd) or (B, 1, T, hd). */
  static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
    long half = x.getShape().get(3) / 2;
    NDArray x1 = x.get("..., :{}", half); // (B, nh, T, hd/2)
    NDArray x2 = x.get("..., {}:", half); // (B, nh, T, hd/2)
    NDArray rotated = x2.neg().concat(x1, -1); // (B, nh, T, hd)
    return x.mul(cos).add(rotated.mul(sin));
  }
}
