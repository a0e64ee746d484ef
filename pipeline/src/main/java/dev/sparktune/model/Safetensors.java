package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict reader and writer of the safetensors format (8-byte little-endian header length, a JSON
 * header of dtype/shape/data_offsets per tensor, then raw little-endian data). Tensors are read
 * one chunk at a time into memory the engine owns, so a 15 GB checkpoint never enters the Java heap
 * and never sits mapped in the process. DJL's own {@code NDList.decode} reads the whole file into
 * one byte[] and aborts on BF16, hence this class.
 */
public final class Safetensors implements AutoCloseable {
  /** The header may not be larger than this (the reference implementation's limit). */
  static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
  /** Bytes read at a time when loading a tensor. */
  static final int CHUNK_BYTES = 16 << 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One tensor's entry in the header; {@code begin}/{@code end} are absolute file offsets. */
  public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {
    public long elements() {
      long n = 1;
      for (long d : shape) {
        n = Math.multiplyExact(n, d);
      }
      return n;
    }
  }

  private final Path file;
  private final FileChannel channel;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;
  private ByteBuffer chunk; // positional reads land here, CHUNK_BYTES at most
  private ByteBuffer widened; // a chunk of BF16 widened to F32

  private Safetensors(Path file, FileChannel channel, Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.file = file;
    this.channel = channel;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Opens and validates a file; every problem is reported with the file's name. */
  public static Safetensors open(Path file) throws IOException {
    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
    try {
      long size = channel.size();
      if (size < 8) {
        throw malformed(file, "file is " + size + " bytes, shorter than the 8-byte header length");
      }
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, lenBuf, 0);
      long headerLen = lenBuf.getLong(0);
      if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES) {
        throw malformed(file, "header length " + headerLen + " is outside 1.." + MAX_HEADER_BYTES);
      }
      if (8 + headerLen > size) {
        throw malformed(file, "header length " + headerLen + " runs past the end of the file ("
            + size + " bytes)");
      }
      ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
      readFully(channel, headerBuf, 8);
      JsonNode header;
      try {
        header = JSON.readTree(new String(headerBuf.array(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw malformed(file, "header is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
      }
      if (header == null || !header.isObject()) {
        throw malformed(file, "header is not a JSON object");
      }
      long dataStart = 8 + headerLen;
      Map<String, TensorInfo> tensors = new LinkedHashMap<>();
      Map<String, String> metadata = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("__metadata__")) {
          e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
          continue;
        }
        tensors.put(e.getKey(), parseEntry(file, e.getKey(), e.getValue(), dataStart, size));
      }
      checkNoOverlap(file, tensors);
      return new Safetensors(file, channel, tensors, metadata);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private static TensorInfo parseEntry(Path file, String name, JsonNode entry, long dataStart,
      long fileSize) throws IOException {
    JsonNode dtype = entry.get("dtype");
    JsonNode shape = entry.get("shape");
    JsonNode offsets = entry.get("data_offsets");
    if (dtype == null || !dtype.isTextual() || shape == null || !shape.isArray()
        || offsets == null || !offsets.isArray() || offsets.size() != 2) {
      throw malformed(file, "tensor '" + name + "' needs dtype, shape and two data_offsets");
    }
    int width = dtypeBytes(dtype.asText());
    if (width < 0) {
      throw malformed(file, "tensor '" + name + "' has unsupported dtype " + dtype.asText()
          + " (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");
    }
    long[] dims = new long[shape.size()];
    for (int i = 0; i < dims.length; i++) {
      if (!shape.get(i).canConvertToLong() || shape.get(i).asLong() < 0) {
        throw malformed(file, "tensor '" + name + "' has a bad shape " + shape);
      }
      dims[i] = shape.get(i).asLong();
    }
    long begin = offsets.get(0).asLong(-1);
    long end = offsets.get(1).asLong(-1);
    if (begin < 0 || end < begin) {
      throw malformed(file, "tensor '" + name + "' has bad data_offsets " + offsets);
    }
    TensorInfo info = new TensorInfo(name, dtype.asText(), dims, dataStart + begin, dataStart + end);
    long expected;
    try {
      expected = Math.multiplyExact(info.elements(), width);
    } catch (ArithmeticException e) {
      throw malformed(file, "tensor '" + name + "' shape " + shape + " overflows");
    }
    if (end - begin != expected) {
      throw malformed(file, "tensor '" + name + "' has " + (end - begin) + " bytes but shape "
          + shape + " × " + dtype.asText() + " needs " + expected);
    }
    if (info.end() > fileSize) {
      throw malformed(file, "tensor '" + name + "' data ends at byte " + info.end()
          + ", past the end of the file (" + fileSize + " bytes; truncated?)");
    }
    return info;
  }

  private static void checkNoOverlap(Path file, Map<String, TensorInfo> tensors) throws IOException {
    List<TensorInfo> sorted = new ArrayList<>(tensors.values());
    sorted.sort(Comparator.comparingLong(TensorInfo::begin));
    for (int i = 1; i < sorted.size(); i++) {
      TensorInfo prev = sorted.get(i - 1);
      TensorInfo cur = sorted.get(i);
      if (cur.begin() < prev.end()) {
        throw malformed(file, "tensors '" + prev.name() + "' and '" + cur.name()
            + "' overlap (data_offsets)");
      }
    }
  }

  /** Bytes per element of a safetensors dtype, or -1 when unsupported. */
  static int dtypeBytes(String dtype) {
    return switch (dtype) {
      case "F64", "I64" -> 8;
      case "F32", "I32" -> 4;
      case "F16", "BF16", "I16" -> 2;
      case "I8", "U8", "BOOL" -> 1;
      default -> -1;
    };
  }

  private static IOException malformed(Path file, String why) {
    return new IOException("malformed safetensors file " + file + ": " + why);
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos + buf.position());
      if (n < 0) {
        throw new IOException("unexpected end of " + ch);
      }
    }
  }

  public Path file() {
    return file;
  }

  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /**
   * Loads one tensor into {@code manager} as {@code target} (null keeps floats as F32/F64 and ints
   * as they are). The bytes are read with positional reads through one reusable 16 MiB buffer and
   * copied chunk by chunk into the tensor, converted on the way: nothing is memory-mapped (mapped
   * file pages would count in the process's RSS until a GC unmapped them, the whole checkpoint in
   * the end), nothing passes through the Java heap, and the largest transient is one chunk. BF16 is
   * widened in Java, because any BF16 tensor aborts the JVM in DJL's PyTorch JNI.
   */
  public NDArray load(String name, NDManager manager, DataType target) throws IOException {
    TensorInfo info = info(name);
    DataType stored = switch (info.dtype()) {
      case "BF16", "F32" -> DataType.FLOAT32;
      case "F16" -> DataType.FLOAT16;
      case "F64" -> DataType.FLOAT64;
      case "I64" -> DataType.INT64;
      case "I32" -> DataType.INT32;
      case "I8" -> DataType.INT8;
      case "U8" -> DataType.UINT8;
      case "BOOL" -> DataType.BOOLEAN;
      default -> throw new IOException("tensor '" + name + "' in " + file + ": dtype " + info.dtype()
          + " cannot be loaded");
    };
    DataType want = target != null ? target : stored == DataType.FLOAT16 ? DataType.FLOAT32 : stored;
    Shape shape = new Shape(info.shape());
    long n = info.elements();
    if (n == 0) {
      return manager.zeros(shape, want);
    }
    NDArray flat = manager.create(new Shape(n), want);
    int width = dtypeBytes(info.dtype());
    long step = CHUNK_BYTES / width;
    for (long done = 0; done < n; done += step) {
      int count = (int) Math.min(step, n - done);
      ByteBuffer data = readChunk(info, done, count);
      if (info.dtype().equals("BF16")) {
        data = widenBf16(data, count);
      }
      try (NDArray view = manager.create(data, new Shape(count), stored);
          NDArray part = view.getDataType() == want ? null : view.toType(want, false)) {
        flat.set(new NDIndex(done + ":" + (done + count)), part == null ? view : part);
      }
    }
    NDArray out = flat.reshape(shape);
    flat.close(); // the reshaped array keeps the storage
    return out;
  }

  /**
   * One floating tensor's values as a float array (F32, F16 or BF16, read in chunks): what a quantizer
   * needs, without an engine array of the whole tensor on the way.
   */
  public float[] readFloats(String name) throws IOException {
    TensorInfo info = info(name);
    int width = dtypeBytes(info.dtype());
    if (!info.dtype().equals("F32") && !info.dtype().equals("F16") && !info.dtype().equals("BF16")) {
      throw new IOException("tensor '" + name + "' in " + file + " is " + info.dtype() + ", not a float tensor");
    }
    if (info.elements() > Integer.MAX_VALUE - 8) {
      throw new IOException("tensor '" + name + "' in " + file + " has " + info.elements()
          + " values; quantizing one tensor of over 2^31 values is not supported");
    }
    float[] out = new float[(int) info.elements()];
    long step = CHUNK_BYTES / width;
    for (int done = 0; done < out.length; done += (int) step) {
      int count = (int) Math.min(step, out.length - done);
      ByteBuffer data = readChunk(info, done, count);
      switch (info.dtype()) {
        case "F32" -> data.asFloatBuffer().get(out, done, count);
        case "BF16" -> {
          for (int i = 0; i < count; i++) {
            out[done + i] = FloatBits.bf16ToFloat(data.getShort());
          }
        }
        default -> {
          for (int i = 0; i < count; i++) {
            out[done + i] = FloatBits.halfToFloat(data.getShort());
          }
        }
      }
    }
    return out;
  }

  private TensorInfo info(String name) throws IOException {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new IOException(file + " has no tensor '" + name + "'");
    }
    return info;
  }

  /** Elements [from, from + count) of {@code info}, read into the shared chunk buffer (little-endian). */
  private ByteBuffer readChunk(TensorInfo info, long from, int count) throws IOException {
    int width = dtypeBytes(info.dtype());
    if (chunk == null) {
      chunk = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    }
    chunk.clear().limit(count * width);
    readFully(channel, chunk, info.begin() + from * width);
    return chunk.flip();
  }

  /** BF16 → F32 (the top 16 bits of a float) of a chunk, into the shared widening buffer. */
  private ByteBuffer widenBf16(ByteBuffer src, int count) {
    if (widened == null) {
      widened = ByteBuffer.allocateDirect(CHUNK_BYTES * 2).order(ByteOrder.LITTLE_ENDIAN);
    }
    widened.clear();
    for (int i = 0; i < count; i++) {
      widened.putInt((src.getShort() & 0xFFFF) << 16);
    }
    return widened.flip();
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  /**
   * Writes tensors (in the map's order) to {@code out}, through a temporary file and an atomic
   * rename so a reader never sees half a file. Floats are written as they are typed (F32/F64/F16),
   * one tensor at a time.
   */
  public static void write(Path out, Map<String, NDArray> tensors, Map<String, String> metadata)
      throws IOException {
    ObjectNode header = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = header.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
      NDArray a = e.getValue();
      String dtype = switch (a.getDataType()) {
        case FLOAT32 -> "F32";
        case FLOAT64 -> "F64";
        case FLOAT16 -> "F16";
        case INT64 -> "I64";
        case INT32 -> "I32";
        case INT8 -> "I8";
        case UINT8 -> "U8";
        case BOOLEAN -> "BOOL";
        default -> throw new IOException("cannot write tensor '" + e.getKey() + "' of type "
            + a.getDataType() + " to safetensors");
      };
      long length = Math.multiplyExact(a.getShape().size(), (long) a.getDataType().getNumOfBytes());
      ObjectNode entry = header.putObject(e.getKey());
      entry.put("dtype", dtype);
      var shape = entry.putArray("shape");
      for (long d : a.getShape().getShape()) {
        shape.add(d);
      }
      entry.putArray("data_offsets").add(offset).add(offset + length);
      offset += length;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    // Pad the header with spaces to a multiple of 8 so the data is aligned, as the reference does.
    int padded = (json.length + 7) / 8 * 8;
    byte[] headerBytes = new byte[padded];
    System.arraycopy(json, 0, headerBytes, 0, json.length);
    for (int i = json.length; i < padded; i++) {
      headerBytes[i] = ' ';
    }
    Path parent = out.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = parent.resolve("." + out.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
    try (OutputStream os = Files.newOutputStream(tmp)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
      os.write(len.array());
      os.write(headerBytes);
      // One tensor in memory at a time, so writing a large merged model needs no second copy of it.
      for (NDArray a : tensors.values()) {
        os.write(a.toByteArray());
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
