package dev.sparktune.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
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
 * header of dtype/shape/data_offsets per tensor, then raw little-endian data). Tensors are
 * memory-mapped one by one with a private (copy-on-write) mapping, so a 15 GB checkpoint never
 * enters the Java heap and an in-place op on a loaded weight cannot touch the file. DJL's own
 * {@code NDList.decode} reads the whole file into one byte[] and aborts on BF16, hence this class.
 */
public final class Safetensors implements AutoCloseable {
  /** The header may not be larger than this (the reference implementation's limit). */
  static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

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
   * as they are). The tensor's bytes are mapped read-only and copied once into memory the engine
   * owns, so nothing passes through the Java heap or counts against the direct-memory limit, and an
   * in-place op can never touch the mapping (Java's copy-on-write mapping would need a writable
   * file, and checkpoints are often read-only). BF16 is widened to F32 here in chunks, because any
   * BF16 tensor aborts the JVM in DJL's PyTorch JNI.
   */
  public NDArray load(String name, NDManager manager, DataType target) throws IOException {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new IOException(file + " has no tensor '" + name + "'");
    }
    Shape shape = new Shape(info.shape());
    long bytes = info.end() - info.begin();
    if (bytes > Integer.MAX_VALUE) {
      throw new IOException("tensor '" + name + "' in " + file + " is " + bytes
          + " bytes; one tensor over 2 GiB is not supported");
    }
    ByteBuffer mapped = bytes == 0
        ? ByteBuffer.allocateDirect(0)
        : channel.map(FileChannel.MapMode.READ_ONLY, info.begin(), bytes);
    mapped.order(ByteOrder.LITTLE_ENDIAN);
    NDArray owned = switch (info.dtype()) {
      case "BF16" -> widenBf16(mapped, shape, target == DataType.FLOAT16 ? target : DataType.FLOAT32, manager);
      case "F16" -> copy(mapped, shape, DataType.FLOAT16, manager);
      case "F32" -> copy(mapped, shape, DataType.FLOAT32, manager);
      case "F64" -> copy(mapped, shape, DataType.FLOAT64, manager);
      case "I64" -> copy(mapped, shape, DataType.INT64, manager);
      case "I32" -> copy(mapped, shape, DataType.INT32, manager);
      case "I8" -> copy(mapped, shape, DataType.INT8, manager);
      case "U8" -> copy(mapped, shape, DataType.UINT8, manager);
      case "BOOL" -> copy(mapped, shape, DataType.BOOLEAN, manager);
      default -> throw new IOException("tensor '" + name + "' in " + file + ": dtype "
          + info.dtype() + " cannot be loaded");
    };
    DataType want = target;
    if (want == null) {
      want = owned.getDataType() == DataType.FLOAT16 ? DataType.FLOAT32 : owned.getDataType();
    }
    if (owned.getDataType() == want) {
      return owned;
    }
    NDArray converted = owned.toType(want, false);
    owned.close();
    return converted;
  }

  /** A tensor viewing {@code data}, copied into engine-owned memory. */
  private static NDArray copy(ByteBuffer data, Shape shape, DataType type, NDManager manager) {
    NDArray view = manager.create(data, shape, type);
    if (manager.getDevice().isGpu()) {
      return view; // the engine already copied it to the device
    }
    NDArray owned = view.duplicate();
    view.close();
    return owned;
  }

  /**
   * BF16 → F32 (the top 16 bits of a float), converted in bounded chunks; with {@code type} F16
   * each chunk is narrowed at once, so a half-precision load never holds a whole tensor in F32.
   */
  private static NDArray widenBf16(ByteBuffer src, Shape shape, DataType type, NDManager manager) {
    int count = src.remaining() / 2;
    int chunk = Math.min(count, 4 << 20); // 4 Mi elements: 16 MiB of direct memory at a time
    ByteBuffer buf = ByteBuffer.allocateDirect(Math.max(chunk, 1) * 4).order(ByteOrder.LITTLE_ENDIAN);
    NDList parts = new NDList();
    for (int done = 0; done < count; done += chunk) {
      int n = Math.min(chunk, count - done);
      buf.clear();
      for (int i = 0; i < n; i++) {
        buf.putInt((src.getShort() & 0xFFFF) << 16);
      }
      buf.flip();
      NDArray part = copy(buf, new Shape(n), DataType.FLOAT32, manager);
      if (type != DataType.FLOAT32) {
        NDArray narrowed = part.toType(type, false);
        part.close();
        part = narrowed;
      }
      parts.add(part);
    }
    if (parts.isEmpty()) {
      return manager.zeros(shape, type);
    }
    NDArray flat = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts);
    NDArray out = flat.reshape(shape);
    if (parts.size() > 1) {
      parts.close();
    }
    return out;
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
