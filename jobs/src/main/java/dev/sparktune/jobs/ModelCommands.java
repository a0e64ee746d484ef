package dev.sparktune.jobs;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Generation;
import dev.sparktune.model.ModelConfig;
import dev.sparktune.model.ModelInit;
import dev.sparktune.model.Torch;
import dev.sparktune.tokenize.PromptTemplate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The model commands: init-model, merge, score, generate. Thin: the work is in dev.sparktune.model. */
final class ModelCommands {
  private ModelCommands() {}

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Files of a model directory that are not weights and travel with it (tokenizer, generation). */
  static final String[] SIDE_FILES = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
      "special_tokens_map.json", "generation_config.json"};

  static void copySideFiles(Path from, Path to) throws IOException {
    for (String name : SIDE_FILES) {
      if (Files.exists(from.resolve(name))) {
        Files.copy(from.resolve(name), to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /**
   * Checks that the directories a command names are a model and an adapter before anything loads:
   * a usage error (exit 2) naming the option and the directory.
   */
  static void checkDirs(Path model, Path adapter) {
    if (!Files.isRegularFile(model.resolve("config.json"))) {
      throw new IllegalArgumentException("--model " + model + " is not a Hugging Face model directory (no config.json)");
    }
    if (adapter != null && !Files.isRegularFile(adapter.resolve("adapter_config.json"))) {
      throw new IllegalArgumentException("--adapter " + adapter
          + " is not a PEFT adapter directory (no adapter_config.json)");
    }
  }

  /** Loads the model (and adapter) a command names. */
  static CausalLm open(Path model, Path adapter, NDManager manager) throws IOException {
    CausalLm lm = CausalLm.load(model, DataType.FLOAT32, manager);
    if (adapter != null) {
      lm.setAdapter(LoraAdapter.load(adapter, lm.config(), DataType.FLOAT32, manager));
    }
    return lm;
  }

  static HuggingFaceTokenizer tokenizer(Path model) throws IOException {
    Path file = model.resolve("tokenizer.json");
    if (!Files.exists(file)) {
      throw new IOException("model " + model + " has no tokenizer.json; pass --ids instead of text");
    }
    // Never newInstance(String): that one goes to the hub.
    return HuggingFaceTokenizer.newInstance(file, Map.of(
        "addSpecialTokens", "true", "padding", "false", "truncation", "false"));
  }

  @Command(name = "init-model", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Writes a randomly initialised Hugging Face model directory (config.json, "
          + "model.safetensors, tokenizer.json) for tests, benchmarks and the local demo.",
          "Vocabulary size and BOS/EOS/PAD ids come from the tokenizer."})
  static final class InitModel implements Callable<Integer> {
    @Option(names = "--arch", defaultValue = "llama", description = "llama, mistral or qwen2 (default ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--hidden", defaultValue = "64", description = "Hidden size (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--layers", defaultValue = "2", description = "Decoder layers (default ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", defaultValue = "4", description = "Attention heads (default ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", description = "Key/value heads for grouped-query attention (default: --heads).")
    Integer kvHeads;

    @Option(names = "--intermediate", description = "MLP size (default: 8/3 · hidden, rounded up to 32).")
    Integer intermediate;

    @Option(names = "--rope-theta", defaultValue = "10000", description = "Rotary base (default ${DEFAULT-VALUE}).")
    double ropeTheta;

    @Option(names = "--max-positions", defaultValue = "2048", description = "max_position_embeddings (default ${DEFAULT-VALUE}).")
    int maxPositions;

    @Option(names = "--tokenizer", required = true, paramLabel = "TOKENIZER_JSON", description = "The tokenizer.json to pair with.")
    Path tokenizer;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Model directory to write.")
    Path out;

    @Option(names = "--seed", defaultValue = "0", description = "Initialisation seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--init-std", defaultValue = "0.02", description = "Standard deviation of the weights "
        + "(default ${DEFAULT-VALUE}, as transformers; a tiny demo model needs ~0.1 to be trainable by LoRA).")
    double initStd;

    @Override
    public Integer call() throws Exception {
      if (!Files.isRegularFile(tokenizer)) {
        throw new IllegalArgumentException("--tokenizer " + tokenizer + " is not a file");
      }
      int inter = intermediate != null ? intermediate : (8 * hidden / 3 + 31) / 32 * 32;
      ModelConfig config = ModelInit.configFor(arch, hidden, layers, heads,
          kvHeads == null ? heads : kvHeads, inter, ropeTheta, maxPositions, tokenizer);
      try (NDManager manager = Torch.newManager();
          CausalLm model = ModelInit.random(config, seed, initStd, DataType.FLOAT32, manager)) {
        model.save(out);
        Files.copy(tokenizer, out.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        for (String beside : new String[] {"tokenizer_config.json", "chat_template.jinja"}) {
          Path from = tokenizer.toAbsolutePath().resolveSibling(beside);
          if (Files.isRegularFile(from)) { // the chat template travels with the tokenizer
            Files.copy(from, out.resolve(beside), StandardCopyOption.REPLACE_EXISTING);
          }
        }
        System.out.printf("wrote %s: %s, %,d parameters, vocab %d, hidden %d, %d layers, %d/%d heads%n",
            out, arch, model.parameterCount(), config.vocabSize(), hidden, layers, heads, config.numKvHeads());
      }
      return Main.OK;
    }
  }

  @Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
      description = "Merges a LoRA adapter into its base model (W + scaling · B·A) and writes a plain "
          + "Hugging Face model directory (float32 safetensors, config.json, tokenizer files).")
  static final class Merge implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base model directory.")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT LoRA adapter directory.")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Merged model directory to write.")
    Path out;

    @Override
    public Integer call() throws Exception {
      checkDirs(model, adapter);
      try (NDManager manager = Torch.newManager();
          CausalLm lm = CausalLm.load(model, DataType.FLOAT32, manager);
          Torch.GradMode off = Torch.gradMode(false)) {
        LoraAdapter lora = LoraAdapter.load(adapter, lm.config(), DataType.FLOAT32, manager);
        lm.setAdapter(lora);
        lm.save(out);
        copySideFiles(model, out);
        System.out.printf("merged %s (%d modules, scaling %.4g) into %s%n", adapter,
            lora.modules().size(), lora.scaling(), out);
      }
      return Main.OK;
    }
  }

  /** Exactly one of --ids and --text. */
  static final class Input {
    @Option(names = "--ids", split = ",", paramLabel = "ID", description = "Token ids, comma separated.")
    long[] ids;

    @Option(names = "--text", description = "Text, encoded with the model's tokenizer.json (special tokens added).")
    String text;
  }

  @Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Prints the log-probability of every token given the ones before it, as JSON:",
          "{\"ids\": [...], \"logprobs\": [null, ...], \"mean_nll\": x, \"perplexity\": y}"})
  static final class Score implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory.")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "Optional PEFT LoRA adapter directory.")
    Path adapter;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Override
    public Integer call() throws Exception {
      checkDirs(model, adapter);
      long[] ids = input.ids;
      if (ids == null) {
        try (HuggingFaceTokenizer tok = tokenizer(model)) {
          ids = tok.encode(input.text).getIds();
        }
      }
      try (NDManager manager = Torch.newManager(); CausalLm lm = open(model, adapter, manager)) {
        Generation.Scored s = Generation.score(lm, ids);
        ObjectNode out = JSON.createObjectNode();
        ArrayNode idArray = out.putArray("ids");
        Arrays.stream(ids).forEach(idArray::add);
        ArrayNode lp = out.putArray("logprobs");
        lp.addNull();
        Arrays.stream(s.logprobs(), 1, ids.length).forEach(lp::add);
        out.put("mean_nll", s.meanNll());
        out.put("perplexity", s.perplexity());
        System.out.println(JSON.writeValueAsString(out));
      }
      return Main.OK;
    }
  }

  @Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
      description = "Generates a continuation of a prompt (KV cache; stops at EOS or --max-new-tokens) "
          + "and prints it as it is produced.")
  static final class Generate implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model directory (with tokenizer.json).")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "Optional PEFT LoRA adapter directory.")
    Path adapter;

    @Option(names = "--prompt", required = true, description = "The prompt (the instruction when --template is set,"
        + " the user message with --chat).")
    String prompt;

    @Option(names = "--template", description = "Wrap the prompt in a prompt template, e.g. alpaca; with --chat: "
        + "model (default: the chat template in the model directory's tokenizer_config.json), chatml, llama3 or alpaca.")
    String template;

    @Option(names = "--chat", description = "Format --prompt as a user message with the chat template training used "
        + "(tokenize.template: model, or --template's built-in one), ending with the generation prompt.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "With --chat: a system message before the prompt.")
    String system;

    @Option(names = "--show-prompt", description = "Print the formatted prompt and its token count to stderr first.")
    boolean showPrompt;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Token budget (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling mass (default ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
      checkDirs(model, adapter);
      boolean chat = this.chat || "model".equals(template); // the model's template renders conversations only
      if (system != null && !chat) {
        throw new IllegalArgumentException("--system needs --chat");
      }
      Generation.Sampling sampling = new Generation.Sampling(maxNewTokens, temperature, topP, seed);
      String text = chat ? ChatPrompt.render(model, template, system, prompt) : template == null ? prompt
          : PromptTemplate.of(template).render(prompt, null, null).prompt();
      try (NDManager manager = Torch.newManager();
          CausalLm lm = open(model, adapter, manager);
          HuggingFaceTokenizer tok = chat ? ChatPrompt.tokenizer(model) : tokenizer(model)) {
        long[] ids = tok.encode(text).getIds();
        if (showPrompt) {
          System.err.println("prompt (" + ids.length + " tokens):\n" + text);
        }
        Set<Long> stop = new HashSet<>();
        if (lm.config().eosTokenId() >= 0) {
          stop.add((long) lm.config().eosTokenId());
        }
        if (chat) {
          stop.addAll(ChatPrompt.stopIds(model, tok)); // the template's end of turn, e.g. <|eot_id|>
        }
        StringBuilder printed = new StringBuilder();
        long[][] sofar = {new long[0]};
        Generation.generate(lm, ids, sampling, stop, id -> {
          if (stop.contains(id)) {
            return;
          }
          sofar[0] = Arrays.copyOf(sofar[0], sofar[0].length + 1);
          sofar[0][sofar[0].length - 1] = id;
          // Decode the whole continuation and print what is new, so multi-token characters come out whole.
          String all = tok.decode(sofar[0], true);
          if (all.length() > printed.length() && all.startsWith(printed.toString())) {
            System.out.print(all.substring(printed.length()));
            System.out.flush();
            printed.setLength(0);
            printed.append(all);
          }
        });
        System.out.println();
      }
      return Main.OK;
    }
  }
}
