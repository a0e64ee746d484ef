package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Causal self-attention of a decoder layer once q, k and v are projected: the boolean mask
 * (causal, padding, packed examples) and softmax(q kᵀ / √hd) v, fused or composed.
 */
final class SelfAttention {
  private SelfAttention() {}

  /**
   * softmax(q kᵀ / √hd, masked) v. q: (B, nh, T, hd); k, v: (B, nkv, S, hd); mask (B, 1, T, S)
   * boolean or null (causal, S = T). Returns (B, nh, T, hd).
   */
  static NDArray attend(ModelConfig config, CausalLm.Attention impl, NDArray q, NDArray k, NDArray v,
      NDArray mask) {
    double scale = 1.0 / Math.sqrt(config.headDim());
    if (impl == CausalLm.Attention.FUSED) {
      return TorchOps.attention(q, k, v, mask, scale);
    }
    if (config.kvGroups() > 1) {
      // Head j attends with key/value head j / groups, as transformers' repeat_kv.
      k = k.repeat(1, config.kvGroups()); // (B, nh, S, hd)
      v = v.repeat(1, config.kvGroups()); // (B, nh, S, hd)
    }
    NDArray scores = q.matMul(k.transpose(0, 1, 3, 2))
        .mul(TorchOps.scalar(q.getManager(), scale)); // (B, nh, T, S)
    long length = q.getShape().get(2);
    NDArray visible = mask != null ? mask
        : causal(0, length, length, q.getManager()).reshape(1, 1, length, length); // (B|1, 1, T, S)
    // The dtype's lowest value rather than -inf, as transformers does, so no row becomes NaN.
    NDArray low = q.getManager().full(new Shape(1), lowest(q.getDataType()), q.getDataType());
    scores = scores.add(visible.logicalNot().toType(q.getDataType(), false).mul(low));
    return scores.softmax(-1).matMul(v); // (B, nh, T, hd)
  }

  private static float lowest(DataType dtype) {
    return dtype == DataType.FLOAT16 ? -65504f : -Float.MAX_VALUE;
  }

  /** (T, S) boolean: query t (at position past + t) may see key s ≤ past + t. */
  private static NDArray causal(int past, long length, long total, NDManager m) {
    NDArray keys = m.arange(0, (int) total, 1, DataType.INT64).reshape(1, total); // (1, S)
    NDArray queries = m.arange(past, past + (int) length, 1, DataType.INT64).reshape(length, 1); // (T, 1)
    return keys.lte(queries); // (T, S)
  }

  /**
   * The boolean attention mask (B, 1, T, S), built on the device: query t may see key s when
   * s ≤ past + t, the key is not padding and, in packed rows, both belong to one example. A query
   * that would see nothing (a left pad) sees every key instead, as transformers' sdpa path
   * unmasks such rows, so no row becomes NaN. Null when the plain causal mask is exact (no
   * padding, no packing, no cache).
   */
  static NDArray mask(NDArray attentionMask, long[][] positionIds, long batch, int length, int past,
      NDManager m) {
    int total = past + length;
    if (attentionMask == null && positionIds == null) {
      if (past == 0) {
        return null; // causal
      }
      if (length == 1) {
        return m.ones(new Shape(1, 1, 1, total), DataType.BOOLEAN); // one new token sees the cache
      }
    }
    if (attentionMask != null && attentionMask.getShape().size() != batch * total) {
      throw new IllegalArgumentException("attention_mask has " + attentionMask.getShape().size()
          + " entries, expected " + batch + " × " + total);
    }
    NDArray visible = causal(past, length, total, m).reshape(1, 1, length, total); // (1, 1, T, S)
    if (attentionMask != null) {
      NDArray keep = attentionMask.neq(0).reshape(batch, 1, 1, total); // (B, 1, 1, S)
      visible = visible.logicalAnd(keep); // (B, 1, T, S)
    }
    if (positionIds != null) {
      // Packed rows: example k of a row is the run of tokens from a position 0 to the next one.
      long[] segment = new long[(int) batch * length];
      for (int b = 0; b < batch; b++) {
        long seg = 0;
        for (int t = 0; t < length; t++) {
          if (t > 0 && positionIds[b][t] == 0) {
            seg++;
          }
          segment[b * length + t] = seg;
        }
      }
      NDArray seg = m.create(segment, new Shape(batch, 1, length)); // (B, 1, T)
      visible = visible.logicalAnd(seg.expandDims(3).eq(seg.expandDims(2))); // (B, 1, T, T)
    }
    NDArray none = visible.toType(DataType.INT32, false).sum(new int[] {-1}, true).eq(0); // (B, 1, T, 1)
    return visible.logicalOr(none);
  }
}
