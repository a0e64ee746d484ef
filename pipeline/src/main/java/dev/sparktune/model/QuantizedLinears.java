package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

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

  /** Supplies one tensor's values as floats (read from a file, or copied off a loaded array). */
  @FunctionalInterface
  interface Source {
    float[] read(String name) throws IOException;
  }

  /** One tensor quantized on the host, before its arrays are created on the device. */
  private record HostPacked(String name, Shape shape, Int8.Quantized int8, Nf4.DoubleQuantized nf4) {}

  /**
   * Moves every decoder linear weight of {@code weights} but those {@code keepDense} names into a
   * quantized store (the dense arrays are closed and removed from the map).
   */
  static QuantizedLinears quantize(Map<String, NDArray> weights, Mode mode, Collection<String> keepDense,
      NDManager parent) {
    Map<String, Shape> shapes = new LinkedHashMap<>();
    weights.forEach((name, w) -> {
      if (ModelWeights.quantizable(name, keepDense)) {
        shapes.put(name, w.getShape());
      }
    });
    try {
      return quantize(shapes, name -> {
        try (NDArray dense = weights.remove(name)) {
          if (dense.getDataType() == DataType.FLOAT32) {
            return dense.toFloatArray();
          }
          try (NDArray f = dense.toType(DataType.FLOAT32, false)) {
            return f.toFloatArray();
          }
        }
      }, mode, parent);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // the source above does no I/O
    }
  }

  /**
   * Quantizes the tensors {@code shapes} names, in order, as {@code source} hands them over: reads
   * happen on this thread, the quantization itself on a few worker threads, and each result's
   * arrays are created on this thread. At most {@link #parallelism} tensors are in flight, so the
   * float copies held at once stay within a few tensors (and within the heap).
   */
  static QuantizedLinears quantize(Map<String, Shape> shapes, Source source, Mode mode, NDManager parent)
      throws IOException {
    QuantizedLinears q = new QuantizedLinears(parent.newSubManager());
    long largest = shapes.values().stream().mapToLong(Shape::size).max().orElse(1);
    int workers = parallelism(largest);
    ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
      Thread t = new Thread(r, "quantize-base");
      t.setDaemon(true);
      return t;
    });
    ArrayDeque<Future<HostPacked>> inFlight = new ArrayDeque<>();
    try {
      for (Map.Entry<String, Shape> e : shapes.entrySet()) {
        float[] values = source.read(e.getKey());
        inFlight.add(pool.submit(() -> hostPack(e.getKey(), values, e.getValue(), mode)));
        while (inFlight.size() >= workers) {
          q.place(await(inFlight.poll()));
        }
      }
      while (!inFlight.isEmpty()) {
        q.place(await(inFlight.poll()));
      }
      return q;
    } catch (IOException | RuntimeException e) {
      q.close();
      throw e;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Tensors quantized at once: the cores there are, but no more than a quarter of the heap's
   * headroom holds (each needs its float copy, its codes and scratch), and at least one.
   */
  static int parallelism(long largestElements) {
    Runtime rt = Runtime.getRuntime();
    long perTensor = Math.max(1, largestElements * 6); // 4 bytes of floats + codes
    long fit = (rt.maxMemory() - (rt.totalMemory() - rt.freeMemory())) / 4 / perTensor;
    return (int) Math.max(1, Math.min(Math.min(rt.availableProcessors(), 8), fit));
  }

  private static HostPacked await(Future<HostPacked> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while quantizing the base", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    }
  }

  private static HostPacked hostPack(String name, float[] w, Shape shape, Mode mode) {
    if (w.length != shape.size()) {
      throw new IllegalArgumentException("weight '" + name + "' has " + w.length + " values, not " + shape);
    }
    if (mode == Mode.INT8) {
      int rows = (int) shape.get(0);
      return new HostPacked(name, shape, Int8.quantize(w, rows, w.length / rows), null);
    }
    // Padded to whole blocks with zeros (code 7), which changes no block's absmax, so the device
    // can reshape into blocks of 64.
    float[] padded = w.length % Nf4.BLOCK == 0 ? w : Arrays.copyOf(w,
        (w.length / Nf4.BLOCK + 1) * Nf4.BLOCK);
    return new HostPacked(name, shape, null, Nf4.quantizeDouble(padded));
  }

  private void place(HostPacked h) {
    Shape shape = h.shape();
    if (h.int8() != null) {
      Int8.Quantized q = h.int8();
      packed.put(h.name(), new Packed(Mode.INT8, shape, manager.create(ByteBuffer.wrap(q.codes()), shape,
          DataType.INT8), manager.create(q.absmax(), new Shape(q.rows(), 1)), null, 0));
      return;
    }
    Nf4.DoubleQuantized q = h.nf4();
    packed.put(h.name(), new Packed(Mode.NF4, shape, uint8(q.packed()), uint8(q.qabsmax()),
        manager.create(q.absmax2(), new Shape(q.absmax2().length, 1)), q.offset()));
  }

  private NDArray uint8(byte[] bytes) {
    return manager.create(ByteBuffer.wrap(bytes), new Shape(bytes.length), DataType.UINT8);
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
