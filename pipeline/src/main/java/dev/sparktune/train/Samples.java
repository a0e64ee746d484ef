package dev.sparktune.train;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.lora.LoraAdapter;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Generation;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Sample generations, written by the train stage as {@code samples.jsonl} beside its adapter: for the
 * first few held-out prompts, the expected answer and the greedy answers of the base model and of the
 * trained adapter, as text. The report shows them without loading any model.
 */
public final class Samples {
  /** The file's name in the train stage's output (and run) directory. */
  public static final String FILE = "samples.jsonl";
  /** Greedy decoding, at most this many new tokens. */
  public static final int MAX_NEW_TOKENS = 48;
  static final int COUNT = 3;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One prompt: what the data says and what each model answers. */
  public record Sample(String prompt, String expected, String base, String adapter) {}

  private Samples() {}

  /**
   * Generates for the first {@link #COUNT} examples with {@code model} alone and with the adapter
   * saved in {@code adapterDir}, decoding with the tokenizer.json read from {@code tokenizer}.
   */
  static List<Sample> generate(CausalLm model, Path adapterDir, List<TrainData.Example> examples,
      InputStream tokenizer) throws IOException {
    List<Sample> samples = new ArrayList<>();
    try (NDManager manager = model.manager().newSubManager();
        LoraAdapter adapter = LoraAdapter.load(adapterDir, model.config(), Precision.masterType(model.dtype()),
            manager);
        HuggingFaceTokenizer tok = HuggingFaceTokenizer.newInstance(tokenizer,
            Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false"))) {
      Set<Long> stop = Set.of((long) model.config().eosTokenId());
      Generation.Sampling greedy = new Generation.Sampling(MAX_NEW_TOKENS, 0, 1, 0);
      for (TrainData.Example e : examples.subList(0, Math.min(COUNT, examples.size()))) {
        int promptLength = 0;
        while (promptLength < e.labels().length && e.labels()[promptLength] == -100) {
          promptLength++;
        }
        long[] prompt = Arrays.copyOf(e.inputIds(), Math.max(1, promptLength));
        long[] expected = Arrays.copyOfRange(e.inputIds(), prompt.length, e.inputIds().length);
        model.setAdapter(null);
        long[] base = Generation.generate(model, prompt, greedy, stop, t -> { });
        model.setAdapter(adapter);
        long[] tuned = Generation.generate(model, prompt, greedy, stop, t -> { });
        model.setAdapter(null);
        samples.add(new Sample(tok.decode(prompt, true), tok.decode(expected, true), tok.decode(base, true),
            tok.decode(tuned, true)));
      }
    } finally {
      model.setAdapter(null);
    }
    return samples;
  }

  /** Writes {@code samples} as {@code samples.jsonl} in {@code dir}, one JSON object per line. */
  static void write(Path dir, List<Sample> samples) throws IOException {
    StringBuilder text = new StringBuilder();
    for (Sample s : samples) {
      text.append(JSON.writeValueAsString(s)).append('\n');
    }
    Files.writeString(dir.resolve(FILE), text, StandardCharsets.UTF_8);
  }

  /** The samples of a {@code samples.jsonl}, in order. */
  public static List<Sample> read(InputStream in) throws IOException {
    List<Sample> samples = new ArrayList<>();
    for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
      if (!line.isBlank()) {
        samples.add(JSON.readValue(line, Sample.class));
      }
    }
    return samples;
  }
}
