package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The frozen base's decoder linear weights ({@code model.layers.*.*_proj.weight}) held quantized
 * on the device, int8 per output channel or NF4 with double-quantized block scales ({@link Int8},
 * {@link Nf4}), and dequantized when a layer runs, into that pass's manager, so only the packed
 * weights stay resident. Embeddings, norms and the LM head stay as they are.
 *
 * <p>Dequantizing uses no bit operations (DJL has none): a 256 × 2 table gives the two levels of
 * every packed byte through an embedding lookup; the block scales come from the 256-entry dynamic
 * map the same way. Each step is one float32 multiply or add, as in {@link Nf4#dequantize}, so the
 * device result equals the Java codec's bit for bit.
 */
final class QuantizedLinears implements AutoCloseable {
  /** How the base's linear weights are stored. */
  enum Mode {
    NONE, INT8, NF4;

    static Mode of(String name) {
      return valueOf(name.toUpperCase(Locale.ROOT));
    }
  }

  private record Packed(Mode mode, Shape shape, NDArray codes, NDArray scales, NDArray absmax2, float offset) {}

  private final NDManager manager;
  private final Map<String, Packed> packed = new LinkedHashMap<>();
  private final NDArray byteLevels; // (256, 2): the levels of a byte's high and low nibble
  private final NDArray dynamicMap; // (256, 1)

  private QuantizedLinears(NDManager manager) {
    this.manager = manager;
    float[] table = new float[512];
    for (int b = 0; b < 256; b++) {
      table[2 * b] = Nf4.LEVELS[b >>> 4];
      table[2 * b + 1] = Nf4.LEVELS[b & 0x0f];
    }
    this.byteLevels = manager.create(table, new Shape(256, 2));
    this.dynamicMap = manager.create(Nf4.DYNAMIC_MAP, new Shape(256, 1));
  }

  /**
   * Moves every decoder linear weight of {@code weights} into a quantized store (the dense arrays
   * are closed and removed from the map).
   */
  static QuantizedLinears quantize(Map<String, NDArray> weights, Mode mode, NDManager parent) {
    QuantizedLinears q = new QuantizedLinears(parent.newSubManager());
    for (Iterator<Map.Entry<String, NDArray>> it = weights.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, NDArray> e = it.next();
      if (!ModelWeights.quantizable(e.getKey())) {
        continue;
      }
      NDArray dense = e.getValue();
      q.packed.put(e.getKey(), q.pack(dense.toType(DataType.FLOAT32, false).toFloatArray(), dense.getShape(), mode));
      dense.close();
      it.remove();
    }
    return q;
  }

  private Packed pack(float[] w, Shape shape, Mode mode) {
    if (mode == Mode.INT8) {
      int rows = (int) shape.get(0);
      Int8.Quantized q = Int8.quantize(w, rows, w.length / rows);
      return new Packed(mode, shape, manager.create(java.nio.ByteBuffer.wrap(q.codes()), shape, DataType.INT8),
          manager.create(q.absmax(), new Shape(rows, 1)), null, 0);
    }
    // Padded to whole blocks with zeros (code 7), which changes no block's absmax, so the device
    // can reshape into blocks of 64.
    float[] padded = w.length % Nf4.BLOCK == 0 ? w : java.util.Arrays.copyOf(w,
        (w.length / Nf4.BLOCK + 1) * Nf4.BLOCK);
    Nf4.DoubleQuantized q = Nf4.quantizeDouble(padded);
    return new Packed(mode, shape, uint8(q.packed()), uint8(q.qabsmax()),
        manager.create(q.absmax2(), new Shape(q.absmax2().length, 1)), q.offset());
  }

  private NDArray uint8(byte[] bytes) {
    return manager.create(java.nio.ByteBuffer.wrap(bytes), new Shape(bytes.length), DataType.UINT8);
  }

  boolean contains(String name) {
    return packed.containsKey(name);
  }

  Shape shape(String name) {
    return packed.get(name).shape();
  }

  /** Weight {@code name} dequantized as {@code dtype} into {@code scope}: the caller's pass owns it. */
  NDArray dense(String name, DataType dtype, NDManager scope) {
    Packed p = packed.get(name);
    try (NDManager tmp = manager.newSubManager()) {
      NDArray w = p.mode() == Mode.INT8 ? int8(p, tmp) : nf4(p, tmp);
      NDArray out = w.getDataType() == dtype ? w : TorchOps.cast(w, dtype);
      out.attach(scope);
      return out;
    }
  }

  private static NDArray own(NDArray a, NDManager tmp) {
    a.attach(tmp);
    return a;
  }

  private NDArray int8(Packed p, NDManager tmp) {
    NDArray q = own(p.codes().toType(DataType.FLOAT32, false), tmp);
    NDArray scaled = own(q.mul(p.scales()), tmp);
    return own(scaled.mul(own(manager.create(Int8.INV_127), tmp)), tmp); // (q × absmax) × (1/127), as bitsandbytes
  }

  private NDArray nf4(Packed p, NDManager tmp) {
    long blocks = p.scales().getShape().get(0);
    // Block scales: map[code] × absmax2[block / 256], then + offset (two roundings, as bitsandbytes).
    NDArray codes = own(p.scales().toType(DataType.INT32, false), tmp);
    NDArray mapped = own(lookup(codes, dynamicMap), tmp).reshape(blocks); // (blocks)
    NDArray absmax2 = own(own(p.absmax2().repeat(0, Nf4.DQ_BLOCK), tmp).get(new NDIndex("0:" + blocks)), tmp)
        .reshape(blocks);
    NDArray absmax = own(own(mapped.mul(absmax2), tmp).add(own(manager.create(p.offset()), tmp)), tmp)
        .reshape(blocks, 1);
    // Codes: two levels per byte, then × the block scale.
    NDArray bytes = own(p.codes().toType(DataType.INT32, false), tmp);
    NDArray levels = own(lookup(bytes, byteLevels), tmp).reshape(blocks, Nf4.BLOCK);
    NDArray w = own(levels.mul(absmax), tmp).reshape(-1);
    long n = p.shape().size();
    NDArray cut = n == w.size() ? w : own(w.get(new NDIndex("0:" + n)), tmp);
    return cut.reshape(p.shape());
  }

  private static NDArray lookup(NDArray indices, NDArray table) {
    return indices.getNDArrayInternal().embedding(indices, table, SparseFormat.DENSE).singletonOrThrow();
  }

  /** Bytes the quantized weights hold. */
  long bytes() {
    long total = 0;
    for (Packed p : packed.values()) {
      total += p.codes().size() * p.codes().getDataType().getNumOfBytes()
          + p.scales().size() * p.scales().getDataType().getNumOfBytes()
          + (p.absmax2() == null ? 0 : p.absmax2().size() * 4L);
    }
    return total;
  }

  /** Parameters the quantized weights stand for. */
  long parameters() {
    return packed.values().stream().mapToLong(p -> p.shape().size()).sum();
  }

  @Override
  public void close() {
    manager.close();
  }
}
