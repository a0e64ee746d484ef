package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * libtorch functions that DJL does not expose — fused scaled-dot-product attention (flash /
 * memory-efficient kernels on GPU, the fused kernel on CPU), and the flat-buffer optimizer
 * primitives — compiled by libtorch itself from TorchScript source ({@code torch_ops.ts}) at first
 * use. The archive is assembled here in memory, so nothing needs Python or a file at run time.
 *
 * <p>DJL runs a module method with autograd only when asked for training mode, a flag its public
 * {@code IValueUtils.runMethod} always clears; the call therefore goes to the same native entry
 * point with the flag set, and this thread's grad mode ({@link Torch#gradMode}) decides whether a
 * graph is recorded — exactly as for every other op.
 */
public final class TorchOps {
  private TorchOps() {}

  private static volatile long module;
  private static Method runMethod;
  private static Object library;
  private static java.lang.reflect.Constructor<IValue> ivalue; // package-private in DJL

  /** The loaded module's handle, compiling it on first use. */
  private static long module() {
    long m = module;
    if (m == 0) {
      synchronized (TorchOps.class) {
        if (module == 0) {
          Torch.engine();
          try {
            Class<?> lib = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
            Field f = lib.getDeclaredField("LIB");
            f.setAccessible(true);
            library = f.get(null);
            runMethod = lib.getDeclaredMethod("moduleRunMethod", long.class, String.class,
                long[].class, boolean.class, boolean.class);
            runMethod.setAccessible(true);
            ivalue = IValue.class.getDeclaredConstructor(long.class);
            ivalue.setAccessible(true);
          } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this DJL PyTorch engine has no moduleRunMethod; "
                + "sparktune needs DJL 0.35.x", e);
          }
          try (InputStream in = new ByteArrayInputStream(archive())) {
            module = JniUtils.loadModuleHandle(in, ai.djl.Device.cpu(), false, false);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
        m = module;
      }
    }
    return m;
  }

  /** A TorchScript archive (what {@code torch.jit.save} writes) of the {@code Ops} module. */
  static byte[] archive() throws IOException {
    byte[] code;
    try (InputStream in = TorchOps.class.getResourceAsStream("torch_ops.ts")) {
      if (in == null) {
        throw new IOException("resource dev/sparktune/model/torch_ops.ts is missing from the jar");
      }
      code = in.readAllBytes();
    }
    ByteArrayOutputStream pickle = new ByteArrayOutputStream();
    // pickle protocol 2 of __torch__.Ops(training=True): GLOBAL, EMPTY_TUPLE, NEWOBJ, {training: True}, BUILD
    pickle.write(new byte[] {(byte) 0x80, 2, 'c'});
    pickle.write("__torch__\nOps\n".getBytes(StandardCharsets.US_ASCII));
    pickle.write(new byte[] {'q', 0, ')', (byte) 0x81, '}', '(', 'X', 8, 0, 0, 0});
    pickle.write("training".getBytes(StandardCharsets.US_ASCII));
    pickle.write(new byte[] {'q', 1, (byte) 0x88, 'u', 'b', 'q', 2, '.'});
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(out)) {
      stored(zip, "ops/data.pkl", pickle.toByteArray());
      stored(zip, "ops/code/__torch__.py", code);
      stored(zip, "ops/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
      stored(zip, "ops/version", "3\n".getBytes(StandardCharsets.US_ASCII));
      stored(zip, "ops/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
    }
    return out.toByteArray();
  }

  private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
    ZipEntry e = new ZipEntry(name);
    e.setMethod(ZipEntry.STORED);
    e.setSize(data.length);
    CRC32 crc = new CRC32();
    crc.update(data);
    e.setCrc(crc.getValue());
    zip.putNextEntry(e);
    zip.write(data);
    zip.closeEntry();
  }

  /**
   * Whether this thread has turned libtorch's graph-executor optimisation off. The switch is
   * thread-local in libtorch: left on in any other thread (a second rank, a Spark task thread), the
   * profiling executor re-specialises the methods there, and two threads profiling the same method at
   * once made multi-rank training differ from one rank by up to 0.1 (relative) now and then.
   */
  private static final ThreadLocal<Boolean> PLAIN_EXECUTOR = ThreadLocal.withInitial(() -> false);

  private static IValue call(String method, IValue... args) {
    long handle = module();
    if (!PLAIN_EXECUTOR.get()) {
      // The methods are single ops: profiling and re-specialising them per shape gains nothing.
      JniUtils.setGraphExecutorOptimize(false);
      PLAIN_EXECUTOR.set(true);
    }
    long[] ptrs = new long[args.length];
    for (int i = 0; i < args.length; i++) {
      ptrs[i] = args[i].getHandle();
    }
    try {
      return ivalue.newInstance((long) runMethod.invoke(library, handle, method, ptrs, true, false));
    } catch (ReflectiveOperationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException("TorchScript " + method + " failed", cause);
    } finally {
      for (IValue a : args) {
        a.close();
      }
    }
  }


  private static NDArray tensor(IValue v, NDManager manager) {
    try (v) {
      return v.toTensor((PtNDManager) manager);
    }
  }

  /**
   * softmax(q kᵀ · scale + mask) v in one fused kernel. q: (B, nh, T, hd); k, v: (B, nkv, S, hd)
   * (with {@code nkv < nh} the key/value heads are shared by groups, as {@code enable_gqa});
   * mask: (B, 1, T, S) boolean, true where attending is allowed, or null for the causal mask
   * (then S must equal T). Returns (B, nh, T, hd) in q's manager.
   */
  public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, double scale) {
    boolean gqa = q.getShape().get(1) != k.getShape().get(1);
    IValue out = mask == null
        ? call("attention_causal", IValue.from((PtNDArray) q), IValue.from((PtNDArray) k),
            IValue.from((PtNDArray) v), IValue.from(scale), IValue.from(gqa))
        : call("attention_masked", IValue.from((PtNDArray) q), IValue.from((PtNDArray) k),
            IValue.from((PtNDArray) v), IValue.from((PtNDArray) mask), IValue.from(scale),
            IValue.from(gqa));
    return tensor(out, q.getManager());
  }

  /**
   * A 0-dim tensor holding {@code value} (its Java type decides the dtype, as DJL's {@code op(Number)}
   * does) in memory libtorch owns. DJL's {@code x.mul(2.0)} wraps the number in a Java buffer and
   * closes that tensor as soon as the op returns, so the buffer may be freed while autograd still
   * holds the tensor for backward (mul, div and pow save it): the gradient then reads freed memory
   * once a GC has run between forward and backward. Use this for any number an op with a gradient
   * takes.
   */
  public static NDArray scalar(ai.djl.ndarray.NDManager manager, Number value) {
    try (NDArray wrapped = manager.create(value)) {
      return wrapped.duplicate(); // a copy in libtorch's own memory
    }
  }

  /**
   * {@code x} in another floating dtype, differentiably (DJL's {@code toType} runs under no-grad,
   * so a cast inside a training graph must come through here). Returns x itself when it already
   * has the dtype.
   */
  public static NDArray cast(NDArray x, DataType dtype) {
    if (x.getDataType() == dtype) {
      return x;
    }
    int scalarType = switch (dtype) {
      case FLOAT16 -> 5;
      case FLOAT32 -> 6;
      case FLOAT64 -> 7;
      case BFLOAT16 -> 15;
      default -> throw new IllegalArgumentException("cast to " + dtype + " is not a float cast");
    };
    return tensor(call("cast", IValue.from((PtNDArray) x), IValue.from((long) scalarType)), x.getManager());
  }

  /**
   * Every parameter's gradient, flattened and concatenated in list order as one vector (the parameters' dtype),
   * and the gradients zeroed for the next step (autograd accumulates into them). One native call.
   */
  public static NDArray flatGradients(List<NDArray> params, NDManager manager) {
    return tensor(call("flat_grads", list(params)), manager);
  }

  /** Copies consecutive pieces of {@code flat} into the parameters, in list order. */
  public static void unflatten(NDArray flat, List<NDArray> params) {
    call("unflatten", IValue.from((PtNDArray) flat), list(params)).close();
  }

  /**
   * Overwrites {@code target} in place with {@code source} (same element count; converted to the
   * target's dtype and device by libtorch's {@code copy_}).
   */
  public static void copyInto(NDArray target, NDArray source) {
    unflatten(source, List.of(target));
  }

  /**
   * torch.optim.AdamW's update, in place on flat buffers of one device: decoupled weight decay,
   * bias-corrected moments, {@code p ← p·(1 − lr·wd) − lr/(1−β₁ᵗ) · m / (√(v/(1−β₂ᵗ)) + eps)}.
   */
  public static void adamw(NDArray param, NDArray grad, NDArray expAvg, NDArray expAvgSq, double lr,
      double beta1, double beta2, double eps, double weightDecay, long step) {
    call("adamw", IValue.from((PtNDArray) param), IValue.from((PtNDArray) grad),
        IValue.from((PtNDArray) expAvg), IValue.from((PtNDArray) expAvgSq), IValue.from(lr),
        IValue.from(beta1), IValue.from(beta2), IValue.from(eps), IValue.from(weightDecay),
        IValue.from(step)).close();
  }

  private static IValue list(List<NDArray> arrays) {
    PtNDArray[] a = new PtNDArray[arrays.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = (PtNDArray) arrays.get(i);
    }
    return IValue.listFrom(a);
  }
}
