package dev.sparktune.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * A right-padded micro-batch: ids (B, T), labels (B, T) with -100 on the prompt and the padding,
 * optional packed-row positions, the real token count and T, and per row its example's index in
 * the train split and its real length (what keys the row's dropout masks). No attention mask: with
 * right padding the causal mask is exact for every real token, and pads carry no labels.
 */
public record Batch(NDArray ids, NDArray labels, long[][] positions, long realTokens, int length,
    int[] examples, int[] lengths) {

  /** Examples {@code indices} of {@code data}, padded with {@code padId} to the longest. */
  public static Batch of(List<TrainData.Example> data, int[] indices, int padId, NDManager m) {
    int length = 0;
    for (int i : indices) {
      length = Math.max(length, data.get(i).length());
    }
    int b = indices.length;
    long[] ids = new long[b * length];
    long[] labels = new long[b * length];
    long[][] positions = data.get(indices[0]).positionIds() == null ? null : new long[b][length];
    long real = 0;
    int[] lengths = new int[b];
    Arrays.fill(ids, padId);
    Arrays.fill(labels, -100);
    for (int r = 0; r < b; r++) {
      TrainData.Example e = data.get(indices[r]);
      System.arraycopy(e.inputIds(), 0, ids, r * length, e.length());
      System.arraycopy(e.labels(), 0, labels, r * length, e.length());
      if (positions != null) {
        System.arraycopy(e.positionIds(), 0, positions[r], 0, e.length());
        for (int t = e.length(); t < length; t++) {
          positions[r][t] = t - e.length(); // padding: its own segment, masked anyway
        }
      }
      real += e.length();
      lengths[r] = e.length();
    }
    Shape shape = new Shape(b, length);
    return new Batch(m.create(ids, shape), m.create(labels, shape), positions, real, length, indices.clone(),
        lengths);
  }
}
