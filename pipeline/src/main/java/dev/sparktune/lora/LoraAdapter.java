package dev.sparktune.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.model.Adapter;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.ModelConfig;
import dev.sparktune.model.Safetensors;
import dev.sparktune.model.TorchOps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoRA adapters on the linear modules of a Llama-family model: per module a down-projection A
 * ({@code [r, in]}, kaiming-uniform) and an up-projection B ({@code [out, r]}, zero), applied as
 * {@code y = W x + scaling · B(A(dropout(x)))}, and stored in PEFT's format (adapter_config.json +
 * adapter_model.safetensors with {@code base_model.model.<module>.lora_A.weight} keys).
 */
public final class LoraAdapter implements Adapter, AutoCloseable {
  /** PEFT's prefix before the module path in adapter_model.safetensors. */
  public static final String PEFT_PREFIX = "base_model.model.";

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One adapted module's two matrices. */
  public record Pair(NDArray a, NDArray b) {}

  private final LoraConfig config;
  private final NDManager manager;
  private final Map<String, Pair> modules; // module path -> (A, B), in model order

  private LoraAdapter(LoraConfig config, NDManager manager, Map<String, Pair> modules) {
    this.config = config;
    this.manager = manager;
    this.modules = modules;
  }

  public LoraConfig config() {
    return config;
  }

  public double scaling() {
    return config.scaling();
  }

  /** Module path ({@code model.layers.0.self_attn.q_proj}) → A and B, in model order. */
  public Map<String, Pair> modules() {
    return modules;
  }

  /** Input and output features of one linear module of a decoder layer. */
  static long[] inOut(ModelConfig c, String module) {
    long q = (long) c.numHeads() * c.headDim();
    long kv = (long) c.numKvHeads() * c.headDim();
    return switch (module) {
      case "q_proj" -> new long[] {c.hiddenSize(), q};
      case "k_proj", "v_proj" -> new long[] {c.hiddenSize(), kv};
      case "o_proj" -> new long[] {q, c.hiddenSize()};
      case "gate_proj", "up_proj" -> new long[] {c.hiddenSize(), c.intermediateSize()};
      case "down_proj" -> new long[] {c.intermediateSize(), c.hiddenSize()};
      default -> throw new IllegalArgumentException("unknown module " + module);
    };
  }

  /** How many parameters (A and B of every targeted module) an adapter of {@code config} has. */
  public static long parameterCount(ModelConfig model, LoraConfig config) {
    long n = 0;
    for (int layer = 0; layer < model.numLayers(); layer++) {
      for (String module : LoraConfig.LINEAR_MODULES) {
        if (config.targets(layer, module)) {
          long[] io = inOut(model, module);
          n += config.r() * (io[0] + io[1]);
        }
      }
    }
    return n;
  }

  /** The module path of a decoder layer's linear module, as Hugging Face names it. */
  public static String modulePath(int layer, String module) {
    String block = module.endsWith("_proj") && List.of("gate_proj", "up_proj", "down_proj").contains(module)
        ? "mlp" : "self_attn";
    return "model.layers." + layer + "." + block + "." + module;
  }

  /**
   * A fresh adapter: A kaiming-uniform (a = √5, i.e. U(-1/√in, 1/√in), as PEFT and torch's
   * nn.Linear initialise), B zero, so it changes nothing until trained. Seeded, so it is
   * reproducible on every rank.
   */
  public static LoraAdapter create(ModelConfig model, LoraConfig config, long seed, DataType dtype,
      NDManager parent) {
    NDManager manager = parent.newSubManager();
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, Pair> modules = new LinkedHashMap<>();
    for (int layer = 0; layer < model.numLayers(); layer++) {
      for (String module : LoraConfig.LINEAR_MODULES) {
        if (!config.targets(layer, module)) {
          continue;
        }
        long[] io = inOut(model, module);
        double bound = 1.0 / Math.sqrt(io[0]);
        float[] a = new float[Math.toIntExact(config.r() * io[0])];
        for (int i = 0; i < a.length; i++) {
          a[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        }
        NDArray aw = manager.create(a, new Shape(config.r(), io[0])).toType(dtype, false);
        NDArray bw = manager.zeros(new Shape(io[1], config.r()), dtype);
        modules.put(modulePath(layer, module), new Pair(aw, bw));
      }
    }
    return new LoraAdapter(config, manager, modules);
  }

  /** Reads a PEFT LoRA adapter directory (ours or PEFT's), checking every shape against the model. */
  public static LoraAdapter load(Path dir, ModelConfig model, DataType dtype, NDManager parent)
      throws IOException {
    Path configFile = dir.resolve("adapter_config.json");
    JsonNode c;
    try {
      c = JSON.readTree(Files.readString(configFile));
    } catch (NoSuchFileException e) {
      throw new IOException("no adapter_config.json in adapter directory " + dir);
    }
    LoraConfig config;
    try {
      config = configFromPeft(c);
    } catch (IllegalArgumentException e) {
      throw new IOException(configFile + ": " + e.getMessage(), e);
    }
    Path weights = dir.resolve("adapter_model.safetensors");
    if (!Files.exists(weights)) {
      throw new IOException("no adapter_model.safetensors in adapter directory " + dir
          + (Files.exists(dir.resolve("adapter_model.bin"))
              ? " (adapter_model.bin, PyTorch pickle, is not read: re-save with safe_serialization)" : ""));
    }
    NDManager manager = parent.newSubManager();
    Map<String, Pair> modules = new LinkedHashMap<>();
    try (Safetensors file = Safetensors.open(weights)) {
      List<String> unused = new ArrayList<>(file.tensors().keySet());
      for (int layer = 0; layer < model.numLayers(); layer++) {
        for (String module : LoraConfig.LINEAR_MODULES) {
          if (!config.targets(layer, module)) {
            continue;
          }
          String path = modulePath(layer, module);
          long[] io = inOut(model, module);
          NDArray a = loadChecked(file, path, "lora_A", new Shape(config.r(), io[0]), dtype, manager);
          NDArray b = loadChecked(file, path, "lora_B", new Shape(io[1], config.r()), dtype, manager);
          unused.remove(key(path, "lora_A"));
          unused.remove(key(path, "lora_B"));
          unused.remove(PEFT_PREFIX + path + ".lora_A.default.weight");
          unused.remove(PEFT_PREFIX + path + ".lora_B.default.weight");
          modules.put(path, new Pair(a, b));
        }
      }
      if (!unused.isEmpty()) {
        throw new IOException(weights + " has tensors the adapter config does not explain: "
            + unused.subList(0, Math.min(5, unused.size()))
            + (unused.size() > 5 ? " and " + (unused.size() - 5) + " more" : ""));
      }
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw e;
    }
    return new LoraAdapter(config, manager, modules);
  }

  private static NDArray loadChecked(Safetensors file, String path, String which, Shape shape,
      DataType dtype, NDManager manager) throws IOException {
    String name = key(path, which);
    if (!file.contains(name)) {
      String alt = PEFT_PREFIX + path + "." + which + ".default.weight";
      if (!file.contains(alt)) {
        throw new IOException(file.file() + " lacks " + name
            + " (adapter_config.json's target_modules/layers_to_transform say it should exist)");
      }
      name = alt;
    }
    NDArray a = file.load(name, manager, dtype);
    if (!a.getShape().equals(shape)) {
      a.close();
      throw new IOException(file.file() + ": " + name + " has shape " + a.getShape()
          + ", the model needs " + shape);
    }
    return a;
  }

  static LoraConfig configFromPeft(JsonNode c) {
    String type = c.path("peft_type").asText("LORA");
    if (!type.equals("LORA")) {
      throw new IllegalArgumentException("peft_type is " + type + "; only LORA adapters are supported");
    }
    if (c.path("use_dora").asBoolean(false)) {
      throw new IllegalArgumentException("use_dora is true; DoRA adapters are not supported");
    }
    if (!c.path("bias").asText("none").equals("none")) {
      throw new IllegalArgumentException("bias is '" + c.get("bias").asText()
          + "'; only bias \"none\" is supported");
    }
    if (c.path("fan_in_fan_out").asBoolean(false)) {
      throw new IllegalArgumentException("fan_in_fan_out is true; Llama-family linears are not Conv1D");
    }
    for (String unsupported : List.of("rank_pattern", "alpha_pattern")) {
      JsonNode p = c.get(unsupported);
      if (p != null && p.isObject() && p.size() > 0) {
        throw new IllegalArgumentException(unsupported + " is set; per-module ranks are not supported");
      }
    }
    JsonNode save = c.get("modules_to_save");
    if (save != null && save.isArray() && save.size() > 0) {
      throw new IllegalArgumentException("modules_to_save " + save + " is not supported");
    }
    JsonNode targets = c.get("target_modules");
    List<String> modules = new ArrayList<>();
    if (targets != null && targets.isArray()) {
      targets.forEach(t -> modules.add(t.asText()));
    } else if (targets != null && targets.isTextual()) {
      // PEFT: a string is a regex matched against the full module path; resolve it per module name.
      String regex = targets.asText();
      if (regex.equals("all-linear")) {
        modules.add("all-linear");
      } else {
        for (String m : LoraConfig.LINEAR_MODULES) {
          if (modulePath(0, m).matches(regex) || m.matches(regex)) {
            modules.add(m);
          }
        }
      }
    }
    List<Integer> layers = null;
    JsonNode l = c.get("layers_to_transform");
    if (l != null && l.isArray()) {
      layers = new ArrayList<>();
      for (JsonNode n : l) {
        layers.add(n.asInt());
      }
    } else if (l != null && l.canConvertToInt()) {
      layers = List.of(l.asInt());
    }
    return new LoraConfig(c.path("r").asInt(8), c.path("lora_alpha").asDouble(8),
        c.path("lora_dropout").asDouble(0), modules, c.path("use_rslora").asBoolean(false), layers);
  }

  static String key(String modulePath, String which) {
    return PEFT_PREFIX + modulePath + "." + which + ".weight";
  }

  /** The adapter's tensors under PEFT's keys, in model order (A before B per module). */
  public Map<String, NDArray> peftTensors() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    modules.forEach((path, p) -> {
      out.put(key(path, "lora_A"), p.a());
      out.put(key(path, "lora_B"), p.b());
    });
    return out;
  }

  /** Every trainable tensor, A then B per module. */
  public NDList parameters() {
    NDList list = new NDList();
    modules.values().forEach(p -> {
      list.add(p.a());
      list.add(p.b());
    });
    return list;
  }

  /** Marks A and B as requiring gradients (base weights never do). */
  public void setTrainable(boolean trainable) {
    parameters().forEach(p -> p.setRequiresGradient(trainable));
  }

  /**
   * Adds the adapter's term to a base linear output: {@code y + scaling · B(A(dropout(x)))}.
   * x: (..., in), y: (..., out). Modules without an adapter return y unchanged. In training, with
   * row keys on the pass, the dropout masks are keyed per example row ({@link KeyedDropout}: one key
   * and length per row of x (B, T, in)); without keys they come from libtorch's process-wide generator.
   */
  @Override
  public NDArray apply(String modulePath, NDArray x, NDArray y, CausalLm.Pass pass) {
    Pair p = modules.get(modulePath);
    if (p == null) {
      return y;
    }
    NDArray in = x;
    if (pass.training() && config.dropout() > 0) {
      in = pass.rowKeys() != null
          ? KeyedDropout.apply(x, config.dropout(), pass.rowKeys(), pass.rowLengths(), modulePath)
          : x.getNDArrayInternal().dropout(x, config.dropout().floatValue(), true).singletonOrThrow();
    }
    // Half-precision activations over float32 masters: the cast is part of the graph, so the
    // gradients arrive in float32 (as under torch.autocast).
    NDArray a = TorchOps.cast(p.a(), in.getDataType());
    NDArray b = TorchOps.cast(p.b(), in.getDataType());
    NDArray down = in.getNDArrayInternal().linear(in, a, null).singletonOrThrow(); // (..., r)
    NDArray up = down.getNDArrayInternal().linear(down, b, null).singletonOrThrow(); // (..., out)
    return y.add(up.mul(TorchOps.scalar(up.getManager(), config.scaling()))); // owned: backward reads it
  }

  /** W + scaling · B @ A for one module: the merged weight, in the manager of {@code weight}. */
  @Override
  public NDArray merge(String modulePath, NDArray weight) {
    Pair p = modules.get(modulePath);
    if (p == null) {
      return weight.duplicate();
    }
    NDArray delta = p.b().matMul(p.a()); // (out, in)
    NDArray merged = weight.add(delta.mul(config.scaling()));
    delta.close();
    return merged;
  }

  /** Writes adapter_config.json and adapter_model.safetensors in PEFT's format. */
  public void save(Path dir, String baseModel) throws IOException {
    Files.createDirectories(dir);
    ObjectNode c = JSON.createObjectNode();
    c.put("base_model_name_or_path", baseModel);
    c.put("bias", "none");
    c.put("fan_in_fan_out", false);
    c.put("inference_mode", true);
    c.put("init_lora_weights", true);
    if (config.layersToTransform() == null) {
      c.putNull("layers_to_transform");
    } else {
      var arr = c.putArray("layers_to_transform");
      config.layersToTransform().forEach(arr::add);
    }
    c.put("lora_alpha", config.alpha());
    c.put("lora_dropout", config.dropout());
    c.putNull("modules_to_save");
    c.put("peft_type", "LORA");
    c.put("r", config.r());
    c.putObject("rank_pattern");
    c.putObject("alpha_pattern");
    var targets = c.putArray("target_modules");
    config.targetModules().forEach(targets::add);
    c.put("task_type", "CAUSAL_LM");
    c.put("use_dora", false);
    c.put("use_rslora", config.useRslora());
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    peftTensors().forEach((k, v) -> tensors.put(k, v.getDataType() == DataType.FLOAT32
        ? v : v.toType(DataType.FLOAT32, false)));
    Safetensors.write(dir.resolve("adapter_model.safetensors"), tensors, Map.of("format", "pt"));
    Files.writeString(dir.resolve("adapter_config.json"),
        JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(c) + "\n");
  }

  @Override
  public void close() {
    manager.close();
  }
}
