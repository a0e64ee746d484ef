package dev.sparktune.model;

import ai.djl.ndarray.NDArray;

/**
 * A trainable term a {@link CausalLm} adds to the output of its linear projections (LoRA is one),
 * kept apart from the frozen base weights: the model calls it for every projection and knows
 * nothing else about it.
 */
public interface Adapter {

  /**
   * The projection's output with the adapter's term added. {@code modulePath} is the Hugging Face
   * module name ({@code model.layers.0.self_attn.q_proj}); x: (..., in) its input, y: (..., out) the
   * base output; {@code pass} says whether this is training and, for per-row dropout, the row keys
   * and lengths. A module the adapter does not cover returns y unchanged.
   */
  NDArray apply(String modulePath, NDArray x, NDArray y, CausalLm.Pass pass);

  /**
   * The base weight {@code weight} (out, in) of {@code modulePath} with the adapter folded in, as a
   * new array in the manager of {@code weight}; a copy of it for a module the adapter does not cover.
   */
  NDArray merge(String modulePath, NDArray weight);
}
